"""The embedding models: the local sentence-transformers folder loaded through llama-index (never a hub id) that
embeds the index, and for queries its ONNX export when the index has one (no torch on the answer path)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import offline
from index.errors import CstoQaError
from index.settings import Settings

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

log = logging.getLogger(__name__)

BATCH = 32  # texts per forward pass while indexing: on 2 cores 16-64 are within noise; 32 pads least


class ModelNotFoundError(CstoQaError):
    """The configured embedding model folder does not exist or is not a sentence-transformers model."""


def model_id(path: Path) -> str:
    """A short, stable name for a model folder (used in the collection name)."""
    return path.name or "model"


@lru_cache(maxsize=4)
def load_embedder(path: Path, threads: int = 1) -> HuggingFaceEmbedding:
    """Load the model once per process from a local folder, on the CPU."""
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ModelNotFoundError(f"no sentence-transformers model at {path} (set CSTO_QA_MODEL_PATH to a local folder)")
    offline.configure_torch_threads(threads)
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=str(path), device="cpu", normalize=True, embed_batch_size=BATCH)


def load_query_embedder(settings: Settings) -> Any:
    """The embedder for questions: the index's ONNX export of the model when it is there, else the model itself."""
    from index.onnx_embed import export_dir, has_export

    if has_export(settings):
        try:
            from index.onnx_query import OnnxEmbedding

            return OnnxEmbedding(export_dir(settings), settings.torch_threads)
        except Exception as exc:  # a damaged export: the model itself gives the same vectors, only slower to load
            log.warning("cannot load the ONNX export in %s (%s); using the model", export_dir(settings), exc)
    return load_embedder(settings.resolved_model_path(), settings.torch_threads)


def encode_texts(embedder: Any, texts: list[str], progress: bool = False) -> list[list[float]]:
    """Normalised vectors of many texts for the index: sentence-transformers sorts the whole list by length (so a
    batch pads little), BATCH at a time."""
    model = getattr(embedder, "_model", None)
    if model is None or not hasattr(model, "encode"):
        return list(embedder.get_text_embedding_batch(texts, show_progress=progress))
    vectors = model.encode(
        texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress
    )
    return [list(map(float, v)) for v in vectors]

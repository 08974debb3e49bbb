"""The embedding model: a local sentence-transformers folder loaded through llama-index, never a hub id."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from index import offline
from index.errors import CstoQaError

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding


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

    return HuggingFaceEmbedding(model_name=str(path), device="cpu", normalize=True, embed_batch_size=32)

"""The ONNX query embedder as a llama-index embedding model (what the dense retriever is given)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from index.onnx_embed import OnnxEncoder, load_onnx_encoder


class OnnxEmbedding(BaseEmbedding):
    """MiniLM through onnxruntime: the same vectors as the sentence-transformers model, without torch."""

    _encoder: OnnxEncoder = PrivateAttr()

    def __init__(self, folder: Path, threads: int = 1, **kwargs: Any) -> None:
        super().__init__(model_name=f"onnx:{folder.name}", embed_batch_size=32, **kwargs)
        self._encoder = load_onnx_encoder(folder, threads)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of several texts in one forward pass."""
        return self._encoder.encode(list(texts))

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.encode([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.encode([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.encode(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

"""The naive baseline: stock llama-index over the article alone (default splitter, dense top-10, top passage as answer).

It is a separate pipeline by definition: no bibliography, no hybrid retrieval, no sentence selection, no refusal.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from index import offline
from index.settings import Settings
from rag.types import Answer, Citation

TOP_K = 10
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def split_sentences(text: str) -> list[str]:
    """Split a passage into sentences at ., ! or ? followed by space, and at blank lines."""
    return [" ".join(s.split()) for s in _SENTENCE_END.split(text) if any(ch.isalnum() for ch in s)]


class NaiveBaseline:
    """SimpleDirectoryReader + SentenceSplitter() + the packaged MiniLM + an embedded Chroma collection in `workdir`."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        import chromadb
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from index.embed import load_embedder

        offline.configure_llama_index()  # Settings.llm = MockLLM(): nothing may reach for OpenAI
        embedder = load_embedder(settings.resolved_model_path(), settings.torch_threads)
        docs = SimpleDirectoryReader(input_files=[settings.corpus_path]).load_data()
        nodes = SentenceSplitter().get_nodes_from_documents(docs)
        client = chromadb.PersistentClient(
            path=str(workdir), settings=chromadb.config.Settings(anonymized_telemetry=False)
        )
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("naive_baseline"))
        index = VectorStoreIndex(
            nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embedder
        )
        self.retriever = index.as_retriever(similarity_top_k=TOP_K)
        self.n_nodes = len(nodes)

    def retrieve(self, question: str) -> list[Any]:
        """Dense top-10 nodes for the question (the conversation is ignored: the baseline is naive)."""
        return list(self.retriever.retrieve(question))

    def answer(self, question: str, hits: list[Any]) -> Answer:
        """The top passage, sentence by sentence, each sentence cited [1]; never refuses."""
        if not hits:
            return Answer(question=question, text="", generator="baseline")
        node = hits[0].node
        text = node.get_content()
        sentences = split_sentences(text)
        citation = Citation(
            n=1,
            passage_id=node.node_id,
            kind="article",
            section="",
            paragraph=0,
            location="",
            quote=text,
            quote_start=0,
            quote_end=len(text),
            text=text,
        )
        return Answer(
            question=question, text=" ".join(f"{s} [1]" for s in sentences), citations=[citation], generator="baseline"
        )

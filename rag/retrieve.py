"""Hybrid retrieval: dense top-k from Chroma, BM25, and best-sentence similarity, fused by reciprocal rank
(llama-index's QueryFusionRetriever), no LLM."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.acronyms import acronyms, expand
from index.store import IndexHandle
from rag.cite import author_names, works_named
from rag.lexicon import lexicon
from rag.parts import part_ids
from rag.types import ScoredPassage


def sentence_retriever(handle: IndexHandle, top_k: int) -> Any:
    """A llama-index retriever ranking passages by their best sentence's similarity to the query: a long paragraph
    whose one relevant sentence is drowned in its whole-passage vector still ranks. The sentences are searched
    through their Chroma collection's HNSW index (not a product with every sentence vector, which grows with the
    corpus). Nearest first, a passage's first sentence found is its best, so the first `top_k` passages found are the
    `top_k` best: sentences are fetched until that many passages are found."""
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle

    from index.store import to_node

    pids = handle.sentence_pids

    def best_sentences(vector: list[float]) -> dict[str, float]:
        """The best sentence's similarity of the first `top_k` passages found, nearest first."""
        best: dict[str, float] = {}
        fetch = 4 * top_k
        while True:
            fetch = min(fetch, len(pids))
            hit = handle.sentence_collection.query(query_embeddings=[vector], n_results=fetch, include=["distances"])
            best = {}
            for row, distance in zip(hit["ids"][0], hit["distances"][0], strict=True):
                best.setdefault(pids[int(row)], 1.0 - float(distance))  # cosine distance
            if len(best) >= top_k or fetch >= len(pids):
                return best
            fetch *= 4

    class SentenceMaxRetriever(BaseRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            if query_bundle.embedding is None:
                raise ValueError("SentenceMaxRetriever needs the query embedding")
            if not pids:
                return []
            best = best_sentences(list(map(float, query_bundle.embedding)))
            top = sorted(best.items(), key=lambda kv: -kv[1])[:top_k]
            return [NodeWithScore(node=to_node(handle.passages[pid]), score=score) for pid, score in top]

    return SentenceMaxRetriever()


def structure_retriever(handle: IndexHandle) -> Any:
    """A llama-index retriever for questions naming a part of the article: the abstract and the Introduction
    for "what does the introduction set out", the closing paragraphs for "the conclusion", "overall verdict";
    nothing otherwise (reciprocal-rank fusion then leaves the other retrievers' ranking as it was)."""
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle

    from index.store import to_node

    ids = part_ids(handle.passages)
    parts = {name: sorted((handle.passages[i] for i in found), key=lambda p: p.start) for name, found in ids.items()}

    class StructureRetriever(BaseRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            out: list[NodeWithScore] = []
            for part in lexicon().parts:
                if part.cue.search(query_bundle.query_str):
                    found = parts[part.name]
                    out += [NodeWithScore(node=to_node(p), score=1.0 / (1 + i)) for i, p in enumerate(found)]
            return out

    return StructureRetriever()


def bibliography_retriever(handle: IndexHandle) -> Any:
    """A llama-index retriever for questions naming a cited author (made up: "Allison 2018, which outlet?", "the
    essay by Aris"): that work's source card, the year deciding between an author's works. An organisation author
    counts only with its year (the article's subject is also an author of its own documents)."""
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle

    from index.store import to_node

    cards = {p.source_key: p for p in handle.passages.values() if p.kind == "source_card" and p.source_key}
    names = [n for n in author_names(handle.entries) if n.key in cards]

    class BibliographyRetriever(BaseRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            hits = works_named(query_bundle.query_str, names)
            best = sorted(hits, key=lambda k: -hits[k])[:3]
            return [NodeWithScore(node=to_node(cards[k]), score=hits[k]) for k in best]

    return BibliographyRetriever()


def rank_fusion(base: type, k: float) -> type:
    """llama-index's QueryFusionRetriever (`base`) with reciprocal-rank fusion at constant `k` instead of its fixed 60.
    At 60 a first place counts barely more than a sixth (1/60 against 1/65): a passage one ranker puts first and
    another twelfth (1/60 + 1/71) loses to one both put fifth (2/64). At 10 the top of a ranking counts for more
    (1/10 + 1/21 against 2/14). Measured in the README ("Eval")."""

    class RankFusion(base):  # type: ignore[misc,valid-type]
        def _reciprocal_rerank_fusion(self, results: dict[Any, list[Any]]) -> list[Any]:
            fused: dict[str, float] = {}
            nodes: dict[str, Any] = {}
            for ranked in results.values():
                for rank, hit in enumerate(sorted(ranked, key=lambda n: n.score or 0.0, reverse=True)):
                    nodes[hit.node.hash] = hit
                    fused[hit.node.hash] = fused.get(hit.node.hash, 0.0) + 1.0 / (rank + k)
            out = []
            for key, score in sorted(fused.items(), key=lambda kv: kv[1], reverse=True):
                nodes[key].score = score
                out.append(nodes[key])
            return out

    return RankFusion


class HybridRetriever:
    """Dense (ChromaVectorStore), BM25, best-sentence, structure and bibliography retrievers fused with
    llama-index's QueryFusionRetriever (reciprocal rank, at the settings' `fusion_k`)."""

    def __init__(self, handle: IndexHandle, embedder: Any, top_k: int) -> None:
        from llama_index.core import VectorStoreIndex
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.chroma import ChromaVectorStore

        s = handle.settings
        self.handle = handle
        self.embedder = embedder
        store = ChromaVectorStore(chroma_collection=handle.collection)
        index = VectorStoreIndex.from_vector_store(store, embed_model=embedder)
        self.dense = index.as_retriever(similarity_top_k=s.dense_k)
        self.bm25 = BM25Retriever.from_persist_dir(str(handle.bm25_dir), mmap=True)  # documents read when found
        self.bm25.similarity_top_k = min(s.bm25_k, len(handle.passages))
        self.sentences = sentence_retriever(handle, s.dense_k)
        self.acronyms = acronyms([p.text for p in handle.passages.values() if p.kind == "article"])  # as at build
        self.folded = {pid: _fold_words(p.text) for pid, p in handle.passages.items()}  # for quoted phrases
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # the last _REMEMBERED query vectors
        self._lock = threading.Lock()
        self.fusion = rank_fusion(QueryFusionRetriever, s.fusion_k)(
            [self.dense, self.bm25, self.sentences, structure_retriever(handle), bibliography_retriever(handle)],
            mode=FUSION_MODES.RECIPROCAL_RANK,
            num_queries=1,
            use_async=False,
            similarity_top_k=max(top_k, s.dense_k, s.bm25_k),
            llm=MockLLM(),
        )

    def embed_query(self, text: str) -> np.ndarray:
        """The normalised query vector (read-only); a question naming the CSTO is blended with its "the alliance"
        reading."""
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The normalised query vectors of several texts, those not remembered embedded in one batch (a compound
        question's parts and a conversation's readings: one forward pass of four short texts takes about half the
        time of four passes). The last _REMEMBERED texts are remembered: a turn reads the same words more than once."""
        with self._lock:  # what is remembered now (another thread may forget it meanwhile: kept here)
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            readings = [self._readings(t) for t in missing]
            flat = self._encode([r for rs in readings for r in rs])
            start = 0
            for text, rs in zip(missing, readings, strict=True):
                vec = _blend(flat[start : start + len(rs)])
                start += len(rs)
                vec = vec / np.linalg.norm(vec)
                vec.setflags(write=False)
                found[text] = vec
        with self._lock:
            for text in texts:  # in the order of use
                self._vectors[text] = found[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > _REMEMBERED:
                self._vectors.popitem(last=False)
        return [found[t] for t in texts]

    def _readings(self, text: str) -> list[str]:
        """The texts embedded for a query: its words (acronyms spelled out), and, when it names the CSTO, its reading
        with the subject's other name."""
        readings = [expand(text, self.acronyms)]
        if _SUBJECT.search(text):  # "the CSTO's drills" is also read as "the alliance's drills"
            readings.append(expand(_SUBJECT.sub(_SUBJECT_NAME, text), self.acronyms))
        return readings

    def _encode(self, texts: list[str]) -> list[list[float]]:
        """Query embeddings in one call where the model allows it (the ONNX embedder's `embed_batch`; llama-index's
        HuggingFaceEmbedding encodes a list with the model's query prompt, its public API one query per call), else
        one at a time."""
        if callable(onnx_batch := getattr(self.embedder, "embed_batch", None)):
            return list(onnx_batch(texts))
        batch = (
            getattr(self.embedder, "_embed", None) if type(self.embedder).__name__ == "HuggingFaceEmbedding" else None
        )
        if callable(batch):
            return list(batch(texts, prompt_name="query"))
        return [self.embedder.get_query_embedding(t) for t in texts]

    def retrieve(self, text: str, vector: np.ndarray | None = None, k: int | None = None) -> list[ScoredPassage]:
        """Fused ranking of passages for a query (the vector is computed when not given)."""
        from llama_index.core.schema import QueryBundle

        vec = self.embed_query(text) if vector is None else vector
        bundle = QueryBundle(query_str=expand(text, self.acronyms), embedding=vec.tolist())  # BM25 reads the words
        hits = self.fusion.retrieve(bundle)
        ranked = [(p, float(n.score or 0.0)) for n in hits if (p := self.handle.passages.get(n.node.node_id))]
        phrases = quoted_phrases(text)
        holds = []
        if phrases:
            holds = [p for pid, p in self.handle.passages.items() if all(ph in self.folded[pid] for ph in phrases)]
        if holds:  # a phrase the user quotes is found verbatim: the passages that hold it lead
            top = ranked[0][1] if ranked else 1.0
            lead = [(p, top + 1e-3 * (len(holds) - i)) for i, p in enumerate(holds)]
            held = {p.id for p in holds}
            ranked = lead + [(p, sc) for p, sc in ranked if p.id not in held]
        out = [ScoredPassage(passage=p, score=sc, rank=i) for i, (p, sc) in enumerate(ranked)]
        return out[: k or len(out)]


# Questions name the article's subject "the CSTO"; its sentences often say "the alliance", "the Eurasian alliance",
# "the bloc". MiniLM weighs the acronym heavily (a question naming the CSTO scores 0.44 against "Shakhanova states
# that Eurasian alliance acts more as a military training center ...", 0.66 against an unrelated CSTO sentence), so
# such a question is also embedded with the article's commonest other name for it and the vectors blended.
# The weight 0.6 was the best of 0.4/0.6/1.0/1.6 on the inspected sets (README, "Eval").
_SUBJECT = re.compile(r"\b(?:the\s+)?(?:CSTO|Collective\s+Security\s+Treaty\s+Organi[sz]ation)\b", re.I)
_SUBJECT_NAME = "the alliance"
_SUBJECT_WEIGHT = 0.6


_REMEMBERED = 512


def _blend(vectors: list[list[float]]) -> np.ndarray:
    """The question's vector plus _SUBJECT_WEIGHT of its reading with the subject's other name."""
    out = np.asarray(vectors[0], dtype=np.float32)
    for other in vectors[1:]:
        out = out + _SUBJECT_WEIGHT * np.asarray(other, dtype=np.float32)
    return out


_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]{4,120})[\"“”«»]")


def _fold_words(text: str) -> str:
    """Lower-case words only, one space between them ("double-edged" and "double edged" meet)."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def quoted_phrases(question: str) -> list[str]:
    """The phrases a question puts in double quotes, straight, curly or guillemets (called it a “double edged
    sword”), folded; single words are left to BM25, single quotes to apostrophes."""
    phrases = [_fold_words(m.group(1)) for m in _QUOTED.finditer(question)]
    return [ph for ph in phrases if len(ph.split()) >= 2]

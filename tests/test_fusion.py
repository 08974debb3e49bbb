"""Reciprocal-rank fusion at a chosen constant (rag.retrieve.rank_fusion): llama-index's fusion with k set."""

from __future__ import annotations

import pytest
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, TextNode

from rag.retrieve import rank_fusion


def _ranking(texts: list[str]) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text=t), score=1.0 - i / 100) for i, t in enumerate(texts)]


def _fused(k: float) -> list[tuple[str, float]]:
    # "lone" is one ranker's first and the other's twelfth; "both" is both rankers' fifth
    first = _ranking(["lone", "a1", "a2", "a3", "both"])
    second = _ranking(["b1", "b2", "b3", "b4", "both", *[f"b{i}" for i in range(5, 11)], "lone"])
    fusion = rank_fusion(QueryFusionRetriever, k)
    hits = fusion._reciprocal_rerank_fusion(None, {("q", 0): first, ("q", 1): second})  # self is not read
    return [(h.node.get_content(), float(h.score or 0.0)) for h in hits]


def test_scores_are_the_sum_of_reciprocal_ranks():
    fused = dict(_fused(10.0))
    assert fused["lone"] == pytest.approx(1 / 10 + 1 / 21)
    assert fused["both"] == pytest.approx(2 / 14)
    assert fused["a1"] == pytest.approx(1 / 11)


def test_a_smaller_constant_lets_one_first_place_beat_two_middling_ones():
    order10 = [t for t, _ in _fused(10.0)]
    order60 = [t for t, _ in _fused(60.0)]
    assert order10.index("lone") < order10.index("both")
    assert order60.index("both") < order60.index("lone")  # llama-index's own constant
    scores = [s for _, s in _fused(10.0)]
    assert scores == sorted(scores, reverse=True)


def test_at_sixty_it_ranks_as_llama_index_does():
    def run(fuse):
        first = _ranking(["lone", "a1", "a2", "a3", "both"])
        second = _ranking(["b1", "b2", "b3", "b4", "both", *[f"b{i}" for i in range(5, 11)], "lone"])
        return [
            (h.node.get_content(), round(float(h.score or 0.0), 12)) for h in fuse({("q", 0): first, ("q", 1): second})
        ]

    library = QueryFusionRetriever._reciprocal_rerank_fusion
    ours = rank_fusion(QueryFusionRetriever, 60.0)._reciprocal_rerank_fusion
    assert run(lambda r: ours(None, r)) == run(lambda r: library(None, r))


def test_best_sentence_search_through_chroma_ranks_passages_as_the_exact_product_does(built_settings):
    """The sentence collection's HNSW search, fetched until `top_k` passages are found, gives the passages an
    exact product with every sentence vector gives, in the same order."""
    import numpy as np
    from llama_index.core.schema import QueryBundle

    from index.embed import load_query_embedder
    from index.store import open_index
    from rag.retrieve import sentence_retriever

    handle = open_index(built_settings)
    embedder = load_query_embedder(built_settings)
    owner = np.asarray(handle.sentence_pids)
    for top_k in (3, 12, 40):
        retriever = sentence_retriever(handle, top_k)
        for text in ("Which states have left the alliance?", "peacekeeping outside the region", "Who pays for it?"):
            vector = embedder.get_query_embedding(text)
            got = [n.node.node_id for n in retriever.retrieve(QueryBundle(text, embedding=vector))]
            sims = np.asarray(handle.sentence_vectors) @ np.asarray(vector, dtype=np.float32)
            best: dict[str, float] = {}
            for row in np.argsort(-sims):
                best.setdefault(str(owner[row]), float(sims[row]))
            assert got == list(best)[:top_k]

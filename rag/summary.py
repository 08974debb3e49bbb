"""A summary request ("summarize the article", "the gist in two sentences", "what does the conclusion say"): the
most central sentences of the abstract, the introduction and the conclusion, or of the one part the question names,
as many as it asks for.

Within a part, a sentence where the article speaks of itself ("This article examines ...", "In conclusion, ...")
comes first: it states the thesis, the plan or the verdict (the lexicon's thesis cues). Then centrality: a
sentence's cosine to the mean vector of the article's body sentences, the sentences that state what the whole
article is about. Parts give a sentence in turn, the abstract, the conclusion, then the introduction, so that a
two-sentence summary states the thesis and the verdict, and a third sentence the question; they are read in the
article's order, part by part, a part's self-referring sentence first and the others in the article's order.
"""

from __future__ import annotations

import numpy as np

from rag.cite import Sentence
from rag.lexicon import lexicon
from rag.read import Reader
from rag.types import ScoredPassage

PARTS = ("abstract", "introduction", "conclusion")  # the order a summary reads them in
# the order they give sentences in: the thesis, the verdict, the question
TAKEN = ("abstract", "conclusion", "introduction")


def summarise(reader: Reader, part: str | None, count: int) -> list[Sentence]:
    """`count` sentences summarising the article, or the named part of it."""
    vectors = reader.handle.sentence_vectors
    passages = reader.handle.passages
    body = [pid for pid in reader.rows if passages[pid].kind == "article" and passages[pid].paragraph]
    article = [reader.sentences[row] for pid in body for row in reader.rows[pid]]
    centre = vectors[[s.row for s in article]].mean(axis=0) if article else np.zeros(vectors.shape[1])
    names = [part] if part in PARTS else list(TAKEN)
    pools, cue = [], lexicon().thesis
    for name in names:
        ids = reader.parts.get(name, set())
        pool = [s for s in article if s.passage.id in ids and not s.text.rstrip().endswith("?")]
        pools.append(sorted(pool, key=lambda s: (not cue.search(s.text), -float(vectors[s.row] @ centre))))
    chosen: list[tuple[int, Sentence]] = []
    while len(chosen) < count and any(pools):
        for k, pool in enumerate(pools):
            if pool and len(chosen) < count:
                chosen.append((k, pool.pop(0)))
    ordered = sorted(
        chosen, key=lambda ks: (PARTS.index(names[ks[0]]), not cue.search(ks[1].text), ks[1].passage.start, ks[1].start)
    )
    return [s for _, s in ordered]


def lead_with(chosen: list[Sentence], ranked: list[ScoredPassage]) -> list[ScoredPassage]:
    """The ranking a summary is drawn from: the passages it quotes first (in the order it quotes them, at the top
    score), then the rest of the search's ranking. A summary is read from the parts it summarises, not from the
    passages nearest its wording ("give me the gist" is near nothing in particular)."""
    top = ranked[0].score if ranked else 1.0
    quoted = {s.passage.id: s.passage for s in chosen}  # in the order quoted, once each
    lead = [(p, top) for p in quoted.values()]
    rest = [(sp.passage, sp.score) for sp in ranked if sp.passage.id not in quoted]
    return [ScoredPassage(passage=p, score=sc, rank=i) for i, (p, sc) in enumerate(lead + rest)]

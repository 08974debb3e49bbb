"""The vectors of a build, each distinct text embedded once.

- A sentence's vector is its own text's; a sentence that leans on the one before it ("They provide ...") is read
  alone and with that one (the mean of its vector and of the pair's mean).
- A passage's vector is the mean of its heading's and its sentences' vectors: the passage is not embedded again
  as a whole (the model truncates long passages anyway, and a sentence-level mean keeps every sentence's weight).
- A text embedded by an earlier build is not embedded again: vectors are kept by the text's hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.acronyms import acronyms, gloss
from index.generations import _sha
from index.nodes import _LEANS_ON_PREVIOUS, passage_sentences


def text_key(text: str) -> str:
    """The key a text's vector is kept under."""
    return _sha(text)[:20]


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


@dataclass
class Vectors:
    """Every vector a build writes."""

    rows: list[tuple[str, int, int]]  # (passage id, start, end) of every sentence
    matrix: np.ndarray  # each sentence's reading, unit length, one row per entry of `rows`
    passages: dict[str, list[float]]  # each passage's vector, by passage id
    cache: dict[str, np.ndarray]  # every text vector this build used, by text key (the next build's reuse)
    embedded: int  # texts embedded now
    reused: int  # texts whose vector an earlier build had made


@dataclass
class _Plan:
    rows: list[tuple[str, int, int]]
    texts: list[str]  # the text embedded for each sentence row
    leans: list[int]  # the row each sentence is also read with (itself when it stands alone)
    members: dict[str, list[str]]  # the texts whose mean is each passage's vector


def _plan(corpus: Any, headings: list[str]) -> _Plan:
    table = acronyms([p.text for p in corpus.passages if p.kind == "article"])
    plan = _Plan([], [], [], {})
    for p, heading in zip(corpus.passages, headings, strict=True):
        own = [heading] if heading else []
        first = len(plan.rows)
        for s, e in passage_sentences(p):
            text = gloss(p.text[s:e], table)  # "The SCO is ..." embedded with its long form
            row = len(plan.rows)
            plan.leans.append(row - 1 if row > first and _LEANS_ON_PREVIOUS.match(text) else row)
            plan.rows.append((p.id, s, e))
            plan.texts.append(text)
            own.append(text)
        plan.members[p.id] = own if len(own) > (1 if heading else 0) else [*own, p.text]
        import os

        if os.environ.get("VARIANT_B"):
            plan.members[p.id] = [f"{heading}\n\n{p.text}" if heading else p.text]
    return plan


def build_vectors(
    corpus: Any,
    headings: list[str],
    cache: dict[str, np.ndarray],
    embed: Callable[[list[str]], list[list[float]]],
    step: Callable[[str], None] = lambda _msg: None,
) -> Vectors:
    """The vectors of `corpus` (headings: each passage's heading as embedded, "" for none); `embed` is called once,
    with the distinct texts `cache` lacks, and only when there are any."""
    plan = _plan(corpus, headings)
    distinct = list(dict.fromkeys([*plan.texts, *(t for texts in plan.members.values() for t in texts)]))
    keys = {t: text_key(t) for t in distinct}
    missing = [t for t in distinct if keys[t] not in cache]
    step(f"embedding {len(missing)} distinct texts ({len(distinct) - len(missing)} reused)")
    fresh = dict(zip(missing, embed(missing), strict=True)) if missing else {}
    vec = {t: np.asarray(fresh[t], dtype=np.float32) if t in fresh else cache[keys[t]] for t in distinct}
    own = [vec[t] for t in plan.texts]
    readings = [own[i] if j == i else _unit(own[i] + _unit(own[i] + own[j])) for i, j in enumerate(plan.leans)]
    matrix = np.asarray(readings, dtype=np.float32).reshape(len(readings), -1)
    passages = {
        pid: _unit(np.mean([vec[t] for t in texts], axis=0)).astype(np.float32).tolist()
        for pid, texts in plan.members.items()
    }
    kept = {keys[t]: vec[t] for t in distinct}
    return Vectors(plan.rows, matrix, passages, kept, len(missing), len(distinct) - len(missing))


__all__ = ["Vectors", "build_vectors", "text_key"]

"""Stage 4, compose: which scored sentences the answer quotes, and in what order.

The best sentence comes first. After it, a sentence is added only while the intent's budget allows, its probability
is above the fitted floors (absolute, and relative to the best), it does not repeat a quoted sentence, and it brings
something the answer lacks: content words or a cited work. Sentences are ordered by relevance, and the article's
order is kept only within one paragraph, after the best sentence (which opens the answer even when a sentence of
its paragraph comes before it in the article).

A bibliography card names a work; it cannot report or explain an argument. So a question asking what a cited author
argues is quoted from a sentence citing that work, the intents the policy lists (synthesis) quote a card only of a
work the question names, and a card's label line is quoted as the entry it abbreviates.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.rows import RowFile
from rag.cite import Sentence, sources_of
from rag.lexicon import DATA
from rag.read import Scored
from rag.text import content_words


@dataclass(frozen=True)
class Policy:
    """Budgets (data) and floors (fitted) per intent."""

    depth: int
    redundant: float
    novelty: float
    budget: dict[str, int]
    floor_abs: dict[str, float]
    floor_rel: dict[str, float]
    cards_when_named: frozenset[str] = frozenset()  # intents whose answers quote a card only of a work they name
    shelf_whole: int = 3  # a bibliography listing quotes the entries whole up to this many works, else their labels

    @classmethod
    def load(cls, floors: dict[str, dict[str, float]], path: Path = DATA / "policy.toml") -> Policy:
        """The policy file plus the fitted floors ({intent: {"abs": .., "rel": ..}})."""
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(
            depth=int(raw["depth"]),
            redundant=float(raw["redundant"]),
            novelty=float(raw["novelty"]),
            cards_when_named=frozenset(raw.get("cards_when_named", [])),
            shelf_whole=int(raw.get("shelf_whole", 3)),
            budget={k: int(v) for k, v in raw["budget"].items()},
            floor_abs={k: float(v["abs"]) for k, v in floors.items()},
            floor_rel={k: float(v["rel"]) for k, v in floors.items()},
        )

    def budget_for(self, intent: str, count: int | None = None) -> int:
        """How many sentences an answer of this intent may quote: as many as the question asks for ("in two
        sentences"), up to max_summary, else the intent's budget."""
        if count:
            return min(count, self.budget["max_summary"])
        return self.budget.get(intent, self.budget["fact"])


def select(
    policy: Policy,
    intent: str,
    scored: list[Scored],
    vectors: np.ndarray | RowFile,
    entries: dict,
    count: int | None = None,
    named: Collection[str] = (),
    view: bool = False,
) -> list[Sentence]:
    """The sentences to quote, best first (see the module docstring); `count`: how many the question asks for;
    `named`: the keys of the works the question names (rag.cite.works_named); `view`: the question asks what someone
    argues or says (Query.asks_view)."""
    if view and named:  # "what does Doe contend?": a sentence that cites Doe reports the view; Doe's card cannot
        scored = _citing(scored, named, entries) or [s for s in scored if s.sentence.passage.kind != "source_card"]
    elif intent in policy.cards_when_named:
        scored = [s for s in scored if not _card_of_another_work(s.sentence, named)]
    scored = _entries_for_labels(scored)
    if not scored:
        return []
    best = scored[0]
    chosen = [best]
    words = set(content_words(best.sentence.text))
    works = {r.key for r in _works(best.sentence, entries)}
    floor = max(policy.floor_abs.get(intent, 1.0), policy.floor_rel.get(intent, 1.0) * best.prob)
    for s in scored[1:]:
        if len(chosen) >= policy.budget_for(intent, count) or s.prob < floor:
            break
        vec = vectors[s.sentence.row]
        if any(float(vec @ vectors[c.sentence.row]) >= policy.redundant for c in chosen):
            continue
        own = set(content_words(s.sentence.text))
        new_works = {r.key for r in _works(s.sentence, entries)} - works
        if not new_works and (not own or len(own - words) / len(own) < policy.novelty):
            continue
        chosen.append(s)
        words |= own
        works |= new_works
    return order([c.sentence for c in chosen])


def _citing(scored: list[Scored], named: Collection[str], entries: dict) -> list[Scored]:
    """The article's sentences that cite one of the named works."""
    return [
        s
        for s in scored
        if s.sentence.passage.kind == "article" and any(r.key in named for r in _works(s.sentence, entries))
    ]


def _card_of_another_work(s: Sentence, named: Collection[str]) -> bool:
    """A bibliography card of a work the question does not name."""
    return s.passage.kind == "source_card" and s.passage.source_key not in named


def _entries_for_labels(scored: list[Scored]) -> list[Scored]:
    """A card's label line ("Weitz (2018). Weitz, Richard (2018). Title, Publisher.") abbreviates the entry printed
    above it, which holds every field (a web page's date, a URL): where the reader picks the label line, the answer
    quotes the entry instead, once, with the label line's score."""
    first = {
        s.sentence.passage.id: s for s in scored if s.sentence.passage.kind == "source_card" and s.sentence.start == 0
    }
    out, seen = [], set()
    for s in scored:
        p = s.sentence.passage
        if p.kind == "source_card" and p.id in first and s.sentence.text.startswith(f"{p.section}. "):
            s = replace(s, sentence=first[p.id].sentence)
        if (p.id, s.sentence.start) not in seen:
            seen.add((p.id, s.sentence.start))
            out.append(s)
    return out


def _works(s: Sentence, entries: dict) -> list:
    return sources_of(s.passage, s.start, s.end, entries)


def order(chosen: list[Sentence]) -> list[Sentence]:
    """The best sentence first, then the rest of its paragraph; the other paragraphs by relevance (where their best
    sentence ranked), each in the article's order. A paragraph's sentences stand together, and the answer still
    opens with the sentence that answers when a paragraph-mate precedes it in the article."""
    if not chosen:
        return []
    best = chosen[0]
    groups: dict[str, list[Sentence]] = {best.passage.id: []}
    for s in chosen[1:]:
        groups.setdefault(s.passage.id, []).append(s)
    return [best] + [s for group in groups.values() for s in sorted(group, key=lambda x: x.start)]

"""Stage 5, cite: the chosen sentences become numbered citations (with the works and pages each leans on) and the
answer text, one [n] marker per sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.bibliography import strip_accents
from index.types import Passage, SourceEntry
from rag.types import Citation, SourceRef


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: where it stands, so that it can be quoted and cited."""

    passage: Passage
    start: int
    end: int
    row: int  # its row in the index's sentence vectors

    @property
    def text(self) -> str:
        """The sentence, verbatim."""
        return self.passage.text[self.start : self.end]


@dataclass(frozen=True)
class AuthorName:
    """One author of a cited work, as a question may name it."""

    key: str  # the work's bibliography key
    name: str  # the family name (or the organisation's name), folded
    year: str
    organisation: bool


def fold(text: str) -> str:
    """Lower case without diacritics: "Wæver" = "waever", "Réjeanne" = "rejeanne"."""
    return strip_accents(text.lower().replace("æ", "ae"))


def author_names(entries: dict[str, SourceEntry]) -> list[AuthorName]:
    """The first three authors of every cited work."""
    return [
        AuthorName(key, fold(author if entry.organisation else author.split(",")[0].strip()), str(entry.year),
                   entry.organisation)
        for key, entry in entries.items()
        for author in entry.authors[:3]
    ]


def works_named(question: str, names: list[AuthorName]) -> dict[str, float]:
    """The works a question names by an author ("Allison 2018", "the essay by Aris", both made up): 2 when it also
    names the work's year, else 1. An organisation counts only with its year (the article's subject is also an
    author of its own documents)."""
    asked = fold(question)
    hits: dict[str, float] = {}
    for n in names:
        if len(n.name) < 3 or not re.search(rf"(?<!\w){re.escape(n.name)}(?!\w)", asked):
            continue
        dated = re.search(rf"\b{n.year}", asked) is not None
        if n.organisation and not dated:
            continue
        hits[n.key] = max(hits.get(n.key, 0.0), 2.0 if dated else 1.0)
    return hits


def _local_offset(p: Passage, surface: str, approx: int) -> int:
    """Where a citation's surface text stands in the passage (the occurrence nearest its file offset)."""
    best, at = -1, p.text.find(surface)
    while at >= 0:
        if best < 0 or abs(at - approx) < abs(best - approx):
            best = at
        at = p.text.find(surface, at + 1)
    return best if best >= 0 else max(0, approx)


def sources_of(p: Passage, start: int, end: int, entries: dict[str, SourceEntry]) -> list[SourceRef]:
    """Works a span of a passage leans on: the citations inside it, or the work of a card or full text."""
    if p.kind in ("source_card", "fulltext"):
        entry = entries.get(p.source_key)
        return [SourceRef.from_entry(entry, p.page)] if entry else []
    refs: list[SourceRef] = []
    for cite in p.citations:
        at = _local_offset(p, cite.surface, cite.start - p.start)
        entry = entries.get(cite.key)
        if start <= at < end + 1 and entry and not any(r.key == cite.key and r.pages == cite.pages for r in refs):
            refs.append(SourceRef.from_entry(entry, cite.pages))
    # a sentence naming the page only ("(51)") after one naming the author without it: keep the page
    keyed = {r.key for r in refs if r.pages}
    return [r for r in refs if r.pages or r.key not in keyed]


def citations(chosen: list[Sentence], entries: dict[str, SourceEntry]) -> list[Citation]:
    """Numbered citations for the chosen sentences, in answer order."""
    return [
        Citation.of(n, s.passage, s.text, (s.start, s.end), sources_of(s.passage, s.start, s.end, entries))
        for n, s in enumerate(chosen, start=1)
    ]


def render(cites: list[Citation], lead_sources: bool = False) -> str:
    """The answer text: each quoted sentence and its [n]; with `lead_sources` (a "who says" question) a sentence
    citing works is led by them in the article's short form ("Allison, p. 297: ...")."""
    parts = []
    for c in cites:
        lead = ""
        if lead_sources and c.kind == "article" and c.sources:
            names = [re.sub(r"\s*\(\d{4}[a-z]?\)$", "", s.label) for s in c.sources]
            lead = "; ".join(f"{n}, p. {s.pages}" if s.pages else n for n, s in zip(names, c.sources, strict=True))
            lead += ": "
        parts.append(f"{lead}{c.quote} [{c.n}]")
    return " ".join(parts)

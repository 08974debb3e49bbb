"""The default generator: a question-aware extractive composer. Sentences are quoted verbatim, one citation each.

Candidate sentences come from the retrieved passages (and, for a retrieved source card, from the article passages
that cite that work). Each is scored by cosine similarity to the question (sentence vectors computed at index time),
lexical overlap with the question, the passage's fused rank, and what the question asks for (a date, a number, a
source, a list). The best few non-redundant sentences are kept, ordered as they stand in the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import Stemmer

from index.store import IndexHandle
from index.types import Passage
from rag.types import Citation, ScoredPassage, SourceRef

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "many",
        "much",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "from",
        "into",
        "about",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "not",
        "no",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "also",
        "any",
        "some",
        "such",
        "so",
        "if",
        "according",
        "article",
        "author",
        "does",
        "did",
        "say",
        "says",
        "said",
        "tell",
        "give",
        "name",
        "list",
        "csto",
        "organization",
        "collective",
        "security",
        "treaty",
    ]
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\d")


_STEMMER = Stemmer.Stemmer("english")


def content_words(text: str) -> list[str]:
    """Stemmed, lower-cased words of a text without stop words (Snowball, as BM25 uses)."""
    words = []
    for w in _WORD.findall(text.lower().replace("*", "")):
        w = w.replace("’", "'").split("'")[0]
        if w not in STOPWORDS and len(w) >= 2:
            words.append(w)
    return _STEMMER.stemWords(words)


@dataclass(frozen=True)
class QuestionType:
    """What kind of answer a question wants."""

    when: bool
    number: bool
    source: bool
    listing: bool
    reason: bool
    bibliographic: bool


def question_type(q: str) -> QuestionType:
    """Classify a question by its wording (general rules, no per-question cases)."""
    ql = q.lower()
    return QuestionType(
        when=bool(re.search(r"\bwhen\b|\bwhat year\b|\bwhich year\b|\bin what year\b|\bdate\b", ql)),
        number=bool(
            re.search(r"\bhow (many|much)\b|\bwhat (percentage|share|amount|number|proportion)\b|\bhow large\b", ql)
        ),
        source=bool(
            re.search(
                r"\bwho\b|\bwhich (source|author|work|scholar|analyst)\b|\bcites?\b|\baccording to\b|"
                r"\bwhat (source|work)\b|\bpage\b|\bargues?\b|\bcontends?\b|\bwhose\b",
                ql,
            )
        ),
        listing=bool(
            re.search(
                r"\bwhich (countries|states|members|exercises|operations)\b|\blist\b|\bname the\b|"
                r"\bwhat (countries|states|exercises|operations|members)\b|\bwho (are|were)\b",
                ql,
            )
        ),
        reason=bool(re.search(r"\bwhy\b|\bhow does\b|\bhow do\b|\breasons?\b|\bexplain\b", ql)),
        bibliographic=bool(
            re.search(
                r"\bpublish|\bjournal\b|\btitle\b|\bbibliograph|\bpublisher\b|\bvolume\b|"
                r"\bwhat did \w+ (write|publish)\b|\burl\b|\bwhere (was|is) .* published\b",
                ql,
            )
        ),
    )


@dataclass
class Candidate:
    """A sentence that may be quoted."""

    passage: Passage
    start: int
    end: int
    vector: np.ndarray
    rank: int

    @property
    def text(self) -> str:
        """The sentence, verbatim."""
        return self.passage.text[self.start : self.end]


@dataclass
class Scored:
    """A candidate with its score parts."""

    cand: Candidate
    score: float
    semantic: float
    overlap: float


class Composer:
    """Picks, orders and cites sentences."""

    def __init__(self, handle: IndexHandle, max_sentences: int, refusal_threshold: float) -> None:
        self.handle = handle
        self.max_sentences = max_sentences
        self.refusal_threshold = refusal_threshold
        self._by_passage: dict[str, list[int]] = {}
        for i, pid in enumerate(handle.sentence_pids):
            self._by_passage.setdefault(pid, []).append(i)
        self._citing: dict[str, list[str]] = {}
        for p in handle.passages.values():
            if p.kind == "article":
                for c in p.citations:
                    self._citing.setdefault(c.key, [])
                    if p.id not in self._citing[c.key]:
                        self._citing[c.key].append(p.id)

    def candidates(self, retrieved: list[ScoredPassage], depth: int = 6) -> list[Candidate]:
        """Sentences of the top passages; a retrieved source card also brings the article passages citing it."""
        seen: set[str] = set()
        ordered: list[tuple[Passage, int]] = []
        for sp in retrieved[:depth]:
            extra = [sp.passage]
            if sp.passage.kind == "source_card":
                extra += [self.handle.passages[pid] for pid in self._citing.get(sp.passage.source_key, [])[:4]]
            for p in extra:
                if p.id not in seen:
                    seen.add(p.id)
                    ordered.append((p, sp.rank))
        out: list[Candidate] = []
        for p, rank in ordered:
            for i in self._by_passage.get(p.id, []):
                s, e = (int(x) for x in self.handle.sentence_spans[i])
                line = p.text[s:e]
                if p.kind == "source_card" and line.startswith(("- ", "Cited in the article", "The article lists")):
                    continue  # the card's list of citing sentences: quote the article passages themselves
                out.append(Candidate(p, s, e, self.handle.sentence_vectors[i], rank))
        return out

    def score(
        self, question: str, qvec: np.ndarray, cands: list[Candidate], focus: np.ndarray | None = None
    ) -> list[Scored]:
        """Score every candidate for this question (`focus`: the follow-up's own vector, averaged in)."""
        qt = question_type(question)
        qwords = set(content_words(question))
        out = []
        for c in cands:
            sem = float(np.dot(qvec, c.vector))
            if focus is not None:
                sem = (sem + float(np.dot(focus, c.vector))) / 2
            words = set(content_words(c.text))
            overlap = len(qwords & words) / len(qwords) if qwords else 0.0
            bonus = 0.0
            text = c.text
            if qt.when and _YEAR.search(text):
                bonus += 0.08
            if qt.number and _NUMBER.search(_YEAR.sub("", text)):
                bonus += 0.08
            if qt.source and self.sources_of(c):
                bonus += 0.05
            if qt.listing and text.count(",") >= 2:
                bonus += 0.04
            if c.passage.kind == "source_card":
                bonus += 0.08 if qt.bibliographic else -0.1
            score = sem + 0.35 * overlap + 0.06 / (1 + c.rank) + bonus
            out.append(Scored(c, score, sem, overlap))
        out.sort(key=lambda s: -s.score)
        return out

    def evidence(self, scored: list[Scored]) -> float:
        """The evidence strength behind an answer: semantic fit plus lexical coverage of the best sentence."""
        if not scored:
            return -1.0
        best = scored[0]
        return best.semantic + 0.35 * best.overlap

    def select(self, scored: list[Scored]) -> list[Scored]:
        """The best sentence and up to max_sentences-1 close, non-redundant others."""
        if not scored:
            return []
        chosen = [scored[0]]
        floor = scored[0].score - 0.12
        for s in scored[1:]:
            if len(chosen) >= self.max_sentences or s.score < floor:
                break
            if any(
                float(np.dot(s.cand.vector, c.cand.vector)) > 0.85
                or (s.cand.passage.id == c.cand.passage.id and s.cand.start == c.cand.start)
                for c in chosen
            ):
                continue
            chosen.append(s)
        chosen.sort(key=lambda s: (s.cand.passage.kind != "article", s.cand.passage.start, s.cand.start))
        return chosen

    def sources_of(self, c: Candidate) -> list[SourceRef]:
        """Works the sentence leans on: citations inside its span, the card's work, the full text's work."""
        p, entries = c.passage, self.handle.entries
        refs: list[SourceRef] = []
        if p.kind in ("source_card", "fulltext"):
            entry = entries.get(p.source_key)
            return [SourceRef.from_entry(entry, p.page)] if entry else []
        for cite in p.citations:
            at = _local_offset(p, cite.surface, cite.start - p.start)
            if c.start <= at < c.end + 1:
                entry = entries.get(cite.key)
                if entry and not any(r.key == cite.key and r.pages == cite.pages for r in refs):
                    refs.append(SourceRef.from_entry(entry, cite.pages))
        # a sentence that names its page only ("(51)") and one that names the author without a page: keep the page
        keyed = {r.key for r in refs if r.pages}
        return [r for r in refs if r.pages or r.key not in keyed]

    def citations(self, chosen: list[Scored]) -> list[Citation]:
        """Numbered citations for the chosen sentences."""
        out = []
        for n, s in enumerate(chosen, start=1):
            p = s.cand.passage
            out.append(
                Citation(
                    n=n,
                    passage_id=p.id,
                    kind=p.kind,
                    section=p.section,
                    subsection=p.subsection,
                    paragraph=p.paragraph,
                    location=p.location,
                    quote=s.cand.text,
                    quote_start=s.cand.start,
                    quote_end=s.cand.end,
                    text=p.text,
                    start=p.start,
                    end=p.end,
                    page=p.page,
                    sources=self.sources_of(s.cand),
                )
            )
        return out


def _local_offset(p: Passage, surface: str, approx: int) -> int:
    """Where a citation's surface text stands in the passage (nearest occurrence to its file offset)."""
    best, at = -1, p.text.find(surface)
    while at >= 0:
        if best < 0 or abs(at - approx) < abs(best - approx):
            best = at
        at = p.text.find(surface, at + 1)
    return best if best >= 0 else max(0, approx)


def render(citations: list[Citation]) -> str:
    """The answer text: each quoted sentence followed by its [n] marker."""
    return " ".join(f"{c.quote} [{c.n}]" for c in citations)

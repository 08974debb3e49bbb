"""Stage 3, read: every sentence of the retrieved passages gets a probability of answering the question.

The probability is a logistic model over a few features of the (question, sentence) pair; its coefficients, the
query adapter (a 384 x 384 linear map added to the MiniLM query vector) and the intent classifier are fitted on the
dev sets' gold evidence sentences by `python -m eval.fit` and stored in rag/data/reader.npz and reader.json, with
the fit report beside them (reader-fit.md). Nothing here is weighted by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from index.store import IndexHandle
from index.types import Passage, SourceEntry
from rag.cite import AuthorName, Sentence, author_names, sources_of, works_named
from rag.lexicon import DATA, lexicon
from rag.parts import part_ids, subject_words
from rag.query import INTENTS, IntentModel, Query
from rag.text import content_words, has_number
from rag.types import ScoredPassage

T = TypeVar("T")

FEATURES: tuple[str, ...] = (
    "cos_adapted",  # the adapted question vector against the sentence
    "cos_adapted_context",  # ... against the sentence read with the one before it
    "cos_base",  # the plain MiniLM question vector against the sentence
    "cos_own",  # a follow-up's own words (adapted) against the sentence; cos_adapted for any other question
    "gap_to_best",  # cos_adapted minus the best cos_adapted among the candidates
    "coverage",  # IDF-weighted share of the question's content words in the sentence
    "coverage_context",  # ... in the sentence and the one before it
    "passage_rank",  # 1 / (1 + rank of its passage in retrieval)
    "first_in_passage",
    "number_for_number",  # holds a number and a number or date is asked
    "citation_for_attribution",  # cites a work and a "who says" question is asked
    "commas_for_list",  # enumerates (two commas or more) and a list is asked
    "card_for_bibliography",  # a bibliography card and a question about a cited work
    "card",
    "front_matter",  # title page or author note
    "asks",  # the sentence is itself a question
    "log_words",
    "in_named_part",  # in the part of the article the question names
    "already_said",  # a follow-up's: share of the sentence's words the answer it follows already used
)


def own_works(passages: Iterable[Passage], authors: list[AuthorName]) -> frozenset[str]:
    """The cited works of the article's own author: those whose author the title page's byline ("The article ... is
    by A. Writer.") names."""
    byline = " ".join(
        p.text.split(" is by ", 1)[1][:80]
        for p in passages
        if p.kind == "article" and p.section == "Title" and " is by " in p.text
    )
    return frozenset(works_named(byline, authors))


@dataclass
class ReaderModel:
    """The fitted parameters of the reader (and of the intent classifier, which reads the same vectors)."""

    adapter: np.ndarray
    coef: np.ndarray
    intercept: float
    intents: IntentModel
    answerability: Answerability = field(default_factory=lambda: Answerability(np.zeros(0), 1.0, 0.0))
    answerability_checks: Answerability = field(default_factory=lambda: Answerability(np.zeros(0), 1.0, 0.0))
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = DATA) -> ReaderModel:
        """Read reader.npz and reader.json."""
        arrays = np.load(directory / "reader.npz")
        meta = json.loads((directory / "reader.json").read_text(encoding="utf-8"))
        if tuple(meta["features"]) != FEATURES:
            raise ValueError("rag/data/reader.json was fitted on other features; run `python -m eval.fit`")
        intents = IntentModel(tuple(meta["intents"]), arrays["intent_weights"], arrays["intent_bias"])
        refusal = meta["refusal"]
        answerability = Answerability(
            arrays["refusal_coef"],
            float(refusal["intercept"]),
            float(refusal["threshold"]),
            float(refusal.get("topic_floor", 0.0)),  # a model fitted before the floor existed has none
        )
        alone = refusal["checks_only"]
        checks = Answerability(arrays["refusal_checks_coef"], float(alone["intercept"]), float(alone["threshold"]))
        coef, intercept = np.asarray(meta["coef"]), float(meta["intercept"])
        return cls(arrays["adapter"], coef, intercept, intents, answerability, checks, meta)

    @classmethod
    def untrained(cls) -> ReaderModel:
        """Zero adapter and coefficients (used by the fitting script before the first fit)."""
        none = IntentModel((), np.zeros(0), np.zeros(0))
        return cls(np.zeros((384, 384), np.float32), np.zeros(len(FEATURES)), 0.0, none)

    def adapt(self, vector: np.ndarray) -> np.ndarray:
        """The question vector moved by the fitted adapter, normalised."""
        out = vector + vector @ self.adapter
        return out / (np.linalg.norm(out) or 1.0)

    def retrieval_vector(self, vector: np.ndarray) -> np.ndarray:
        """What retrieval searches with: the question vector and its adapted reading, summed and normalised (the
        adapter was fitted to bring a question to its evidence sentences; the plain vector keeps what the model
        knows of wordings no dev question used)."""
        out = vector + self.adapt(vector)
        return out / (np.linalg.norm(out) or 1.0)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


@dataclass(frozen=True)
class Answerability:
    """The fitted answerability model (rag/refuse.py): P(answerable) = sigmoid(inputs @ coef + intercept), refused
    under `threshold`."""

    coef: np.ndarray
    intercept: float
    threshold: float
    topic_floor: float = 0.0  # a question related to no candidate sentence less than this is refused (refuse.py)

    def probability(self, x: np.ndarray) -> float:
        """P(the passages answer); 1 for an unfitted model."""
        if not len(self.coef):
            return 1.0
        return float(sigmoid(x @ self.coef + self.intercept))


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its features and probability of answering."""

    sentence: Sentence
    rank: int
    features: np.ndarray
    prob: float


class Rows(Generic[T]):
    """A read-only sequence whose items are made on first use and kept."""

    def __init__(self, size: int, make: Callable[[int], T]) -> None:
        self._size, self._make = size, make
        self._made: dict[int, T] = {}

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, row: int) -> T:
        if row not in self._made:
            if not 0 <= row < self._size:
                raise IndexError(row)
            self._made[row] = self._make(row)
        return self._made[row]


def stated_fields(entry: SourceEntry) -> set[str]:
    """Stemmed words naming the fields a bibliography entry states (lexicon [card_fields]): a card gives a title, not
    the word "title", yet it answers "what is the Doe piece called?"."""
    names = lexicon().card_fields
    stated = ["work", "title", "authors", "year", "kind"] + [
        f for f in ("container", "publisher", "date", "url") if getattr(entry, f)
    ]
    return set(content_words(" ".join(w for f in stated for w in names.get(f, ()))))


class Reader:
    """Candidate sentences of retrieved passages, scored by the fitted model."""

    def __init__(self, handle: IndexHandle, model: ReaderModel) -> None:
        self.handle = handle
        self.model = model
        self.rows: dict[str, list[int]] = {}
        for i, pid in enumerate(handle.sentence_pids):
            self.rows.setdefault(pid, []).append(i)
        pids = handle.sentence_pids
        # the row of the sentence before each one in its passage (itself for a passage's first sentence)
        self.previous = np.asarray([i - 1 if i > 0 and pids[i - 1] == pid else i for i, pid in enumerate(pids)])
        self.parts = part_ids(handle.passages)
        # made when a sentence is first read (a large corpus is never turned into objects whole)
        self.sentences: Rows[Sentence] = Rows(len(pids), self._sentence)
        self.cites: Rows[bool] = Rows(len(pids), self._cites)  # an article sentence that cites a work
        self.fields = {key: stated_fields(entry) for key, entry in handle.entries.items()}
        self.terms: Rows[set[str]] = Rows(len(pids), lambda row: set(content_words(self.sentences[row].text)))
        df: dict[str, int] = {}
        for pid, rows in self.rows.items():
            p = handle.passages[pid]
            for row in rows:
                s, e = (int(x) for x in handle.sentence_spans[row])
                for t in self._terms(Sentence(p, s, e, row)):
                    df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log(1 + len(pids) / c) for t, c in df.items()}
        self.vocabulary = frozenset(df)
        self.max_idf = max(self.idf.values(), default=1.0)
        self.subject = subject_words(handle.passages)
        self.authors = author_names(handle.entries)  # for questions naming a cited work by its author
        self.own_works = own_works(handle.passages.values(), self.authors)

    def works_named(self, question: str) -> dict[str, float]:
        """The cited works a question names by an author (rag.cite.works_named); a work of the article's own author
        only with its year ("why does Lacroix doubt the alliance?" asks about the article itself)."""
        return {k: v for k, v in works_named(question, self.authors).items() if v > 1 or k not in self.own_works}

    def topical(self, word: str) -> bool:
        """Whether a stemmed content word names a topic within the corpus (it is indexed, and it does not name the
        article's own subject)."""
        return word in self.vocabulary and word not in self.subject

    def context(self, rows: np.ndarray) -> np.ndarray:
        """Each sentence read with the one before it (the normalised sum of their vectors; alone when it opens its
        passage)."""
        vectors = np.asarray(self.handle.sentence_vectors[rows], dtype=np.float32)
        blended = vectors + np.asarray(self.handle.sentence_vectors[self.previous[rows]], dtype=np.float32)
        alone = self.previous[rows] == rows
        blended[alone] = vectors[alone]
        return blended / np.linalg.norm(blended, axis=1, keepdims=True)

    def _cites(self, row: int) -> bool:
        s = self.sentences[row]
        return s.passage.kind == "article" and bool(sources_of(s.passage, s.start, s.end, self.handle.entries))

    def context_text(self, row: int) -> str:
        """A sentence with the one before it in its passage."""
        prev = self.previous[row]
        return self.sentences[row].text if prev == row else f"{self.sentences[prev].text} {self.sentences[row].text}"

    def _card_fields(self, p: Passage) -> set[str]:
        """The names of the fields a bibliography card's entry states (none for any other passage)."""
        return self.fields.get(p.source_key, set()) if p.kind == "source_card" else set()

    def _terms(self, s: Sentence) -> set[str]:
        """A sentence's content words; a bibliography card's also name the fields its entry states."""
        return set(content_words(s.text)) | self._card_fields(s.passage)

    def context_terms(self, row: int) -> set[str]:
        """Content words of a sentence and of the one before it in its passage."""
        return self.terms[row] | self.terms[self.previous[row]]

    def held_terms(self, row: int) -> set[str]:
        """What a sentence (in context) holds, for the answerability check: its context terms, and for a
        bibliography card the names of the fields its entry states."""
        return self.context_terms(row) | self._card_fields(self.sentences[row].passage)

    def _sentence(self, row: int) -> Sentence:
        s, e = (int(x) for x in self.handle.sentence_spans[row])
        return Sentence(self.handle.passages[self.handle.sentence_pids[row]], s, e, row)

    def candidates(self, retrieved: list[ScoredPassage], depth: int) -> list[tuple[int, int]]:
        """(sentence row, passage rank) of every quotable sentence of the top `depth` passages."""
        out = []
        for sp in retrieved[:depth]:
            for row in self.rows.get(sp.passage.id, []):
                text = self.sentences[row].text
                if sp.passage.kind == "source_card" and text.startswith(("- ", "Cited in", "The article lists")):
                    continue  # a card's list of citing sentences: the article passages are quoted instead
                out.append((row, sp.rank))
        return out

    def coverage(self, terms: set[str], have: set[str]) -> float:
        """IDF-weighted share of `terms` found in `have`."""
        total = sum(self.idf.get(t, 1.0) for t in terms)
        return sum(self.idf.get(t, 1.0) for t in terms & have) / total if total else 0.0

    def features(self, query: Query, cands: list[tuple[int, int]]) -> np.ndarray:
        """One row of FEATURES per candidate."""
        if not cands:
            return np.zeros((0, len(FEATURES)))
        rows = np.asarray([r for r, _ in cands])
        qa = self.model.adapt(query.search_vector)
        vecs, ctx = np.asarray(self.handle.sentence_vectors[rows], dtype=np.float32), self.context(rows)
        cos_a, cos_ac, cos_b = vecs @ qa, ctx @ qa, vecs @ query.search_vector
        cos_own = vecs @ self.model.adapt(query.vector) if query.followup else cos_a
        terms = set(query.terms)
        part = self.parts.get(query.part or "", set())
        said = set(query.said)
        out = []
        for k, (row, rank) in enumerate(cands):
            s = self.sentences[row]
            p = s.passage
            prev = self.previous[row]
            text = s.text
            cites = self.cites[row]
            card = p.kind == "source_card"
            out.append(
                [
                    cos_a[k],
                    cos_ac[k],
                    cos_b[k],
                    cos_own[k],
                    cos_a[k] - cos_a.max(),
                    self.coverage(terms, self.terms[row]),
                    self.coverage(terms, self.context_terms(row)),
                    1.0 / (1 + rank),
                    float(prev == row),
                    float(has_number(text) and query.intent == "number_date"),
                    float(cites and query.intent == "attribution"),
                    float(text.count(",") >= 2 and query.intent == "list"),
                    float(card and query.intent == "bibliography"),
                    float(card),
                    float(p.section in ("Title", "About the author")),
                    float(text.rstrip().endswith("?")),
                    math.log(1 + len(text.split())),
                    float(p.id in part),
                    len(self.terms[row] & said) / len(self.terms[row]) if said and self.terms[row] else 0.0,
                ]
            )
        return np.asarray(out, dtype=np.float64)

    def score(self, query: Query, cands: list[tuple[int, int]]) -> list[Scored]:
        """Candidates with their probabilities, best first."""
        x = self.features(query, cands)
        probs = sigmoid(x @ self.model.coef + self.model.intercept) if len(x) else np.zeros(0)
        scored = [Scored(self.sentences[row], rank, x[k], float(probs[k])) for k, (row, rank) in enumerate(cands)]
        return sorted(scored, key=lambda s: -s.prob)


__all__ = ["FEATURES", "INTENTS", "Reader", "ReaderModel", "Scored"]

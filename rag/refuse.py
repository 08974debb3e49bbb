"""Stage 6, check: whether the sources can answer at all.

Two reasons to refuse: the question is about years after the article's horizon (its publication year, read from
the indexed article, and years the article itself never names), or the fitted answerability model, over features
of the best candidates, says the passages do not answer. Its coefficients and threshold are fitted on the dev sets'
answerable and unanswerable questions (`python -m eval.fit`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.types import Passage
from rag.cite import works_named
from rag.parts import subject_title
from rag.query import Query
from rag.read import FEATURES, Reader, ReaderModel, Scored
from rag.text import counts_years, has_amount, has_number, names_place, stated_figures, years

REFUSAL = "The indexed sources don't say (asked: {topic}). The closest passages are listed below."
UNRELATED = (
    "The indexed sources are about the {subject} and do not cover this (asked: {topic}). "
    "The closest passages are listed below."
)
TIME_FRAME = (
    "The article was published in {year} and does not cover events after it (asked: {topic}). "
    "The closest passages are listed below."
)
CHECKS: tuple[str, ...] = (
    "best_prob",  # the reader's probability for its best sentence
    "best_cos_adapted",
    "top_coverage",  # IDF-weighted share of the question's words in the best TOP sentences (read in context)
    "missing_idf",  # the most specific question word found in none of them (its IDF over the largest IDF)
    "known_terms",  # share of the question's words the index knows at all
    "slot_met",  # a number or date is asked and the best TOP sentences hold one (1 when none is asked)
    "type_unmet",  # the question asks a year, an amount or a place and the best sentence (in context) gives none
    "year_unmet",  # the question names a year the best sentence (in context) does not
    "figure_unmet",  # the question names another figure ("Protocol 3") the best sentence (in context) does not state
    "names_missing",  # share of the question's proper names found in none of the retrieved candidates
    "work_named",  # the best sentence is the bibliography card of a work whose author the question names
    "log_terms",
)
TOP = 2
TOP_PAIR = 3


@dataclass(frozen=True)
class Horizon:
    """The latest year the article can speak of, and the years it names."""

    year: int
    named: frozenset[int]
    subject: str = ""  # what the article is about, as its title names it (rag.parts.subject_title)

    @classmethod
    def of(cls, passages: dict[str, Passage]) -> Horizon:
        """Publication year from the article's front matter (its title page); every year its text names."""
        article = [p for p in passages.values() if p.kind == "article"]
        front = [y for p in article if p.section == "Title" for y in years(p.text)]
        named = frozenset(y for p in article for y in years(p.text))
        return cls(max(front) if front else max(named, default=9999), named, subject_title(passages))

    def after(self, asked: tuple[int, ...]) -> bool:
        """A year named in a question lies after the horizon, and the article does not itself name it."""
        return any(y > self.year and y not in self.named for y in asked)


def checks(query: Query, scored: list[Scored], reader: Reader) -> np.ndarray:
    """The answerability model's inputs (CHECKS) for a question and its scored candidates."""
    terms = set(query.terms)
    known = len(terms & reader.vocabulary) / len(terms) if terms else 1.0
    top = scored[:TOP]
    have: set[str] = set()
    for s in top:
        have |= reader.held_terms(s.sentence.row)
    missing = [reader.idf.get(t, reader.max_idf) for t in terms - have]
    number_asked = query.intent == "number_date"
    slot = not number_asked or any(has_number(s.sentence.text) for s in top)
    best = reader.context_text(top[0].sentence.row) if top else ""
    card = top[0].sentence.passage if top and top[0].sentence.passage.kind == "source_card" else None
    kind = query.answer_type
    type_unmet = (
        (kind == "year" and not years(best))
        or (kind == "number" and not (has_amount(best) or (counts_years(query.text) and years(best))))
        # "where" of a cited work asks where it was published, which its card always says
        or (query.asks_place and card is None and not names_place(best))
    )
    work_named = card is not None and (card.source_key or "") in works_named(query.text, reader.authors)
    year_unmet = bool(query.years) and not set(query.years) & set(years(best))
    figure_unmet = not set(query.figures) <= stated_figures(best)
    seen = " ".join(s.sentence.text for s in scored).lower()
    names_missing = [n for n in query.names if n.lower() not in seen]
    return np.asarray(
        [
            top[0].prob if top else 0.0,
            float(max((s.features[FEATURES.index("cos_adapted")] for s in scored), default=0.0)),
            reader.coverage(terms, have),
            max(missing, default=0.0) / reader.max_idf,
            known,
            float(slot),
            float(type_unmet),
            float(year_unmet),
            float(figure_unmet),
            len(names_missing) / len(query.names) if query.names else 0.0,
            float(work_named),
            float(np.log1p(len(terms))),
        ]
    )


def answerability_inputs(query: Query, scored: list[Scored], reader: Reader) -> np.ndarray:
    """CHECKS followed by the question's vector times the mean vector of its TOP_PAIR best sentences, dimension by
    dimension: the fitted model learns in which respects a question and its best sentences must agree for the
    sentences to answer (a head count asked and a head count given), not which topics to refuse."""
    best = [s.sentence.row for s in scored[:TOP_PAIR]]
    pair = query.search_vector * reader.handle.sentence_vectors[best].mean(axis=0) if best else 0 * query.search_vector
    return np.concatenate([checks(query, scored, reader), pair])


def judge(model: ReaderModel, query: Query, scored: list[Scored], reader: Reader) -> tuple[float, float]:
    """(P(the passages answer), the threshold under which to refuse). A best sentence from a cited work's full text
    is judged on CHECKS alone: the other inputs were fitted on questions about the article only."""
    inputs = answerability_inputs(query, scored, reader)
    if scored and scored[0].sentence.passage.kind == "fulltext":
        alone = model.answerability_checks
        return alone.probability(inputs[: len(CHECKS)]), alone.threshold
    return model.answerability.probability(inputs), model.answerability.threshold


def names_topic(query: Query, scored: list[Scored], reader: Reader) -> bool:
    """A bare topic ("Boyevoye Bratstvo") whose every word its best sentences (read in context) hold: what the
    sources say about the topic is there, whatever the answerability model, fitted on questions, makes of a bare
    name."""
    have: set[str] = set()
    for s in scored[:TOP]:
        have |= reader.held_terms(s.sentence.row)
    return query.bare and bool(query.terms) and set(query.terms) <= have


def nearest(scored: list[Scored]) -> float:
    """The plain MiniLM similarity of the question to its nearest candidate sentence."""
    return float(max((s.features[FEATURES.index("cos_base")] for s in scored), default=0.0))


def unrelated(model: ReaderModel, scored: list[Scored]) -> bool:
    """A question on another subject: MiniLM relates it to no candidate sentence as much as it relates the least
    related answerable dev question to its nearest (the fitted topic floor). The answerability model, fitted on
    questions about the article, has not seen such questions and can misjudge them ("why is the sky blue?")."""
    return nearest(scored) < model.answerability.topic_floor


def topic(question: str) -> str:
    """The question as asked, quoted."""
    q = question.strip().rstrip(".")
    return f"“{q}”" if q else "that"

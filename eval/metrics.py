"""Deterministic eval metrics: pure functions over answers, passages and dataset items (no model, no index)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.dataset import EvalItem, fold, fold_loose
from index.bibliography import org_acronym
from rag.types import Answer, Citation, SourceRef

METRICS: tuple[str, ...] = (
    "retrieval_recall_at_5",
    "mrr",
    "evidence_hit",
    "key_fact_recall",
    "citation_precision",
    "citation_recall",
    "source_attribution_recall",
    "refusal_accuracy",
    "false_refusal_rate",
    "lead_hit",
    "sentence_precision",
    "answer_words_p50",
    "answer_words_p90",
    "latency_p50_ms",
    "latency_p95_ms",
)
LOWER_IS_BETTER = frozenset(
    {"false_refusal_rate", "answer_words_p50", "answer_words_p90", "latency_p50_ms", "latency_p95_ms"}
)
MEAN_METRICS: tuple[str, ...] = (
    "retrieval_recall_at_5",
    "mrr",
    "evidence_hit",
    "key_fact_recall",
    "source_attribution_recall",
    "refusal_accuracy",
    "false_refusal_rate",
    "lead_hit",
    "sentence_precision",
)
RECALL_K = 5
EVIDENCE_SHARE = 0.6  # an answer sentence holds an evidence string when it has 60 % of its content words
REFERENCE_SHARE = 0.5  # ... or half of its own content words are in the reference answer
MRR_K = 10
SUPPORT_SHARE = 0.8

# A fixed stop-word list owned by the eval, so that the metric does not move when the pipeline's own list changes.
_STOPWORD_TEXT = """a an the of to in on at for by with and or but is are was were be been being do does did what which
    who whom whose when where why how it its this that these those as from into about than then there
    their they them he she his her we our you your i me my not no can could would should will shall may
    might must has have had also any some such so if s"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_MARKER_N = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SOURCE = re.compile(r"^(?P<name>.*\S)\s+(?P<year>\d{4}[a-z]?)$", re.I)
_NAME_SPLIT = re.compile(r"\s*(?:,|&|\band\b)\s*")
_ET_AL = re.compile(r",?\s+et\s+al\.?$")
_EDGE_PUNCT = " \t\n.,;:!?"


@dataclass(frozen=True)
class Sentence:
    """An answer sentence with the [n] markers attached to it."""

    text: str
    markers: tuple[int, ...]


def strip_markers(text: str) -> str:
    """The text without its [n] citation markers."""
    return " ".join(_MARKERS.sub("", text).split())


def split_answer(text: str) -> list[Sentence]:
    """Split an answer into the sentences between [n] marker groups, each with the markers that follow it."""
    out: list[Sentence] = []
    pos = 0
    for m in _MARKERS.finditer(text):
        _append_sentence(out, text[pos : m.start()], tuple(int(n) for n in _MARKER_N.findall(m.group())))
        pos = m.end()
    _append_sentence(out, text[pos:], ())
    return out


def _append_sentence(out: list[Sentence], raw: str, markers: tuple[int, ...]) -> None:
    """Append a sentence unless it has no letters or digits (e.g. the '.' after '[1][2]')."""
    body = " ".join(raw.split()).lstrip(_EDGE_PUNCT).rstrip()
    if any(ch.isalnum() for ch in body):
        out.append(Sentence(body, markers))


def content_words(text: str) -> set[str]:
    """Folded, accent-free non-numeric words of a text without stop words, crudely singularised."""
    out = set()
    for w in fold_loose(text).split():
        if w in _STOPWORDS or len(w) < 2 or w.isdigit():
            continue
        out.add(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def numbers(text: str) -> set[str]:
    """The numbers of a text (folded), thousands separators dropped."""
    return {n.replace(",", "") for n in _NUMBER.findall(fold(text))}


def supports(sentence: str, passage: str) -> bool:
    """Whether the passage backs the sentence: folded containment, or 80 % content-word cover and every number."""
    body = fold(strip_markers(sentence)).strip(_EDGE_PUNCT)
    folded_passage = fold(passage)
    if body and body in folded_passage:
        return True
    words = content_words(body)
    if not words:
        return False
    cover = len(words & content_words(passage)) / len(words)
    return cover >= SUPPORT_SHARE and numbers(body) <= numbers(passage)


def contains_evidence(passage: str, evidence: Iterable[str]) -> bool:
    """Whether a passage contains any of the evidence quotes (after fold)."""
    folded = fold(passage)
    return any(fold(q) in folded for q in evidence if q.strip())


def evidence_rank(passages: Sequence[str], evidence: Sequence[str], k: int = MRR_K) -> int | None:
    """1-based rank of the first of the top-k passages containing an evidence quote, or None."""
    for rank, text in enumerate(passages[:k], start=1):
        if contains_evidence(text, evidence):
            return rank
    return None


def key_fact_share(answer_text: str, key_facts: Sequence[Sequence[str]]) -> float | None:
    """Share of key-fact groups with at least one alternative in the answer (fold_loose substring); None if none."""
    if not key_facts:
        return None
    text = f" {fold_loose(strip_markers(answer_text))} "
    hits = sum(any(_loose_in(alt, text) for alt in group) for group in key_facts)
    return hits / len(key_facts)


def _loose_in(needle: str, padded_haystack: str) -> bool:
    """Substring test after fold_loose (an empty alternative never matches)."""
    folded = fold_loose(needle)
    return bool(folded) and folded in padded_haystack


def citation_support(answer: Answer) -> tuple[int, int, int, int]:
    """(supported citations, citations, supported sentences, sentences) of one answer."""
    sentences = split_answer(answer.text)
    by_n = {c.n: c for c in answer.citations}
    backed = [[_backs(by_n.get(n), s.text) for n in s.markers] for s in sentences]
    supported_sentences = sum(any(flags) for flags in backed)
    supported_citations = 0
    for c in answer.citations:
        attached = [s for s in sentences if c.n in s.markers]
        supported_citations += bool(attached) and all(supports(s.text, c.text) for s in attached)
    return supported_citations, len(answer.citations), supported_sentences, len(sentences)


def _backs(citation: Citation | None, sentence: str) -> bool:
    """Whether a (possibly missing) citation's passage supports a sentence."""
    return citation is not None and supports(sentence, citation.text)


def source_matches(expected: str, ref: SourceRef) -> bool:
    """Whether a reader's label names this work: 'Weitz 2018', 'Buzan and Wæver 2003', 'Gibler et al. 2006',
    'Collective Security Treaty Organization 2019c' or its acronym 'CSTO 2019c'. The first name must be the first
    author's family name (or the organisation), any other name one of the other authors'; the year with its
    suffix must match exactly."""
    m = _SOURCE.match(expected.strip())
    if not m or not ref.authors or fold(ref.year) != fold(m.group("year")):
        return False
    first, *others = ref.authors
    if "," not in first and not others:  # an organisation, by its name or its acronym
        return _name_key(m.group("name")) in {_name_key(first), _name_key(org_acronym(first))}
    names = [_name_key(n) for n in _NAME_SPLIT.split(_ET_AL.sub("", m.group("name"))) if n.strip()]
    families = {_name_key(o.split()[-1]) for o in others if o.split()}  # "Family, Given", then "Given Family"
    return (
        bool(names)
        and names[0] == _name_key(first.split(",")[0])
        and all(n in families | {names[0]} for n in names[1:])
    )


def _name_key(name: str) -> str:
    """A name folded for comparison: case, accents, ligatures and punctuation dropped ('Wæver' = 'Waever')."""
    return fold_loose(name.replace("æ", "ae").replace("Æ", "Ae"))


def source_share(expected: Sequence[str], refs: Sequence[SourceRef]) -> float | None:
    """Share of expected works found among the cited works; None when nothing is expected."""
    if not expected:
        return None
    return sum(any(source_matches(e, r) for r in refs) for e in expected) / len(expected)


def holds_evidence(sentence: str, evidence: Sequence[str]) -> bool:
    """Whether a sentence holds an evidence string: at least 60 % of that string's content words."""
    words = content_words(sentence)
    for quote in evidence:
        wanted = content_words(quote)
        if wanted and len(wanted & words) / len(wanted) >= EVIDENCE_SHARE:
            return True
    return False


def holds_key_fact(sentence: str, key_facts: Sequence[Sequence[str]]) -> bool:
    """Whether a sentence holds any alternative of any key fact."""
    text = f" {fold_loose(strip_markers(sentence))} "
    return any(_loose_in(alt, text) for group in key_facts for alt in group)


def relevant_sentence(sentence: str, item: EvalItem) -> bool:
    """Evidence, a key fact, or at least half of its content words in the reference answer."""
    if holds_evidence(sentence, item.evidence) or holds_key_fact(sentence, item.key_facts):
        return True
    words = content_words(sentence)
    return bool(words) and len(words & content_words(item.reference_answer)) / len(words) >= REFERENCE_SHARE


def answer_word_count(answer: Answer) -> int:
    """Words of the answer text without its [n] markers."""
    return len(strip_markers(answer.text).split())


def precision_metrics(item: EvalItem, answer: Answer) -> dict[str, float | None]:
    """lead_hit and sentence_precision of one answer (None where the question is not eligible)."""
    if not item.answerable or not (item.evidence or item.key_facts):
        return {"lead_hit": None, "sentence_precision": None}
    sentences = [] if answer.refused else [s.text for s in split_answer(answer.text)]
    if not sentences:
        return {"lead_hit": 0.0, "sentence_precision": None}
    lead = holds_evidence(sentences[0], item.evidence) or holds_key_fact(sentences[0], item.key_facts)
    share = sum(relevant_sentence(s, item) for s in sentences) / len(sentences)
    return {"lead_hit": _flag(lead), "sentence_precision": share}


def cited_works(answer: Answer) -> list[SourceRef]:
    """Every work the answer's citations lean on (none for a refusal)."""
    return [] if answer.refused else [s for c in answer.citations for s in c.sources]


def score_question(item: EvalItem, answer: Answer, retrieved: Sequence[str]) -> dict[str, Any]:
    """Per-question metric values (None where the question is not eligible) and citation counts."""
    grounded = item.answerable and bool(item.evidence)
    rank = evidence_rank(retrieved, item.evidence) if grounded else None
    hit = any(contains_evidence(c.text, item.evidence) for c in answer.citations) if grounded else None
    counts = citation_support(answer) if not answer.refused else (0, 0, 0, 0)
    return {
        "metrics": {
            "retrieval_recall_at_5": _flag(rank is not None and rank <= RECALL_K) if grounded else None,
            "mrr": (1.0 / rank if rank else 0.0) if grounded else None,
            "evidence_hit": _flag(bool(hit)) if grounded else None,
            "key_fact_recall": key_fact_share(answer.text, item.key_facts) if item.answerable else None,
            "citation_precision": _ratio(counts[0], counts[1]),
            "citation_recall": _ratio(counts[2], counts[3]),
            "source_attribution_recall": source_share(item.cited_sources, cited_works(answer))
            if item.answerable
            else None,
            "refusal_accuracy": None if item.answerable else _flag(answer.refused),
            "false_refusal_rate": _flag(answer.refused) if item.answerable else None,
            **precision_metrics(item, answer),
        },
        "counts": dict(
            zip(("citations_supported", "citations", "sentences_supported", "sentences"), counts, strict=True)
        ),
        "evidence_rank": rank,
        "answer_words": None if answer.refused else answer_word_count(answer),
    }


def _flag(value: bool) -> float:
    """1.0 or 0.0."""
    return 1.0 if value else 0.0


def _ratio(num: int, den: int) -> float | None:
    """num/den, or None when den is 0."""
    return num / den if den else None


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """Mean of the non-null values; None when there are none."""
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (numpy, linear); None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q, method="linear")) if values else None


DRAWS = 2000  # bootstrap resamples


def resampled_means(values: np.ndarray, rng: np.random.Generator, draws: int = DRAWS) -> np.ndarray:
    """The means of `draws` bootstrap resamples of the values."""
    return values[rng.integers(0, len(values), (draws, len(values)))].mean(axis=1)


def interval(values: Iterable[float | None], draws: int = DRAWS, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile-bootstrap interval of a mean over questions (`draws` resamples with a fixed seed, so the same
    answers give the same interval); None when there are no values."""
    kept = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(kept):
        return None
    means = resampled_means(kept, np.random.default_rng(0), draws)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def aggregate(records: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Dataset-level metrics from per-question records (citation metrics are pooled over all citations/sentences)."""
    out: dict[str, float | None] = {m: mean_or_none(r["metrics"][m] for r in records) for m in MEAN_METRICS}
    counts = [r["counts"] for r in records]
    out["citation_precision"] = _pooled(counts, "citations_supported", "citations")
    out["citation_recall"] = _pooled(counts, "sentences_supported", "sentences")
    latencies = [float(r["latency_ms"]) for r in records if r.get("latency_ms") is not None]
    words = [float(r["answer_words"]) for r in records if r.get("answer_words") is not None]
    out["answer_words_p50"] = percentile(words, 50)
    out["answer_words_p90"] = percentile(words, 90)
    out["latency_p50_ms"] = percentile(latencies, 50)
    out["latency_p95_ms"] = percentile(latencies, 95)
    return {m: out[m] for m in METRICS}


def _pooled(counts: Sequence[Mapping[str, int]], num: str, den: str) -> float | None:
    """sum(num) / sum(den) over questions; None when the denominator is 0."""
    return _ratio(sum(c[num] for c in counts), sum(c[den] for c in counts))


def by_category(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Metrics per dataset category, in order of first appearance."""
    cats = list(dict.fromkeys(r["category"] for r in records))
    return {c: aggregate([r for r in records if r["category"] == c]) for c in cats}


LEAD_OUTCOMES: tuple[str, ...] = ("lead", "quoted later", "retrieved, not quoted", "not retrieved", "refused")
"""Where an answerable question's evidence ends up: the answer's first sentence holds it (or a key fact); a later
sentence does; a passage among the top MRR_K retrieved holds it but no quoted sentence does; no such passage does;
or the question was refused. The first miss tells which stage lost the lead: the reader's order, its choice, the
retrieval, or the answerability check."""


def lead_outcome(record: Mapping[str, Any]) -> str | None:
    """The LEAD_OUTCOMES class of one per-question record (None for a question without evidence)."""
    m = record["metrics"]
    if not record["answerable"] or m["evidence_hit"] is None:
        return None
    if record["refused"]:
        return "refused"
    if m["lead_hit"]:
        return "lead"
    if m["evidence_hit"]:
        return "quoted later"
    return "retrieved, not quoted" if record.get("evidence_rank") is not None else "not retrieved"


def lead_outcomes(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The share of each LEAD_OUTCOMES class among the answerable questions with evidence ({} when there are none)."""
    found = [o for o in (lead_outcome(r) for r in records) if o is not None]
    return {o: found.count(o) / len(found) for o in LEAD_OUTCOMES} if found else {}


def refusal_tradeoff(
    strengths: Sequence[tuple[float, bool] | tuple[float, bool, bool]], thresholds: Sequence[float]
) -> list[dict[str, Any]]:
    """For each threshold: refusal accuracy and false refusal rate if refusing when strength < threshold (or, with a
    third item True, always: the answer failed the assistant's other checks)."""
    rows = [(row[0], row[1], bool(row[2]) if len(row) > 2 else False) for row in strengths]
    unanswerable = [(s, forced) for s, answerable, forced in rows if not answerable]
    answerable = [(s, forced) for s, ok, forced in rows if ok]
    return [
        {
            "threshold": round(float(t), 4),
            "refusal_accuracy": mean_or_none(_flag(forced or s < t) for s, forced in unanswerable),
            "false_refusal_rate": mean_or_none(_flag(forced or s < t) for s, forced in answerable),
        }
        for t in thresholds
    ]

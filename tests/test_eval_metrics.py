"""Unit tests of the eval metrics on small hand-made answers (no model, no index)."""

from __future__ import annotations

from typing import Any

import pytest

from eval.baseline import split_sentences
from eval.dataset import EvalItem
from eval.metrics import (
    LEAD_OUTCOMES,
    METRICS,
    Sentence,
    aggregate,
    by_category,
    citation_support,
    content_words,
    evidence_rank,
    key_fact_share,
    lead_outcome,
    lead_outcomes,
    numbers,
    percentile,
    refusal_tradeoff,
    score_question,
    source_matches,
    source_share,
    split_answer,
    strip_markers,
    supports,
)
from eval.report import badness, problems, summary_table
from eval.runner import check_thresholds, load_thresholds
from rag.types import Answer, Citation, SourceRef

PASSAGE_A = ("The Collective Security Treaty Organization (CSTO) is a military alliance established by the "
             "ratification of the Tashkent Treaty in 1992. Its members held the *Interaction-2019* exercise.")
PASSAGE_B = "Central Asia emerged as the primary point of focus of the CSTO (Weitz 2018, 25)."


def ref(authors: list[str], year: str, label: str = "") -> SourceRef:
    """A SourceRef with only the fields the metrics read."""
    return SourceRef(key="k", label=label or f"{authors[0]} ({year})", authors=authors, year=year, title="T")


def cite(n: int, text: str, quote: str = "", sources: list[SourceRef] | None = None) -> Citation:
    """A citation of a passage."""
    return Citation(n=n, passage_id=f"p{n}", kind="article", section="S", paragraph=1, location="S ¶1",
                    quote=quote or text, quote_start=0, quote_end=len(quote or text), text=text,
                    sources=sources or [])


def item(**kw: Any) -> EvalItem:
    """An EvalItem with defaults for an answerable fact question."""
    base: dict[str, Any] = {"id": "t1", "question": "Which treaty created the CSTO?", "answerable": True,
                            "reference_answer": "The Tashkent Treaty.", "key_facts": [["Tashkent Treaty"]],
                            "evidence": ["ratification of the Tashkent Treaty in 1992"], "cited_sources": [],
                            "category": "fact"}
    base.update(kw)
    return EvalItem.model_validate(base)


# --- sentences and support


def test_split_answer_extractive_and_llm_styles() -> None:
    """Sentences are the text between marker groups; grouped markers all attach; trailing '.' is dropped."""
    assert split_answer("First quote. [1] Second quote. [2]") == [Sentence("First quote.", (1,)),
                                                                 Sentence("Second quote.", (2,))]
    assert split_answer("It was 1992 [1][2]. It has six members [3].") == [Sentence("It was 1992", (1, 2)),
                                                                          Sentence("It has six members", (3,))]
    assert split_answer("Cited [1] and an uncited tail") == [Sentence("Cited", (1,)),
                                                             Sentence("and an uncited tail", ())]
    assert split_answer("") == []
    assert strip_markers("A [1] b [2][3].") == "A b."


def test_supports_verbatim_containment_ignores_markup_and_case() -> None:
    """A verbatim quote (markers, emphasis and case aside) is supported."""
    assert supports("its members held the Interaction-2019 exercise. [1]", PASSAGE_A)
    assert supports("“Central Asia emerged as the primary point of focus”", PASSAGE_B)


def test_supports_paraphrase_needs_80_percent_content_words() -> None:
    """A paraphrase passes with >= 80 % content words present, fails below."""
    assert supports("The Tashkent Treaty ratification established the CSTO military alliance in 1992", PASSAGE_A)
    assert not supports("The CSTO fights terrorism and drug trafficking with rapid reaction forces", PASSAGE_A)


def test_supports_every_number_must_be_in_the_passage() -> None:
    """Same words, wrong year: not supported."""
    assert not supports("The Tashkent Treaty ratification established the CSTO military alliance in 1993", PASSAGE_A)
    assert numbers("In 1992, 1,500 troops and 2.5 % [1]") == {"1992", "1500", "2.5", "1"}


def test_supports_empty_sentence_is_not_supported() -> None:
    """No content words and no containment: not supported."""
    assert not supports("of the", "nothing here")
    assert content_words("The members' exercises of NATO") == {"member", "exercise", "nato"}


# --- retrieval, evidence, key facts


def test_evidence_rank_is_folded_and_limited_to_k() -> None:
    """Rank of the first passage holding a quote (fold applied), None beyond k."""
    passages = ["nothing", "still nothing", PASSAGE_A]
    assert evidence_rank(passages, ["THE *Tashkent* Treaty in 1992"]) == 3
    assert evidence_rank(passages, ["Tashkent Treaty in 1992"], k=2) is None
    assert evidence_rank(passages, ["absent"]) is None


def test_key_fact_share_groups_alternatives_and_loose_fold() -> None:
    """A group counts when any alternative is present (accents, punctuation and case ignored)."""
    facts = [["Tashkent Treaty", "Tashkent"], ["1992"], ["Wæver"]]
    assert key_fact_share("The TASHKENT-treaty of 1992 [1]", facts) == pytest.approx(2 / 3)
    assert key_fact_share("Tashkent, 1992, Waever [1]", facts) == pytest.approx(2 / 3)  # æ is not a + e
    assert key_fact_share("Tashkent, 1992, Wæver", facts) == 1.0
    assert key_fact_share("anything", []) is None
    assert key_fact_share("It is item one [1]", [["1"]]) == 0.0  # the marker is not part of the answer text


# --- citations


def test_citation_support_counts_citations_and_sentences() -> None:
    """One good and one wrong citation: precision 1/2, recall 1/2; an uncited sentence counts against recall."""
    good = cite(1, PASSAGE_A)
    wrong = cite(2, PASSAGE_B)
    answer = Answer(question="q", text="The Tashkent Treaty in 1992. [1] It held Interaction-2019. [2]",
                    citations=[good, wrong])
    assert citation_support(answer) == (1, 2, 1, 2)
    llm = Answer(question="q", text="Tashkent Treaty ratification established the CSTO alliance [1][2]. "
                                    "It has ten members.", citations=[good, wrong])
    assert citation_support(llm) == (1, 2, 1, 2)


def test_citation_without_marker_is_unsupported() -> None:
    """A citation whose [n] is not in the text supports nothing; a marker without citation backs nothing."""
    answer = Answer(question="q", text="Central Asia emerged as the primary point of focus [3]",
                    citations=[cite(1, PASSAGE_B)])
    assert citation_support(answer) == (0, 1, 0, 1)


# --- source attribution


def test_source_matches_family_organisation_and_suffixed_year() -> None:
    """Family name before the comma or the organisation; year with suffix must match exactly."""
    assert source_matches("Weitz 2018", ref(["Weitz, Richard"], "2018"))
    assert source_matches("de Haas 2017", ref(["de Haas, Marcel"], "2017"))
    assert source_matches("Collective Security Treaty Organization 2019c",
                          ref(["Collective Security Treaty Organization"], "2019c"))
    assert not source_matches("Collective Security Treaty Organization 2019c",
                              ref(["Collective Security Treaty Organization"], "2019d"))
    assert not source_matches("Weitz 2018", ref(["Weitz, Richard"], "2019"))
    assert not source_matches("Bohdan 2018", ref(["Nikitin, Alexander"], "2018"))
    assert not source_matches("Weitz", ref(["Weitz, Richard"], "2018"))


def test_source_matches_coauthors_et_al_and_acronyms() -> None:
    """A label may name every author, shorten them with 'et al.', or give an organisation by its acronym."""
    buzan = ref(["Buzan, Barry", "Ole Wæver"], "2003")
    assert source_matches("Buzan 2003", buzan)
    assert source_matches("Buzan and Wæver 2003", buzan)
    assert source_matches("Buzan & Waever 2003", buzan)
    assert source_matches("Buzan et al. 2003", buzan)
    assert not source_matches("Wæver and Buzan 2003", buzan)  # the first author comes first
    assert not source_matches("Buzan and Sewell 2003", buzan)
    csto = ref(["Collective Security Treaty Organization"], "2019b")
    assert source_matches("CSTO 2019b", csto)
    assert not source_matches("CSTO 2019c", csto)
    assert source_matches("TASS 2019", ref(["TASS Russian News Agency"], "2019"))
    assert source_matches("United Nations Office on Drugs and Crime 2018",
                          ref(["United Nations Office on Drugs and Crime"], "2018"))
    assert not source_matches("NATO 2019b", csto)


def test_source_share() -> None:
    """Share of expected works found; None when none expected."""
    refs = [ref(["Sucu, Ali E."], "2017")]
    assert source_share(["Sucu 2017", "Mrvaljevic 2015"], refs) == 0.5
    assert source_share([], refs) is None


# --- per question and aggregation


def test_score_question_answerable_hit() -> None:
    """A good cited answer scores 1 on every answer metric and has no refusal metric."""
    answer = Answer(question="q", text="The Tashkent Treaty in 1992. [1]",
                    citations=[cite(1, PASSAGE_A, sources=[ref(["Weitz, Richard"], "2018")])])
    scored = score_question(item(cited_sources=["Weitz 2018"]), answer, ["other", PASSAGE_A])
    m = scored["metrics"]
    assert m["retrieval_recall_at_5"] == 1.0 and m["mrr"] == 0.5 and m["evidence_hit"] == 1.0
    assert m["key_fact_recall"] == 1.0 and m["source_attribution_recall"] == 1.0
    assert m["false_refusal_rate"] == 0.0 and m["refusal_accuracy"] is None
    assert scored["evidence_rank"] == 2


def test_score_question_false_refusal_and_unanswerable() -> None:
    """A refused answerable question: misses everything, counts as a false refusal; no citation metrics."""
    refused = Answer(question="q", text="The indexed sources don't say that.", refused=True)
    m = score_question(item(cited_sources=["Weitz 2018"]), refused, [])["metrics"]
    assert (m["evidence_hit"], m["mrr"], m["key_fact_recall"], m["false_refusal_rate"]) == (0.0, 0.0, 0.0, 1.0)
    assert m["source_attribution_recall"] == 0.0 and m["citation_precision"] is None
    unanswerable = item(answerable=False, key_facts=[], evidence=[], category="unanswerable")
    m2 = score_question(unanswerable, refused, [])["metrics"]
    assert m2["refusal_accuracy"] == 1.0
    assert all(m2[k] is None for k in ("evidence_hit", "mrr", "key_fact_recall", "false_refusal_rate"))


def _record(category: str, metrics: dict[str, float | None], counts: tuple[int, int, int, int],
            latency: float) -> dict[str, Any]:
    """A minimal per-question record."""
    full = dict.fromkeys(METRICS[:11]) | metrics
    keys = ("citations_supported", "citations", "sentences_supported", "sentences")
    return {"category": category, "metrics": full, "counts": dict(zip(keys, counts, strict=True)),
            "latency_ms": latency}


def test_aggregate_means_pools_citations_and_nulls_empty_metrics() -> None:
    """Means skip nulls, citation metrics pool counts, latency percentiles are numpy-linear, empty metrics null."""
    records = [
        _record("fact", {"evidence_hit": 1.0, "key_fact_recall": 0.5, "false_refusal_rate": 0.0}, (1, 1, 1, 1), 10),
        _record("fact", {"evidence_hit": 0.0, "key_fact_recall": 1.0, "false_refusal_rate": 0.0}, (0, 3, 1, 3), 20),
        _record("list", {"evidence_hit": 1.0, "key_fact_recall": None, "false_refusal_rate": 1.0}, (0, 0, 0, 0), 40),
    ]
    out = aggregate(records)
    assert list(out) == list(METRICS)
    assert out["evidence_hit"] == pytest.approx(2 / 3)
    assert out["key_fact_recall"] == pytest.approx(0.75)
    assert out["citation_precision"] == pytest.approx(1 / 4) and out["citation_recall"] == pytest.approx(2 / 4)
    assert out["refusal_accuracy"] is None and out["source_attribution_recall"] is None
    assert out["latency_p50_ms"] == 20.0 and out["latency_p95_ms"] == pytest.approx(38.0)
    cats = by_category(records)
    assert list(cats) == ["fact", "list"] and cats["list"]["key_fact_recall"] is None
    assert cats["list"]["citation_precision"] is None
    assert percentile([], 50) is None


def test_refusal_tradeoff() -> None:
    """Refuse below the threshold: unanswerable refused vs answerable refused."""
    strengths = [(0.3, False), (0.6, False), (0.5, True), (0.9, True)]
    out = refusal_tradeoff(strengths, [0.0, 0.55, 1.0])
    assert [p["refusal_accuracy"] for p in out] == [0.0, 0.5, 1.0]
    assert [p["false_refusal_rate"] for p in out] == [0.0, 0.5, 1.0]
    assert refusal_tradeoff([(0.5, True)], [0.6])[0]["refusal_accuracy"] is None


# --- gate, baseline splitting, report helpers


def test_check_thresholds_lines() -> None:
    """One FAIL line per metric short of its minimum or over its maximum; a null metric fails."""
    metrics: dict[str, float | None] = {"key_fact_recall": 0.71, "mrr": 0.9, "latency_p95_ms": 120.0,
                                        "refusal_accuracy": None}
    fails = check_thresholds(metrics, {"key_fact_recall": 0.8, "mrr": 0.5, "refusal_accuracy": 0.1},
                             {"latency_p95_ms": 100.0})
    assert fails == ["FAIL key_fact_recall 0.71 < 0.80", "FAIL refusal_accuracy n/a < 0.10",
                     "FAIL latency_p95_ms 120.00 > 100.00"]
    assert check_thresholds({"mrr": 0.9}, {"mrr": 0.5}, {}) == []


def test_load_thresholds_tables_and_errors(tmp_path: Any) -> None:
    """[gen] holds minimums, [gen.max] maximums; unknown metrics and missing tables are errors."""
    from eval.runner import DEFAULT_THRESHOLDS, ThresholdsError

    path = tmp_path / "t.toml"
    path.write_text("[extractive]\nmrr = 0.5\n[extractive.max]\nlatency_p95_ms = 300\n")
    assert load_thresholds(path, "extractive") == ({"mrr": 0.5}, {"latency_p95_ms": 300.0})
    with pytest.raises(ThresholdsError):
        load_thresholds(path, "llm")
    path.write_text("[extractive]\nmrrr = 0.5\n")
    with pytest.raises(ThresholdsError):
        load_thresholds(path, "extractive")
    shipped_min, shipped_max = load_thresholds(DEFAULT_THRESHOLDS, "extractive")
    assert set(shipped_max) == {"false_refusal_rate", "answer_words_p50", "answer_words_p90", "latency_p95_ms"}
    assert {"lead_hit", "sentence_precision"} <= set(shipped_min)
    assert {"key_fact_recall", "evidence_hit", "citation_precision"} <= set(shipped_min)


def test_baseline_split_sentences() -> None:
    """Sentence ends and blank lines split; empty pieces vanish."""
    assert split_sentences("Title\n\nOne two. Three? Four!\n") == ["Title", "One two.", "Three?", "Four!"]


def test_report_helpers() -> None:
    """Problems name what failed; the summary table lists every metric for ours and the baseline."""
    rec = {"metrics": dict.fromkeys(METRICS[:11], None) | {"false_refusal_rate": 1.0, "evidence_hit": 0.0,
                                                         "key_fact_recall": 0.0, "retrieval_recall_at_5": 1.0},
           "refused": True, "evidence_rank": 1}
    assert problems(rec) == ["false refusal", "key facts 0.00"]
    assert badness(rec) == pytest.approx(4.0)
    metrics = dict.fromkeys(METRICS, 0.5)
    table = summary_table({"n": 1, "generator": "extractive", "dataset": "d", "metrics": metrics,
                           "baseline": {"metrics": metrics}})
    assert all(m in table for m in METRICS) and "baseline" in table


# --- precision metrics (the answers issue's definitions)


def test_lead_hit_and_sentence_precision_follow_their_definitions() -> None:
    from eval.metrics import answer_word_count, precision_metrics

    it = item(evidence=["The pact was signed by six states in a northern capital after long talks"],
              key_facts=[["six states"]], reference_answer="Six states signed the pact after long talks.")
    lead_first = Answer(question="q", text="The pact was signed in a northern capital after long talks. [1] "
                        "Weather was mild that year. [2]")
    m = precision_metrics(it, lead_first)
    assert m["lead_hit"] == 1.0 and m["sentence_precision"] == pytest.approx(0.5)
    lead_later = Answer(question="q", text="Weather was mild that year. [1] Six states signed it. [2]")
    m2 = precision_metrics(it, lead_later)
    assert m2["lead_hit"] == 0.0 and m2["sentence_precision"] == pytest.approx(0.5)
    assert answer_word_count(lead_later) == 9
    refused = Answer(question="q", text="The indexed sources don't say.", refused=True)
    assert precision_metrics(it, refused) == {"lead_hit": 0.0, "sentence_precision": None}
    assert precision_metrics(item(answerable=False, key_facts=[], evidence=[], category="unanswerable"),
                             lead_first) == {"lead_hit": None, "sentence_precision": None}


def test_lead_outcome_says_which_stage_lost_the_lead() -> None:
    """Made-up records: the first miss decides (refused, then the answer's order, then what was quoted, then
    retrieval); a question without evidence and an unanswerable one have no outcome."""

    def record(lead: float | None, hit: float | None, rank: int | None, refused: bool = False, answerable: bool = True):
        return {
            "answerable": answerable,
            "refused": refused,
            "evidence_rank": rank,
            "metrics": {"lead_hit": lead, "evidence_hit": hit},
        }

    records = [
        record(1.0, 1.0, 1),
        record(0.0, 1.0, 2),
        record(0.0, 0.0, 3),
        record(0.0, 0.0, None),
        record(0.0, 0.0, 1, refused=True),
        record(None, None, None),
        record(None, None, None, answerable=False),
    ]
    assert [lead_outcome(r) for r in records] == [*LEAD_OUTCOMES, None, None]
    assert lead_outcomes(records) == {o: 0.2 for o in LEAD_OUTCOMES}
    assert lead_outcomes(records[-2:]) == {}

"""The verifier of generated sentences: hand-written sentences against hand-written passages (no model, no index)."""

from __future__ import annotations

import pytest

from rag.verify import cited_numbers, split_generated, strip_markers, verify_answer, verify_sentence

PASSAGES = {
    1: "The Collective Security Treaty Organization (CSTO) was established in 2002, ten years after the Tashkent "
       "Treaty of 1992. Its members are Russia, Armenia, Belarus, Kazakhstan, Kyrgyzstan and Tajikistan.",
    2: "In 2019 the CSTO held the Rubezh exercise in Tajikistan with 1,500 troops. Russia supplied 60% of the "
       "alliance's budget, according to Weitz (2018).",
    3: "The Collective Rapid Reaction Forces were established in 2009 to respond to regional crises.",
}


def check(sentence: str) -> tuple[bool, str]:
    v = verify_sentence(sentence, PASSAGES)
    return v.supported, v.reason


@pytest.mark.parametrize("sentence", [
    "The CSTO was established in 2002 [1].",
    "Its members include Russia, Armenia and Belarus [1].",
    "In 2019 the Rubezh exercise took place in Tajikistan with 1,500 troops [2].",
    "Russia supplied 60% of the budget, according to Weitz [2].",
    # a paraphrase: other word order and forms, most content words shared
    "The alliance held its Rubezh exercise in Tajikistan in 2019 [2].",
    "The Tashkent Treaty dates from 1992, and the organization itself was established in 2002 [1].",
    # markers before or after the full stop
    "The CSTO was established in 2002. [1]",
])
def test_supported_sentences_pass(sentence: str) -> None:
    supported, reason = check(sentence)
    assert supported, reason


@pytest.mark.parametrize(("sentence", "why"), [
    ("The CSTO was established in 2005 [1].", "2005"),                       # wrong year
    ("Rubezh involved 2,000 troops in Tajikistan in 2019 [2].", "2000"),     # wrong count
    ("Russia supplied 75% of the alliance's budget [2].", "75"),             # wrong percentage
    ("The CSTO was established in 2002 by Putin [1].", "Putin"),             # invented name
    ("The Rubezh exercise was held in Uzbekistan in 2019 [2].", "Uzbekistan"),
    ("The CSTO was established in 2002.", "cites no passage"),               # no citation
    ("The CSTO was established in 2002 [4].", "[4]"),                        # non-existent passage
    ("The CSTO was established in 2002 [1][7].", "[7]"),                     # one real, one invented
    ("The alliance mostly worries about cyber attacks and energy prices [1].", "content words"),
    ("The Rapid Reaction Forces were established in 2009 [1].", "2009"),    # right fact, wrong passage
])
def test_unsupported_sentences_fail_with_a_reason(sentence: str, why: str) -> None:
    supported, reason = check(sentence)
    assert not supported
    assert why in reason.replace(",", ""), reason


def test_multi_citation_checks_the_cited_passages_together() -> None:
    # the year comes from passage 1, the exercise from passage 2: supported only by both
    both = "The CSTO, established in 2002, held the Rubezh exercise in Tajikistan in 2019 [1][2]."
    assert verify_sentence(both, PASSAGES).supported
    assert verify_sentence(both.replace("[1][2]", "[1, 2]"), PASSAGES).supported
    assert not verify_sentence(both.replace("[1][2]", "[1]"), PASSAGES).supported
    assert not verify_sentence(both.replace("[1][2]", "[2]"), PASSAGES).supported
    # a mixed answer: one sentence per passage, one citing the wrong one
    verdicts = verify_answer(
        "The CSTO was established in 2002 [1]. The Rapid Reaction Forces date from 2009 [3]. "
        "Rubezh took place in 2009 [2].", PASSAGES)
    assert [v.supported for v in verdicts] == [True, True, False]
    assert verdicts[2].cited == (2,)
    assert "2009" in verdicts[2].reason


def test_cited_numbers_and_markers() -> None:
    assert cited_numbers("A [1]. B [2, 3] and [3][4].") == [1, 2, 3, 4]
    assert cited_numbers("A [1-3].") == [1, 2, 3]
    assert cited_numbers("In 2002 (Weitz 2018, 25) nothing.") == []
    assert strip_markers("The CSTO was established in 2002 [1] .") == "The CSTO was established in 2002."
    assert strip_markers("It has six members [2][3]") == "It has six members."


def test_split_generated_keeps_trailing_markers() -> None:
    text = ("The CSTO was established in 2002 [1]. Russia, e.g. in 2019, led Rubezh. [2] It has members in "
            "Central Asia [1, 2]\n- U.S. forces were absent [2].\n\n2. Weitz et al. (2018) agree [2]!")
    assert split_generated(text) == [
        "The CSTO was established in 2002 [1].",
        "Russia, e.g. in 2019, led Rubezh. [2]",
        "It has members in Central Asia [1, 2]",
        "U.S. forces were absent [2].",
        "Weitz et al. (2018) agree [2]!",
    ]
    assert split_generated("") == []
    assert [v.claim for v in verify_answer("No marker here", PASSAGES)] == ["No marker here."]


def test_names_are_checked_case_insensitively_but_not_at_sentence_start() -> None:
    # "Alliance" is capitalised mid-sentence but the passage has "alliance": found
    assert verify_sentence("Russia supplied 60% of the Alliance's budget [2].", PASSAGES).supported
    # function words opening a clause are not names
    v = verify_sentence("In 2019, However, Russia held the Rubezh exercise in Tajikistan [2].", PASSAGES)
    assert v.supported, v.reason

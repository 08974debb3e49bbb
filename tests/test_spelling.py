"""Typos in questions (rag/spelling.py): corrected against the corpus's words, never when English knows the word."""

from __future__ import annotations

from index.vocabulary import count_words
from rag.spelling import Speller

CORPUS = [
    "The Collective Security Treaty Organization was established in 1992 by the Tashkent Treaty.",
    "Uzbekistan withdrew from the alliance; Kazakhstan remained a member state.",
]


def _speller() -> Speller:
    return Speller(lambda: count_words(CORPUS))


def test_a_misspelt_word_becomes_the_nearest_corpus_word_with_its_case():
    spell = _speller()
    assert spell.correct("When was the alliance estabilshed?") == "When was the alliance established?"
    assert spell.correct("Why did Uzbekstan withdraw?") == "Why did Uzbekistan withdraw?"
    assert spell.correct("TASHKNET") == "TASHKENT"


def test_words_english_or_the_corpus_knows_are_never_changed():
    spell = _speller()
    for text in ("What about Ukraine and Belarus?", "Is it a treaty or a pact?", "Who is Kazakhstan's ally?"):
        assert spell.correct(text) == text
    # a short word (under three letters) is left alone, and so is a word with no corpus word near enough
    assert spell.correct("Is Xq zzzzzzzz?") == "Is Xq zzzzzzzz?"


def test_one_edit_for_short_words_two_for_long_ones():
    spell = Speller(lambda: count_words(["state organization"]))
    assert spell.correct("stte") == "state"  # 4 letters, one edit
    assert spell.correct("stt") == "stt"  # 3 letters, two edits away: kept
    assert spell.correct("orgnisation") == "organization"  # 11 letters, two edits


def test_the_corpus_words_are_read_once_on_first_need():
    read = []
    spell = Speller(lambda: read.append(1) or count_words(CORPUS))
    assert read == []  # not when the speller is made (a page or process that never asks never reads them)
    assert spell.correct("When was it founded?") == "When was it founded?"
    spell.correct("Why did Uzbekstan leave?")
    spell.correct("Why did Kazakstan stay?")
    assert read == [1]


def test_a_misspelt_question_is_answered_as_the_well_spelt_one(assistant):
    right = assistant.ask("Which treaty established the alliance, and in which year?")
    wrong = assistant.ask("Which traety estabilshed the aliance, and in which yaer?")
    assert wrong.text == right.text and "Tashkent" in wrong.text
    assert assistant.parse("Which traety estabilshed the aliance?").text == "Which treaty established the alliance?"

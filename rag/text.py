"""Small text helpers shared by the stages: words, stemmed content words, years."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from rag.lexicon import lexicon

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_NUMBER = re.compile(r"\d")
_STEMMER = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _WORD.findall(text.lower().replace("*", ""))


@lru_cache(maxsize=65536)
def content_words(text: str) -> tuple[str, ...]:
    """Stemmed words of a text that are not stop words, in order, without repeats."""
    stop = lexicon().stopwords
    bare = (w.split("'")[0].split("’")[0] for w in words(text))  # "the author's" -> "author"
    out = [_STEMMER.stemWord(w) for w in bare if w not in stop and len(w) > 1]
    return tuple(dict.fromkeys(out))


def years(text: str) -> list[int]:
    """Four-digit years (1800–2099) named in a text."""
    return [int(y) for y in _YEAR.findall(text)]


def has_number(text: str) -> bool:
    """Whether a text holds a digit."""
    return bool(_NUMBER.search(text))


def has_amount(text: str) -> bool:
    """Whether a text gives an amount: a numeral that is not a year ("51.1%", "360 tons"), or a number word ("four
    members", "hundreds of")."""
    rest = _YEAR.sub(" ", text)
    return bool(_NUMBER.search(rest)) or bool(lexicon().amount_words.search(rest))


_FIGURE = re.compile(r"\d+(?:\.\d+)?")
_RANGE = re.compile(r"\d+\s*[-–]\s*(?=\d)")


def figures(question: str) -> tuple[str, ...]:
    """The figures a question names ("Protocol 3", "the 2 largest"), without years and without the count of
    sentences it asks for ("in 2-3 sentences")."""
    rest = lexicon().count.sub(" ", _RANGE.sub(" ", question))
    return tuple(dict.fromkeys(_FIGURE.findall(_YEAR.sub(" ", rest))))


def stated_figures(text: str) -> set[str]:
    """The figures a text states, as numerals or as number words ("two" -> "2")."""
    said = set(_FIGURE.findall(text))
    return said | {str(v) for k, v in lexicon().number_words.items() if re.search(rf"\b{k}\b", text, re.I)}


def counts_years(question: str) -> bool:
    """Whether a question counts years ("how many years lay between the pact and its charter"): years then give its
    amount."""
    return bool(lexicon().year_units.search(question))


def names_place(text: str) -> bool:
    """Whether a text names a place: a capitalised name after a locative preposition ("based in Moscow")."""
    return bool(lexicon().place_named.search(text))

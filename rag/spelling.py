"""Typos in a question: a word that is neither in the corpus nor in an English dictionary is taken for a misspelling
and replaced by the nearest word of the corpus ("Uzbekstan" -> "Uzbekistan", "estabilshed" -> "established").

The nearest word is found by SymSpell (symspellpy, with the English frequency dictionary it ships) among the corpus's
words, the more frequent first, within Lucene's "AUTO" fuzziness: one edit for a word of up to five letters, two for
a longer one; words of fewer than three letters are left alone. A word the corpus or English knows is never changed
(a question about a place the article never names keeps its name, so it can still be refused), and a word with no
corpus word near enough stays as typed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from index.vocabulary import WORD

_POSSESSIVE = re.compile(r"(.+?)(['’]s)?$")
_ONE_EDIT_UP_TO = 5  # Lucene AUTO fuzziness: 0 edits below 3 letters, 1 for 3-5, 2 beyond
_SHORTEST = 3


@lru_cache(maxsize=1)
def english() -> frozenset[str]:
    """The words of the English frequency dictionary symspellpy ships."""
    from importlib.resources import files

    text = (files("symspellpy") / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(text.split()[::2])  # "word count" per line


def _same_case(typed: str, word: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if typed[:1].isupper() else word


class Speller:
    """Corrects the typos of a question against the words of one corpus: `words()` gives their counts (counted at
    index time, index/vocabulary.py), read on first need."""

    def __init__(self, words: Callable[[], Counter[str]]) -> None:
        self._words = words
        self._counts: Counter[str] | None = None
        self._symspell: Any = None

    def _corpus(self) -> Counter[str]:
        if self._counts is None:
            self._counts = self._words()
        return self._counts

    def _nearest(self, word: str, edits: int) -> str | None:
        from symspellpy import SymSpell, Verbosity

        if self._symspell is None:
            symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
            for known, count in self._corpus().items():
                symspell.create_dictionary_entry(known, count)
            self._symspell = symspell
        found = self._symspell.lookup(word, Verbosity.TOP, max_edit_distance=edits)
        return str(found[0].term) if found else None

    def _fix(self, typed: str) -> str:
        stem, possessive = _POSSESSIVE.match(typed).groups()  # type: ignore[union-attr]
        if possessive:
            return self._fix(stem) + possessive
        word = typed.lower()
        if len(word) < _SHORTEST or word in self._corpus() or word in english():  # the corpus's list is the shorter
            return typed
        nearest = self._nearest(word, 1 if len(word) <= _ONE_EDIT_UP_TO else 2)
        return _same_case(typed, nearest) if nearest else typed

    def correct(self, text: str) -> str:
        """The text with its misspelt words replaced."""
        return WORD.sub(lambda m: self._fix(m.group(0)), text)


__all__ = ["Speller", "english"]

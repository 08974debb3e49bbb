"""Check generated sentences against the numbered passages they cite (pure functions, no model).

A generated sentence is *supported* when all of these hold:

- it cites at least one passage with ``[n]``, ``[n, m]`` or ``[n][m]`` markers, and every number it cites is one
  of the passages (a sentence citing a passage that does not exist is unsupported, even next to a real one);
- every number in it (digits: years, percentages, counts) appears in the cited passages' text;
- every capitalised name in it (a word starting with a capital letter, not the sentence's first word, not in a
  small stoplist of function words) appears in the cited passages, case-insensitively;
- at least 60 % of its distinct content words (``rag.text.content_words``) are among the cited passages'
  content words.

The cited passages are checked together: a sentence citing ``[1][3]`` may take its date from passage 1 and its
name from passage 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import content_words

MIN_COVERAGE = 0.6

_MARKER = re.compile(r"\[\s*(\d+(?:\s*(?:[,;]|[-–])\s*\d+)*)\s*\]")
_MARK = r"\[\s*\d+(?:\s*(?:[,;]|[-–])\s*\d+)*\s*\]"
_CLOSE = "[\"”’')]*"
# a sentence ends at . ! ? (then closing quotes and any markers) or at markers (then optional punctuation),
# when what follows is the end of the text or whitespace and a capital letter / opening quote
_SENTENCE_END = re.compile(
    rf"(?:[.!?]+{_CLOSE}(?:\s*{_MARK})*|(?:\s*{_MARK})+(?:\s*[.!?]+{_CLOSE})?)(?=\s+[A-Z\"“‘(]|\s*$)"
)
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|cf|vs|etc|pp?|no|vol|ed|eds|dr|mr|mrs|ms|st|jr|al|approx)\.|"
    r"\b[A-Z]\.|\b(?:[A-Z]\.){2,})$",
    re.I,
)


def ends_with_abbreviation(text: str) -> bool:
    """Whether `text` ends with an abbreviation's full stop ("i.e.", "e.g.", "U.S."), not a sentence's."""
    return _ABBREVIATION.search(text) is not None


_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_NAME_STOPWORDS = """a an the this that these those it its he she his her they them their we our you your i in on at
    as for to of by with from into and or but nor not no yes so if then than there here also however according
    after before while when where which who whom whose what why how since during although though because both
    each some many most all any one such thus therefore furthermore moreover still yet only besides overall"""
NAME_STOPLIST = frozenset(_NAME_STOPWORDS.split())
"""Capitalised words that are not names when they open a clause inside a sentence."""


@dataclass(frozen=True)
class VerifiedSentence:
    """A generated sentence with the passages it cites and whether they support it."""

    text: str
    """The sentence as generated, markers included."""
    claim: str
    """The sentence without its markers (what is checked and quoted)."""
    cited: tuple[int, ...]
    """Passage numbers it cites, in order, without repeats."""
    supported: bool
    reasons: tuple[str, ...]
    """Why it is unsupported (empty when supported)."""
    coverage: float
    """Share of its content words found in the cited passages (0 when it cites none)."""

    @property
    def reason(self) -> str:
        """The reasons in one line."""
        return "; ".join(self.reasons)


def cited_numbers(sentence: str) -> list[int]:
    """Passage numbers of the [n], [n, m], [n][m] and [n-m] markers of a sentence, in order, without repeats."""
    out: list[int] = []
    for group in _MARKER.findall(sentence):
        for part in re.split(r"\s*[,;]\s*", group):
            bounds = re.split(r"\s*[-–]\s*", part)
            lo, hi = int(bounds[0]), int(bounds[-1])
            numbers = range(lo, hi + 1) if 0 <= hi - lo <= 20 else (lo, hi)
            out.extend(n for n in numbers if n not in out)
    return out


def strip_markers(sentence: str) -> str:
    """The sentence without its [n] markers, spaces tidied, ending with punctuation."""
    text = _MARKER.sub("", sentence)
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split())).strip()
    if text and text[-1] not in ".!?\"”’')":
        text += "."
    return text


def _numbers(text: str) -> set[str]:
    return {m.replace(",", "") for m in _NUMBER.findall(text)}


def _names(claim: str) -> list[str]:
    """Capitalised words that are not the first word of the sentence and not function words."""
    names = []
    for i, m in enumerate(_TOKEN.finditer(claim)):
        word = re.sub(r"['’]s?$", "", m.group(0)).strip("-")
        if i == 0 or len(word) < 2 or not word[0].isupper() or word.lower() in NAME_STOPLIST:
            continue
        names.append(word)
    return names


def _mentions(text_lower: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word.lower())}(?![a-z])", text_lower) is not None


def _name_found(text_lower: str, name: str) -> bool:
    if _mentions(text_lower, name):
        return True
    parts = [p for p in name.split("-") if p]
    return len(parts) > 1 and all(_mentions(text_lower, p) for p in parts if p[0].isupper())


def verify_sentence(sentence: str, passages: dict[int, str]) -> VerifiedSentence:
    """Check one generated sentence (with its markers) against the numbered passages."""
    claim = strip_markers(sentence)
    cited = tuple(cited_numbers(sentence))
    reasons: list[str] = []
    missing = [n for n in cited if n not in passages]
    if not cited:
        reasons.append("cites no passage")
    if missing:
        reasons.append(
            f"cites {', '.join(f'[{n}]' for n in missing)}, which {'is' if len(missing) == 1 else 'are'} "
            "not among the passages"
        )
    source = " ".join(passages[n] for n in cited if n in passages)
    if not source:
        return VerifiedSentence(sentence.strip(), claim, cited, False, tuple(reasons), 0.0)
    low = source.lower()
    wrong_numbers = sorted(_numbers(claim) - _numbers(source))
    if wrong_numbers:
        reasons.append(f"number(s) {', '.join(wrong_numbers)} not in the cited passages")
    unknown = [n for n in dict.fromkeys(_names(claim)) if not _name_found(low, n)]
    if unknown:
        reasons.append(f"name(s) {', '.join(unknown)} not in the cited passages")
    words = set(content_words(claim))
    coverage = len(words & set(content_words(source))) / len(words) if words else 0.0
    if not words:
        reasons.append("no content words to check")
    elif coverage < MIN_COVERAGE:
        reasons.append(f"only {coverage:.0%} of its content words are in the cited passages")
    return VerifiedSentence(sentence.strip(), claim, cited, not reasons, tuple(reasons), coverage)


def split_generated(text: str) -> list[str]:
    """Sentences of a generated answer, each with its trailing [n] markers (bullets and blank lines removed)."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        start = 0
        for m in _SENTENCE_END.finditer(line):
            if m.group(0)[0] == "." and _ABBREVIATION.search(line[start : m.start() + 1]):
                continue  # "e.g. The", "U.S. President", "R. Weitz": not a sentence end
            piece = line[start : m.end()].strip()
            if piece:
                sentences.append(piece)
            start = m.end()
        rest = line[start:].strip()
        if rest and any(ch.isalnum() for ch in rest):
            sentences.append(rest)
        elif rest and sentences:
            sentences[-1] += rest
    return sentences


def verify_answer(text: str, passages: dict[int, str]) -> list[VerifiedSentence]:
    """Verify every sentence of a generated answer."""
    return [verify_sentence(s, passages) for s in split_generated(text)]

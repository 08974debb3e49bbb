"""Acronyms the article defines ("Shanghai Cooperation Organization (SCO)"), so that a question using one form
finds text using the other: BM25 gets both forms, and sentence vectors are computed with the long forms glossed."""

from __future__ import annotations

import re

_DEFINED = re.compile(r"((?:[A-Z][\w\-’']+\s+(?:(?:of|on|and|the|for)\s+)?)+[A-Z][\w\-’']+)\s+\(([A-Z]{2,6})\)")


def _spelled(name: str, acronym: str) -> str:
    """The longest tail of a capitalised run whose initials spell the acronym ("the CSTO's Collective Rapid
    Reaction Forces" for CRRF -> "Collective Rapid Reaction Forces"); '' when none does."""
    words = name.split()
    for i in range(len(words)):
        if "".join(w[0] for w in words[i:] if w[0].isupper()) == acronym:
            return " ".join(words[i:])
    return ""


def acronyms(texts: list[str]) -> dict[str, str]:
    """Acronyms the corpus defines, "Shanghai Cooperation Organization (SCO)" -> {"SCO": "Shanghai ..."}: the
    initials of the long form's capitalised words must spell the acronym; one named in a third of the texts or
    more (the corpus's subject) is left out."""
    table: dict[str, str] = {}
    for text in texts:
        for m in _DEFINED.finditer(text):
            long = _spelled(m.group(1), m.group(2))
            if long:
                table.setdefault(m.group(2), long)
    common = {a for a in table if sum(bool(re.search(rf"\b{a}\b", t)) for t in texts) >= len(texts) / 3}
    return {a: long for a, long in table.items() if a not in common}  # "CSTO" is in every other passage


def expand(query: str, table: dict[str, str]) -> str:
    """The query with each defined acronym's long form added, and each long form's acronym (for BM25); a long form
    called by its first words and a word for a body ("the Shanghai group") gets both."""
    extra = []
    for short, long in table.items():
        if re.search(rf"\b{short}\b", query) and long.lower() not in query.lower():
            extra.append(long)
        elif long.lower() in query.lower() and not re.search(rf"\b{short}\b", query):
            extra.append(short)
        elif called_by_part(query, long):
            extra += [long, short]
    return " ".join([query, *extra])


_BODY = r"(?:group|grouping|bloc|body|club|organi[sz]ation|alliance|pact|outfit|union)s?"


def called_by_part(text: str, long: str) -> bool:
    """Whether a text calls a long form by its first word(s) and a word for a body: "the Shanghai group", "the
    Shanghai bloc" for the Shanghai Cooperation Organization (the long form's own last word does not count)."""
    words = long.split()
    for n in range(1, len(words) - 1):
        lead = r"\s+".join(re.escape(w) for w in words[:n])
        if re.search(rf"\b{lead}\s+{_BODY}\b", text, re.I):
            return True
    return False


def gloss(sentence: str, table: dict[str, str]) -> str:
    """The text to embed for a sentence: itself, plus the long form of each defined acronym it uses bare."""
    extra = [
        long
        for short, long in table.items()
        if re.search(rf"\b{short}\b", sentence) and long.lower() not in sentence.lower()
    ]
    return f"{sentence} ({'; '.join(extra)})" if extra else sentence


# "Collective Security Treaty Organization (CSTO) or *Organizacija Dogovora o Kollektivnoj Bezopasnosti* (ODKB)": a
# name given with its acronym, then in its own language (the article italicises foreign words) with that acronym
_ALIAS = re.compile(_DEFINED.pattern + r"\s+or\s+\*([^*]{3,160})\*\s+\(([A-Z]{2,6})\)")


def aliases(text: str) -> list[tuple[str, str, str, str]]:
    """The foreign names a text gives for a name it defines with an acronym, as (name, acronym, foreign name,
    foreign acronym): [("Collective Security Treaty Organization", "CSTO", "Organizacija ...", "ODKB")]."""
    return [
        (_spelled(m.group(1), m.group(2)) or m.group(1), m.group(2), " ".join(m.group(3).split()), m.group(4))
        for m in _ALIAS.finditer(text)
    ]

"""The answer path's language knowledge, read once from rag/data/lexicon.toml (word lists and cue phrases)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def whole_words(patterns: list[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of the phrases as whole words."""
    return re.compile(r"(?<![\w'])(?:" + "|".join(f"(?:{p})" for p in patterns) + r")(?![\w])", re.I)


@dataclass(frozen=True)
class Part:
    """A part of the article a question may name: its cue phrases and the section titles it covers."""

    name: str
    cue: re.Pattern[str]
    sections: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Compiled word lists and cues."""

    stopwords: frozenset[str]
    lead_in: re.Pattern[str]
    fillers: re.Pattern[str]
    question_tag: re.Pattern[str]
    pointing_back: re.Pattern[str]
    summary: re.Pattern[str]
    thesis: re.Pattern[str]
    summary_fillers: str  # words (space-separated) that go with a summary request without naming a topic
    count: re.Pattern[str]
    number_words: dict[str, int]
    parts: tuple[Part, ...]
    answer_types: dict[str, re.Pattern[str]]
    place_asked: re.Pattern[str]  # a question asks where
    place_named: re.Pattern[str]  # a text names a place: a capitalised name after a lower-case locative preposition
    amount_words: re.Pattern[str]
    year_units: re.Pattern[str]  # a question counting years ("how many years")
    reporting: re.Pattern[str]  # a reporting verb ("argues", "contends"): someone's view is asked
    card_fields: dict[str, tuple[str, ...]]  # a bibliography field -> the words a question names it by
    connectors: frozenset[str]  # words a bare topic may hold besides content words ("the Collective Air Defense")
    itself: dict[str, str]  # a pronoun that opens a conversation -> the article it can only point at
    bare_words: int  # the most words a bare topic has


@cache
def lexicon(path: Path = DATA / "lexicon.toml") -> Lexicon:
    """The lexicon (read and compiled once per process)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    lead = r"^(?:(?:" + "|".join(raw["lead_ins"]) + r")(?![\w'])[\s,.!:;—–-]*)+"
    return Lexicon(
        stopwords=frozenset(raw["stopwords"].split()),
        lead_in=re.compile(lead, re.I),
        fillers=re.compile(r"(?<![\w'])(?:" + "|".join(raw["fillers"]) + r")(?![\w'])\s*", re.I),
        question_tag=re.compile(r"\s*,\s*(?:" + "|".join(raw["question_tags"]) + r")\s*\?\s*$", re.I),
        pointing_back=whole_words(raw["pointing_back"]),
        summary=whole_words(raw["summary_cues"]),
        thesis=whole_words(raw["thesis_cues"]),
        summary_fillers=" ".join(raw["summary_fillers"]),
        count=re.compile(raw["count_pattern"], re.I),
        number_words={k.replace("_", " "): int(v) for k, v in raw["number_words"].items()},
        answer_types={kind: whole_words(cues) for kind, cues in raw["answer_types"].items()},
        place_asked=whole_words(raw["place_cues"]),
        place_named=re.compile(r"\b(?:" + "|".join(raw["locatives"]) + r")\s+(?:the\s+)?[A-Z][a-z]+"),
        amount_words=whole_words(raw["amount_words"]),
        year_units=whole_words(raw["year_units"]),
        reporting=whole_words(raw["reporting_verbs"]),
        card_fields={name: tuple(words) for name, words in raw["card_fields"].items()},
        connectors=frozenset(raw["bare_topic"]["connectors"]),
        itself=dict(raw["itself"]["pronouns"]),
        bare_words=int(raw["bare_topic"]["max_words"]),
        parts=tuple(
            Part(name, whole_words(spec["cues"]), tuple(spec["sections"])) for name, spec in raw["parts"].items()
        ),
    )

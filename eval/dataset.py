"""Evaluation dataset schema, loader and text normalisation helpers."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "CATEGORIES",
    "DatasetError",
    "EvalItem",
    "Turn",
    "fold",
    "fold_loose",
    "load_dataset",
]

Category = Literal[
    "fact",
    "number_date",
    "list",
    "attribution",
    "bibliography",
    "synthesis",
    "multi_turn",
    "unanswerable",
]
CATEGORIES: tuple[str, ...] = get_args(Category)


class DatasetError(ValueError):
    """Raised when a dataset file cannot be parsed or validated."""


class Turn(BaseModel):
    """One prior conversation turn of a multi-turn question."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


class EvalItem(BaseModel):
    """One evaluation question with its reference answer and grounding."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    history: list[Turn] = Field(default_factory=list)
    answerable: bool
    reference_answer: str
    key_facts: list[list[str]]
    evidence: list[str]
    cited_sources: list[str]
    category: Category


def load_dataset(path: str | Path) -> list[EvalItem]:
    """Read a JSONL dataset, validating every line and rejecting duplicate ids."""
    path = Path(path)
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from exc
            try:
                item = EvalItem.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(part) for part in first["loc"]) or "<root>"
                raise DatasetError(f"{path}:{lineno}: schema error at {loc}: {first['msg']}") from exc
            if item.id in seen:
                first_line = seen[item.id]
                raise DatasetError(f"{path}:{lineno}: duplicate id {item.id!r} (first on line {first_line})")
            seen[item.id] = lineno
            items.append(item)
    return items


_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
_UNDERSCORE_EMPHASIS_RE = re.compile(r"(?<!\w)_+|_+(?!\w)")
_WS_RE = re.compile(r"\s+")
_QUOTE_TABLE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)


def fold(text: str) -> str:
    """Normalise text for quote matching: NFKC, casefold, no markup, plain quotes."""
    text = unicodedata.normalize("NFKC", text)
    text = _ESCAPE_RE.sub(r"\1", text)
    text = text.replace("*", "")
    text = _UNDERSCORE_EMPHASIS_RE.sub("", text)
    text = text.translate(_QUOTE_TABLE).casefold()
    return _WS_RE.sub(" ", text).strip()


def fold_loose(text: str) -> str:
    """Fold, strip accents and punctuation, keeping only letters, digits and spaces."""
    text = unicodedata.normalize("NFKD", fold(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text)
    return _WS_RE.sub(" ", text).strip()

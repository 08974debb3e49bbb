"""The corpus's words, counted once at index time (gen-N/words.json) for the question's spelling (rag/spelling.py):
how often each word occurs, lower-cased."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]")


def count_words(texts: Iterable[str]) -> Counter[str]:
    """Each lower-cased word's count."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in WORD.findall(text))
    return counts


def write_words(path: Path, texts: Iterable[str]) -> None:
    """Count the words of `texts` into `path`."""
    path.write_text(json.dumps(dict(count_words(texts))), encoding="utf-8")


def read_words(path: Path) -> Counter[str]:
    """What `write_words` wrote."""
    return Counter(json.loads(path.read_text(encoding="utf-8")))


__all__ = ["WORD", "count_words", "read_words", "write_words"]

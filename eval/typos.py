"""Make the typo set: `python -m eval.typos` writes eval/sets/dev-typos.jsonl, the gated set's questions with one
or two typing slips each (answers unchanged), to measure whether a misspelt question still finds its answer.

A slip is one of the four edits spell-checkers model (Damerau): a letter dropped, doubled, swapped with the next one,
or replaced by a neighbour on the keyboard. It hits words of five letters or more, at most two per question, never a
word's first letter (people rarely miss that one). Seeded: the file is the same on every run.
"""

from __future__ import annotations

import json
import random
import re

from eval.sets import SETS_DIR

SEED = 25
SOURCE = SETS_DIR / "dataset.jsonl"
TARGET = SETS_DIR / "dev-typos.jsonl"
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_WORD = re.compile(r"[A-Za-z]{5,}")


def _neighbours(ch: str) -> str:
    for row in _ROWS:
        i = row.find(ch.lower())
        if i >= 0:
            return row[max(0, i - 1) : i] + row[i + 1 : i + 2]
    return ch


def slip(word: str, rng: random.Random) -> str:
    """The word with one typing slip (its first letter kept)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap", "neighbour"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[: i + 1] + word[i:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice(_neighbours(word[i])) + word[i + 1 :]


def misspell(question: str, rng: random.Random) -> str:
    """The question with one or two of its longer words slipped."""
    spans = [m.span() for m in _WORD.finditer(question)]
    if not spans:
        return question
    chosen = sorted(rng.sample(spans, min(len(spans), rng.choice((1, 2)))), reverse=True)
    for s, e in chosen:
        question = question[:s] + slip(question[s:e], rng) + question[e:]
    return question


def main() -> None:
    rng = random.Random(SEED)
    lines = []
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("history"):
            continue  # a follow-up's meaning rests on its conversation: kept out
        item["id"] = f"typo-{item['id']}"
        item["question"] = misspell(item["question"], rng)
        lines.append(json.dumps(item, ensure_ascii=False))
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} questions to {TARGET}")


if __name__ == "__main__":
    main()

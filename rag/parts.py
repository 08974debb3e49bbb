"""The parts of the article a question may name (abstract, introduction, conclusion, author note, front matter),
as sets of passage ids, from the lexicon's section lists."""

from __future__ import annotations

import re

from index.types import Passage
from rag.lexicon import lexicon
from rag.text import content_words

_LAST_PARAGRAPHS = "last"  # the closing paragraphs of the final section (the article has no "Conclusion" heading)
CLOSING = 2


def body(passages: dict[str, Passage]) -> list[Passage]:
    """The article's paragraphs in reading order."""
    return sorted((p for p in passages.values() if p.kind == "article"), key=lambda p: p.start)


def part_ids(passages: dict[str, Passage]) -> dict[str, set[str]]:
    """Passage ids of each named part."""
    text = body(passages)
    paragraphs = [p for p in text if p.paragraph and p.section not in ("Title", "About the author", "Summary")]
    out: dict[str, set[str]] = {}
    for part in lexicon().parts:
        ids: set[str] = set()
        for section in part.sections:
            if section == _LAST_PARAGRAPHS and paragraphs:
                last = [p for p in paragraphs if p.section == paragraphs[-1].section]
                ids |= {p.id for p in last[-CLOSING:]}
            else:
                ids |= {p.id for p in text if p.section == section}
        out[part.name] = ids
    return out


def subject_title(passages: dict[str, Passage]) -> str:
    """What the whole article is about, as its title names it: the title's main part (before a colon, from the title
    page), without a leading "The" ("Collective Security Treaty Organization"); "" without a title page."""
    quoted = (re.search(r"“([^”]+)”", p.text) for p in body(passages) if p.section == "Title")
    title = next((m.group(1) for m in quoted if m), "")
    return title.split(":")[0].strip().removeprefix("The ").strip()


def subject_words(passages: dict[str, Passage]) -> frozenset[str]:
    """Content words naming what the whole article is about: its title's main part (subject_title) and the acronym the
    article defines for it ("Collective Security Treaty Organization (CSTO)")."""
    article = body(passages)
    main = subject_title(passages)
    words = set(content_words(main))
    if main:
        for p in article:
            if m := re.search(re.escape(main) + r"\s+\(([A-Z]{2,8})\)", p.text):
                words.add(m.group(1).lower())
                break
    return frozenset(words)

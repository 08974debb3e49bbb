"""Parse the shipped article: front matter, headings, paragraphs (page-break halves joined), bibliography lines.

The text is a plain rendering of a journal PDF: blocks are separated by blank lines, a page break splits some
paragraphs mid-sentence with a blank line, headings are single short lines. Everything keeps character offsets into
the original file so that a passage can always be shown in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_BLOCK = re.compile(r"[^\n](?:.|\n(?!\s*\n))*", re.MULTILINE)
_SENTENCE_END = (".", "?", "!", '"', "”", "’", "'", ")")
_SUBSECTION = re.compile(r"^(?:[ivx]+):\s+\S")


@dataclass(frozen=True)
class Block:
    """A run of non-blank lines with its offsets in the file."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph: one or more blocks (page-break halves) joined with a space."""

    text: str
    section: str
    subsection: str
    number: int
    start: int
    end: int
    joins: tuple[int, ...] = ()  # offsets in `text` where a page break was replaced by one space
    gaps: tuple[int, ...] = ()  # length in the file of each replaced page break (blank line included)

    def file_offset(self, i: int) -> int:
        """Map an offset in `text` to an offset in the article file."""
        shift = sum(gap - 1 for j, gap in zip(self.joins, self.gaps, strict=True) if i > j)
        return self.start + i + shift


@dataclass(frozen=True)
class Article:
    """The parsed article."""

    path: Path
    raw: str
    title: str
    journal: str
    issue: str
    issn: str
    author: str
    affiliation: str
    summary: Paragraph
    keywords: list[str]
    keywords_block: Block
    front_matter: Block
    affiliation_block: Block
    paragraphs: list[Paragraph]
    headings: list[Block]
    bibliography_blocks: list[Block]


def split_blocks(text: str) -> list[Block]:
    """Split on blank lines, keeping offsets."""
    out = []
    for m in _BLOCK.finditer(text):
        chunk = m.group(0).rstrip()
        if chunk.strip():
            out.append(Block(chunk, m.start(), m.start() + len(chunk)))
    return out


def is_heading(block: Block) -> bool:
    """A single short line with no sentence-final punctuation (a question mark is allowed)."""
    line = block.text.strip()
    if "\n" in line or len(line) > 80 or not line:
        return False
    if line.endswith((".", ",", ";", ":", "”", '"')) or line.startswith(("-", "*", "©", "<", "(")):
        return False
    return line[0].isupper() or bool(_SUBSECTION.match(line))


def _continues(prev: str, nxt: str) -> bool:
    """True when `nxt` is the second half of a paragraph a page break split after `prev`."""
    return not prev.rstrip().endswith(_SENTENCE_END) and nxt[:1].islower()


def parse_article(path: Path) -> Article:
    """Parse the article file into its structure."""
    raw = path.read_text(encoding="utf-8")
    blocks = split_blocks(raw)
    texts = [b.text.strip() for b in blocks]
    try:
        i_summary = texts.index("Summary")
        i_biblio = texts.index("Bibliography")
    except ValueError as exc:
        raise ValueError(f"{path}: no 'Summary' or 'Bibliography' heading; is this the Lacroix article?") from exc
    head = blocks[:i_summary]
    issn = next((t.split(":", 1)[1].strip() for t in texts[:i_summary] if t.startswith("ISSN")), "")
    issue = next((t for t in texts[:i_summary] if t.upper().startswith("ISSUE")), "")
    journal = next((" ".join(t.split()) for t in texts[:i_summary] if "JOURNAL" in t), "")
    author_line = next((t for t in texts[:i_summary] if t.endswith("*")), "")
    title = next(
        (
            t
            for t in texts[:i_summary]
            if t not in (issue, journal, author_line) and not t.startswith("ISSN") and "JOURNAL" not in t
        ),
        "",
    )
    front = Block(raw[head[0].start : head[-1].end], head[0].start, head[-1].end)
    summary_block = blocks[i_summary + 1]
    summary = Paragraph(summary_block.text, "Summary", "", 1, summary_block.start, summary_block.end)
    kw_block = blocks[i_summary + 2]
    keywords = [k.strip(" .") for k in kw_block.text.split(":", 1)[1].split(",")]
    body = blocks[i_summary + 3 : i_biblio]
    tail = blocks[i_biblio + 1 :]
    bib = [b for b in tail if not b.text.startswith("***") and not b.text.startswith("©")]
    aff = next(b for b in tail if b.text.startswith("***"))
    affiliation = re.sub(r"^\*+[^*]+\*+\s*-\s*", "", aff.text).strip()
    paragraphs, headings = _paragraphs(raw, body)
    return Article(
        path=path,
        raw=raw,
        title=title,
        journal=journal,
        issue=issue,
        issn=issn,
        author=author_line.rstrip("*").strip(),
        affiliation=affiliation,
        summary=summary,
        keywords=keywords,
        keywords_block=kw_block,
        front_matter=front,
        affiliation_block=aff,
        paragraphs=paragraphs,
        headings=headings,
        bibliography_blocks=bib,
    )


def _paragraphs(raw: str, body: list[Block]) -> tuple[list[Paragraph], list[Block]]:
    section, subsection, number = "", "", 0
    paragraphs: list[Paragraph] = []
    headings: list[Block] = []
    pending: list[Block] = []

    def flush() -> None:
        nonlocal number
        if not pending:
            return
        number += 1
        text, joins, gaps = pending[0].text, [], []
        for prev, nxt in zip(pending, pending[1:], strict=False):
            joins.append(len(text))
            gaps.append(nxt.start - prev.end)
            text = f"{text} {nxt.text}"
        paragraphs.append(
            Paragraph(text, section, subsection, number, pending[0].start, pending[-1].end, tuple(joins), tuple(gaps))
        )
        pending.clear()

    for block in body:
        if is_heading(block):
            flush()
            headings.append(block)
            title = block.text.strip()
            if _SUBSECTION.match(title):
                subsection = title
            else:
                section, subsection = title, ""
            number = 0
            continue
        if pending and _continues(pending[-1].text, block.text):
            pending.append(block)
            continue
        flush()
        pending.append(block)
    flush()
    return paragraphs, headings


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text`, by nupunkt (a maintained Punkt splitter that knows abbreviations such
    as "et al." and "i.e."), without the whitespace between sentences. A sentence ends only where whitespace
    follows: "drills ![map](…) were held" is one sentence."""
    import nupunkt

    merged: list[list[int]] = []
    for start, end in nupunkt.sent_spans(text):
        if merged and merged[-1][1] == start and start > 0 and not text[start - 1].isspace():
            merged[-1][1] = end
        else:
            merged.append([start, end])
    spans = []
    for start, end in merged:
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        if start < end:
            spans.append((start, end))
    return spans

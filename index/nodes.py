"""A passage as llama-index sees it (a TextNode) and the sentences a passage is read as."""

from __future__ import annotations

import re
from typing import Any

from index.article import split_sentences
from index.types import Passage

_EMBED_KEYS = ("section", "subsection")


_LEANS_ON_PREVIOUS = re.compile(
    r"(?:It|Its|They|Their|Them|This|These|That|Those|Such|He|She|His|Her|However|Therefore|Thus|Consequently|"
    r"Nevertheless|Nonetheless|Accordingly|Hence|Concurrently|Further|Furthermore|Moreover|Additionally|Instead)\b"
)


def passage_sentences(p: Passage) -> list[tuple[int, int]]:
    """Sentence spans of a passage; a source card's descriptive lines count as sentences (its list of citing
    sentences repeats article sentences, which are quoted from the article passages instead)."""
    if p.kind == "source_card":
        spans, pos = [], 0
        for line in p.text.split("\n"):
            if line.startswith(("Cited in the article", "- ", "The article lists")):
                break
            if line.strip():
                spans.append((pos, pos + len(line)))
            pos += len(line) + 1
        return spans
    return split_sentences(p.text)


def to_node(p: Passage, embedding: list[float] | None = None) -> Any:
    """A llama-index TextNode for a passage; section headings are part of what is embedded and BM25-indexed."""
    from llama_index.core.schema import TextNode

    meta = {
        "kind": p.kind,
        "section": p.section,
        "subsection": p.subsection,
        "paragraph": p.paragraph,
        "source_key": p.source_key,
        "page": p.page,
    }
    return TextNode(
        id_=p.id,
        text=p.text,
        metadata=meta,
        embedding=embedding,
        excluded_embed_metadata_keys=[k for k in meta if k not in _EMBED_KEYS],
        excluded_llm_metadata_keys=list(meta),
    )

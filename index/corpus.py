"""Turn the article, its bibliography and any full texts of cited works into citable passages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from index.article import Article, Paragraph, parse_article, split_sentences
from index.bibliography import parse_bibliography
from index.citations import Resolver, find_citations
from index.fulltext import read_fulltexts
from index.types import CitationRef, Passage, SourceEntry, passage_id


class CorpusError(ValueError):
    """The corpus file is missing or cannot be parsed."""


@dataclass
class Corpus:
    """Everything the index is built from."""

    article: Article
    entries: list[SourceEntry]
    passages: list[Passage]
    warnings: list[str] = field(default_factory=list)

    def entry(self, key: str) -> SourceEntry | None:
        """The bibliography entry with this key."""
        return next((e for e in self.entries if e.key == key), None)


def _split_long(text: str, chunk_size: int, overlap: int) -> list[tuple[int, str]]:
    """Split a paragraph longer than chunk_size tokens with llama-index's SentenceSplitter; keep offsets."""
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=overlap)
    if len(splitter._tokenizer(text)) <= chunk_size:  # noqa: SLF001 - the splitter's own token counter
        return [(0, text)]
    out, cursor = [], 0
    for chunk in splitter.split_text(text):
        at = text.find(chunk, max(0, cursor - len(chunk)))
        at = at if at >= 0 else cursor
        out.append((at, chunk))
        cursor = at + len(chunk)
    return out


def _article_passages(
    article: Article, resolver: Resolver, chunk_size: int, overlap: int
) -> tuple[list[Passage], list[str]]:
    passages = _front_passages(article)
    warnings: list[str] = []
    for para in [article.summary, *article.paragraphs]:
        chunks, found = _paragraph_passages(para, resolver, chunk_size, overlap)
        passages.extend(chunks)
        warnings.extend(found)
    return passages, warnings


def _front_passages(article: Article) -> list[Passage]:
    """The title page and the author note, rendered as sentences a reader can quote."""
    fm = article.front_matter
    front_text = (
        f"The article “{article.title.title()}” is by {article.author.title()}. "
        f"It was published in the {article.journal.title()}, {article.issue.title()}, ISSN: {article.issn}. "
        f"Its key words are {', '.join(article.keywords)}."
    )
    aff = article.affiliation_block
    aff_text = f"About the author: {article.author.title()} — {article.affiliation}"
    return [
        Passage(
            id=passage_id("article", "front", 0, front_text),
            kind="article",
            text=front_text,
            section="Title",
            paragraph=1,
            start=fm.start,
            end=article.keywords_block.end,
        ),
        Passage(
            id=passage_id("article", "author", 0, aff_text),
            kind="article",
            text=aff_text,
            section="About the author",
            paragraph=1,
            start=aff.start,
            end=aff.end,
        ),
    ]


def _paragraph_passages(
    para: Paragraph, resolver: Resolver, chunk_size: int, overlap: int
) -> tuple[list[Passage], list[str]]:
    """One paragraph's chunks, each with the citations that fall inside it; and the citation warnings."""
    place = f"{para.section} › {para.subsection}" if para.subsection else para.section
    where = f"{place} ¶{para.number}"
    report = find_citations(para.text, 0, resolver, where)
    passages = []
    for chunk_no, (at, chunk) in enumerate(_split_long(para.text, chunk_size, overlap)):
        cites = [
            c.model_copy(update={"start": para.file_offset(c.start), "end": para.file_offset(c.end)})
            for c in report.citations
            if at <= c.start < at + len(chunk)
        ]
        passages.append(
            Passage(
                id=passage_id("article", where, chunk_no, chunk),
                kind="article",
                text=chunk,
                section=para.section,
                subsection=para.subsection,
                paragraph=para.number,
                start=para.file_offset(at),
                end=para.file_offset(at + len(chunk)),
                citations=cites,
            )
        )
    return passages, report.warnings


def citing_sentences(corpus_passages: list[Passage], key: str) -> list[tuple[Passage, str, str]]:
    """(passage, sentence, pages) for every article sentence that cites `key`."""
    out: list[tuple[Passage, str, str]] = []
    for p in corpus_passages:
        if p.kind != "article":
            continue
        for c in p.citations:
            if c.key != key:
                continue
            local = _local_offset(p, c)
            for s, e in split_sentences(p.text):
                if s <= local < e:
                    item = (p, p.text[s:e], c.pages)
                    if item not in out:
                        out.append(item)
                    break
    return out


def _local_offset(p: Passage, c: CitationRef) -> int:
    """Offset of a citation inside the passage text (the file may hold a page-break gap before it)."""
    surface_at = p.text.find(c.surface)
    return surface_at if surface_at >= 0 else max(0, c.start - p.start)


def source_card(entry: SourceEntry, cites: list[tuple[Passage, str, str]]) -> Passage:
    """A passage describing one cited work and where the article cites it."""
    lines = [
        entry.raw,  # the entry as printed in the bibliography, verbatim
        # "Weitz (2018). Weitz, Richard (2018). ..."; an organisation's label is already its full name
        f"{entry.label}. "
        + ("" if entry.organisation else f"{', '.join(entry.authors)} ({entry.year_label}). ")
        + f"{entry.reference()}.",
        f"Bibliography entry: {entry.label} — {entry.title}"
        + (f", published in {entry.container}" if entry.container else "")
        + (f" {entry.volume}" if entry.container and entry.volume else "")
        + (f"({entry.issue})" if entry.container and entry.issue else "")
        + (f": {entry.pages}" if entry.container and entry.pages else "")
        + (f", {entry.place}: {entry.publisher}" if entry.publisher else "")
        + (f", {entry.date}" if entry.date else "")
        + f". Type: {entry.kind}."
        + (f" URL: {entry.url}" if entry.url else ""),
    ]
    if cites:
        lines.append("Cited in the article:")
        for p, sentence, pages in cites:
            lines.append(f"- {p.location}" + (f" (p. {pages})" if pages else "") + f": {sentence}")
    else:
        lines.append("The article lists this work in its bibliography but never cites it in the text.")
    text = "\n".join(lines)
    return Passage(
        id=passage_id("source_card", entry.key, 0, text),
        kind="source_card",
        text=text,
        section=entry.label,
        source_key=entry.key,
        start=entry.start,
        end=entry.end,
        citations=[CitationRef(key=entry.key, pages="", surface=entry.label, start=entry.start, end=entry.end)],
    )


def load_corpus(corpus_path: Path, chunk_size: int = 300, overlap: int = 30, sources_dir: Path | None = None) -> Corpus:
    """Parse the article, resolve its citations, build source cards and read any full texts."""
    if not corpus_path.is_file():
        raise CorpusError(f"corpus file not found: {corpus_path}")
    try:
        article = parse_article(corpus_path)
        entries = parse_bibliography(article.bibliography_blocks)
    except (ValueError, UnicodeDecodeError, StopIteration, IndexError) as exc:
        raise CorpusError(f"cannot parse {corpus_path}: {exc}") from None
    resolver = Resolver(entries)
    passages, warnings = _article_passages(article, resolver, chunk_size, overlap)
    for entry in entries:
        passages.append(source_card(entry, citing_sentences(passages, entry.key)))
    if sources_dir is not None and sources_dir.is_dir():
        full, full_warnings = read_fulltexts(sources_dir, entries, chunk_size=chunk_size, overlap=overlap)
        passages.extend(full)
        warnings.extend(full_warnings)
    return Corpus(article=article, entries=entries, passages=passages, warnings=warnings)


def paragraph_of(article: Article, passage: Passage) -> Paragraph | None:
    """The article paragraph a passage lies in."""
    return next((p for p in article.paragraphs if p.start <= passage.start < p.end), None)

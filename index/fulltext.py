"""Read full texts of cited works that a user dropped in the sources folder and chunk them into passages.

A file belongs to a bibliography entry when its name is `<key>.<suffix>` (e.g. `weitz2018.pdf`) or when the
folder's optional `manifest.json` maps it to a key: `{"files": {"some-file.pdf": "weitz2018"}}`. PDFs are read
page by page (passages carry the PDF's page label), HTML through trafilatura, .txt/.md as UTF-8 (form feeds split
pages). Nothing here touches the network. Bad files never stop the others: each problem is one warning line that
names the file and says what to do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.types import Passage, SourceEntry, passage_id

SUFFIXES = (".pdf", ".html", ".htm", ".txt", ".md")
MANIFEST = "manifest.json"
_META_KEYS = ["source_key", "file", "page"]
_MANIFEST_EXAMPLE = '{"files": {"paper.pdf": "weitz2018"}}'


@dataclass(frozen=True)
class _Page:
    """One page of a full text: its label ('' when the file has no pages) and its text."""

    label: str
    text: str


def _read_manifest(sources_dir: Path, keys: set[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """File name -> key from manifest.json, the names it lists, and warnings for a bad manifest or unknown keys."""
    path = sources_dir / MANIFEST
    if not path.is_file():
        return {}, set(), []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, set(), [f"{path}: invalid manifest ({exc}); fix the JSON, e.g. {_MANIFEST_EXAMPLE}"]
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return {}, set(), [f'{path}: manifest needs a "files" object of file name -> key, e.g. {_MANIFEST_EXAMPLE}']
    mapping: dict[str, str] = {}
    warnings: list[str] = []
    for name, key in sorted(files.items()):
        if Path(name).name != name:
            warnings.append(f"{path}: {name!r} is not a plain file name; list files of {sources_dir} by name only")
        elif key not in keys:
            warnings.append(
                f"{path}: {name!r} is mapped to unknown bibliography key {key!r}; "
                f"use a key of the bibliography (e.g. 'weitz2018')"
            )
        elif not (sources_dir / name).is_file():
            warnings.append(f"{path}: {name!r} is listed but not in {sources_dir}; add the file or remove the line")
        else:
            mapping[name] = key
    return mapping, set(files), warnings


def _assign(sources_dir: Path, entries: list[SourceEntry]) -> tuple[dict[str, Path], list[str]]:
    """Key -> the file read for it (first in sorted order), plus warnings for ignored files."""
    keys = {e.key for e in entries}
    manifest, listed, warnings = _read_manifest(sources_dir, keys)
    chosen: dict[str, Path] = {}
    for path in sorted(p for p in sources_dir.iterdir() if p.is_file()):
        name = path.name
        if name.startswith(".") or name == MANIFEST:
            continue  # the fetch cache, partial downloads, editor files
        suffix = path.suffix.lower()
        key = manifest.get(name) or (path.stem if path.stem in keys and suffix in SUFFIXES else "")
        if not key and name in listed:
            continue  # already warned about its manifest line
        if not key:
            warnings.append(
                f"{path}: ignored, no bibliography key matches its name; rename it to <key>{suffix} "
                f"(e.g. weitz2018{suffix or '.pdf'}) or map it in {MANIFEST}"
            )
        elif suffix not in SUFFIXES:
            warnings.append(
                f"{path}: ignored, unsupported file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}"
            )
        elif key in chosen:
            warnings.append(
                f"{path}: ignored, {chosen[key].name} is already the full text of {key}; remove one of the two files"
            )
        else:
            chosen[key] = path
    return chosen, warnings


def list_fulltexts(sources_dir: Path, entries: list[SourceEntry]) -> dict[str, str]:
    """Key -> file name of the full text that would be indexed for it (empty files left out)."""
    if not sources_dir.is_dir():
        return {}
    chosen, _ = _assign(sources_dir, entries)
    return {key: path.name for key, path in chosen.items() if path.stat().st_size > 0}


def _clean(text: str) -> str:
    """Join words hyphenated across lines, drop NULs, squeeze runs of spaces."""
    text = text.replace("\x00", "")
    text = re.sub(r"([a-z])-\n([a-z])", r"\1\2", text)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return re.sub(r" *\n *", "\n", text).strip()


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Hold back pypdf's own log lines on damaged files: our warning names the file instead."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def _read_pdf(path: Path) -> tuple[list[_Page], list[str]]:
    """Pages of a PDF with their labels (the PDF's own labels, else 1, 2, ...)."""
    with _quiet_pypdf():
        return _read_pdf_pages(path)


def _read_pdf_pages(path: Path) -> tuple[list[_Page], list[str]]:
    """Open a PDF and extract each page's text."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return [], [f"{path}: encrypted PDF; save an unencrypted copy to index it"]
        count = len(reader.pages)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        return [], [f"{path}: cannot read PDF ({type(exc).__name__}: {exc}); replace it with a valid PDF"]
    try:
        labels = list(reader.page_labels)
    except Exception:  # noqa: BLE001 - a broken /PageLabels tree: fall back to page numbers
        labels = []
    if len(labels) != count:
        labels = [str(i + 1) for i in range(count)]
    pages: list[_Page] = []
    warnings: list[str] = []
    for i, label in enumerate(labels):
        try:
            text = reader.pages[i].extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the others
            warnings.append(f"{path}: page {label} unreadable ({type(exc).__name__}); skipped")
            continue
        pages.append(_Page(label=label, text=text))
    return pages, warnings


def _read_html(path: Path) -> tuple[list[_Page], list[str]]:
    """The main text of an HTML page (trafilatura, no network)."""
    import trafilatura

    try:
        text = trafilatura.extract(path.read_bytes(), include_comments=False)
    except Exception as exc:  # noqa: BLE001 - lxml/trafilatura raise various types on broken markup
        return [], [f"{path}: cannot parse HTML ({type(exc).__name__}: {exc}); save the page again or as .txt"]
    return [_Page(label="", text=text or "")], []


def _read_text(path: Path) -> tuple[list[_Page], list[str]]:
    """A UTF-8 text file (cp1252 fallback, with a warning); form feeds split pages."""
    raw = path.read_bytes()
    warnings: list[str] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        warnings.append(f"{path}: not UTF-8, read as cp1252/latin-1; re-save it as UTF-8 if characters look wrong")
    if "\f" not in text:
        return [_Page(label="", text=text)], warnings
    return [_Page(label=str(i + 1), text=page) for i, page in enumerate(text.split("\f"))], warnings


def _read_pages(path: Path) -> tuple[list[_Page], list[str]]:
    """Dispatch on the file suffix."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(path)
    if suffix in (".html", ".htm"):
        return _read_html(path)
    return _read_text(path)


def _chunk(pages: list[_Page], entry: SourceEntry, path: Path, chunk_size: int, overlap: int) -> list[Passage]:
    """Split each page with llama-index's SentenceSplitter into fulltext passages."""
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=overlap)
    passages: list[Passage] = []
    for page in pages:
        doc = Document(
            text=page.text,
            metadata={"source_key": entry.key, "file": path.name, "page": page.label},
            excluded_embed_metadata_keys=_META_KEYS,
            excluded_llm_metadata_keys=_META_KEYS,
        )
        where = f"{entry.key}:{path.name}:{page.label}"
        for i, node in enumerate(splitter.get_nodes_from_documents([doc])):
            text = node.get_content().strip()
            if not text:
                continue
            passages.append(
                Passage(
                    id=passage_id("fulltext", where, i, text),
                    kind="fulltext",
                    text=text,
                    section=entry.label,
                    source_key=entry.key,
                    page=page.label,
                    file=path.name,
                    paragraph=0,
                    start=-1,
                    end=-1,
                )
            )
    return passages


def read_fulltext(
    path: Path, entry: SourceEntry, *, chunk_size: int = 300, overlap: int = 30
) -> tuple[list[Passage], list[str]]:
    """Passages of one full-text file of `entry`, plus warnings naming the file."""
    try:
        if path.stat().st_size == 0:
            return [], [f"{path}: empty file; replace it with the full text of {entry.label} or remove it"]
        pages, warnings = _read_pages(path)
    except OSError as exc:
        return [], [f"{path}: cannot read ({exc.strerror or exc}); check the file's permissions"]
    pages = [_Page(p.label, cleaned) for p in pages if (cleaned := _clean(p.text))]
    if not pages and warnings:
        return [], warnings
    if not pages:
        hint = "a scanned PDF needs OCR first" if path.suffix.lower() == ".pdf" else "save the text as .txt"
        return [], [*warnings, f"{path}: no extractable text; {hint}"]
    return _chunk(pages, entry, path, chunk_size, overlap), warnings


def read_fulltexts(
    sources_dir: Path, entries: list[SourceEntry], *, chunk_size: int = 300, overlap: int = 30
) -> tuple[list[Passage], list[str]]:
    """Passages (kind 'fulltext') of every full text in `sources_dir`, plus one warning line per problem."""
    if not sources_dir.is_dir():
        return [], []
    by_key = {e.key: e for e in entries}
    chosen, warnings = _assign(sources_dir, entries)
    passages: list[Passage] = []
    for key, path in sorted(chosen.items(), key=lambda kv: kv[1].name):
        found, file_warnings = read_fulltext(path, by_key[key], chunk_size=chunk_size, overlap=overlap)
        passages.extend(found)
        warnings.extend(file_warnings)
    return passages, warnings

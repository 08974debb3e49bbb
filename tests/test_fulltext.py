"""Full texts of cited works in the sources folder: readers, file-to-key matching, warnings (no network)."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from index.article import parse_article
from index.bibliography import parse_bibliography
from index.fulltext import list_fulltexts, read_fulltexts
from index.settings import ARTICLE_FILE
from index.types import Passage, SourceEntry

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources"
WEITZ_PAGES = [
    ["Weitz 2018, page one.", "The Collective Security Treaty Organization was founded in 2002.",
     "Russia provides most of its forces."],
    ["Weitz 2018, page two.", "The Collective Rapid Reaction Force was created in 2009.",
     "Its members rarely agree on deployments."],
]


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]], page_labels: str = "") -> bytes:
    """A minimal valid PDF: one page per item, each line drawn in Helvetica; optional /PageLabels number tree."""
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    labels = f" /PageLabels << /Nums [{page_labels}] >>" if page_labels else ""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R{labels} >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        stream = "BT /F1 12 Tf 14 TL 72 720 Td " + " T* ".join(f"{_pdf_string(t)} Tj" for t in lines) + " ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{off:010d} 00000 n \n" for off in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture(scope="module")
def entries() -> list[SourceEntry]:
    """The article's 41 bibliography entries."""
    return parse_bibliography(parse_article(ARTICLE_FILE).bibliography_blocks)


@pytest.fixture(scope="module")
def fixture_read(entries: list[SourceEntry]) -> tuple[list[Passage], list[str]]:
    """read_fulltexts over the committed fixture folder, once per module."""
    return read_fulltexts(FIXTURES, entries)


def _warning(warnings: list[str], name: str) -> str:
    found = [w for w in warnings if f"/{name}:" in w or f"'{name}'" in w]  # the file's path, or quoted in a manifest
    assert len(found) == 1, f"expected one warning naming {name}, got {found} in {warnings}"
    return found[0]


def test_fixture_pdf_is_the_generated_one_and_pypdf_reads_both_pages() -> None:
    from pypdf import PdfReader

    path = FIXTURES / "weitz2018.pdf"
    assert path.read_bytes() == make_pdf(WEITZ_PAGES)
    reader = PdfReader(path)
    assert len(reader.pages) == 2
    assert list(reader.page_labels) == ["1", "2"]
    assert "founded in 2002" in reader.pages[0].extract_text()
    assert "created in 2009" in reader.pages[1].extract_text()


def test_pdf_passages_carry_key_page_and_file(fixture_read: tuple[list[Passage], list[str]]) -> None:
    passages, _ = fixture_read
    weitz = [p for p in passages if p.source_key == "weitz2018"]
    assert {p.page for p in weitz} == {"1", "2"}
    page2 = next(p for p in weitz if p.page == "2")
    assert "Rapid Reaction Force" in page2.text
    assert all(p.kind == "fulltext" and p.file == "weitz2018.pdf" and p.section == "Weitz (2018)" for p in weitz)
    assert all(p.paragraph == 0 and p.start == -1 and p.end == -1 and p.id.startswith("f-") for p in weitz)
    assert page2.location == "Weitz (2018), p. 2"


def test_html_with_body_is_indexed_without_page(fixture_read: tuple[list[Passage], list[str]]) -> None:
    passages, _ = fixture_read
    kucera = [p for p in passages if p.source_key == "kucera2017"]
    assert kucera and all(p.page == "" and p.file == "kucera2017.html" for p in kucera)
    assert any("Syria" in p.text for p in kucera)
    assert not any("Subscribe" in p.text for p in kucera)  # navigation boilerplate dropped by trafilatura


def test_bad_files_warn_by_name(fixture_read: tuple[list[Passage], list[str]]) -> None:
    passages, warnings = fixture_read
    keys = {p.source_key for p in passages}
    assert "no extractable text" in _warning(warnings, "stratfor2012.html")
    assert "cannot read PDF" in _warning(warnings, "nikitin2014.pdf")
    assert "empty file" in _warning(warnings, "sucu2017.txt")
    assert "not UTF-8" in _warning(warnings, "aris2016.txt")
    assert "no bibliography key" in _warning(warnings, "notes.txt")
    unknown = _warning(warnings, "mystery.txt")
    assert "manifest.json" in unknown and "nosuchkey2099" in unknown
    dup = _warning(warnings, "weitz2018.txt")
    assert "weitz2018.pdf" in dup
    assert len(warnings) == 7, warnings
    assert not keys & {"stratfor2012", "nikitin2014", "sucu2017"}


def test_cp1252_text_is_still_indexed(fixture_read: tuple[list[Passage], list[str]]) -> None:
    passages, _ = fixture_read
    aris = [p for p in passages if p.source_key == "aris2016"]
    assert aris and "Sécurité collective" in aris[0].text and aris[0].page == ""


def test_manifest_maps_a_file_to_a_key(fixture_read: tuple[list[Passage], list[str]]) -> None:
    passages, _ = fixture_read
    oliker = [p for p in passages if p.source_key == "oliker2009"]
    assert oliker and all(p.file == "oliker-rand-report.txt" and p.section == "Oliker et al. (2009)" for p in oliker)


def test_form_feeds_split_pages(fixture_read: tuple[list[Passage], list[str]]) -> None:
    passages, _ = fixture_read
    malek = [p for p in passages if p.source_key == "malek2008"]
    assert {p.page: p.text[:12] for p in malek} == {"1": "Malek, first", "2": "Malek, secon", "3": "Malek, third"}


def test_list_fulltexts(entries: list[SourceEntry]) -> None:
    assert list_fulltexts(FIXTURES, entries) == {
        "aris2016": "aris2016.txt",
        "kucera2017": "kucera2017.html",
        "malek2008": "malek2008.txt",
        "nikitin2014": "nikitin2014.pdf",
        "oliker2009": "oliker-rand-report.txt",
        "stratfor2012": "stratfor2012.html",
        "weitz2018": "weitz2018.pdf",
    }
    assert list_fulltexts(FIXTURES / "missing", entries) == {}


def test_ids_are_stable_and_long_texts_are_chunked(tmp_path: Path, entries: list[SourceEntry]) -> None:
    text = " ".join(f"Sentence number {i} says the alliance met in Moscow." for i in range(120))
    (tmp_path / "baev2014.md").write_text(text, encoding="utf-8")
    first, warnings = read_fulltexts(tmp_path, entries, chunk_size=64, overlap=8)
    again, _ = read_fulltexts(tmp_path, entries, chunk_size=64, overlap=8)
    assert warnings == [] and len(first) > 5
    assert [p.id for p in first] == [p.id for p in again]
    assert len({p.id for p in first}) == len(first)


def test_pdf_page_labels_are_used(tmp_path: Path, entries: list[SourceEntry]) -> None:
    pages = [["Front matter about alliances."], ["Chapter one on the CSTO."], ["Chapter one continues."]]
    (tmp_path / "baev2014.pdf").write_bytes(make_pdf(pages, page_labels="0 << /S /r >> 1 << /S /D /St 45 >>"))
    passages, warnings = read_fulltexts(tmp_path, entries)
    assert warnings == []
    assert [p.page for p in passages] == ["i", "45", "46"]


def test_invalid_manifest_warns_and_key_named_files_still_read(tmp_path: Path, entries: list[SourceEntry]) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    shutil.copy(FIXTURES / "weitz2018.pdf", tmp_path / "weitz2018.pdf")
    passages, warnings = read_fulltexts(tmp_path, entries)
    assert "invalid manifest" in _warning(warnings, "manifest.json")
    assert {p.source_key for p in passages} == {"weitz2018"}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": ["weitz2018.pdf"]}), encoding="utf-8")
    assert "\"files\" object" in _warning(read_fulltexts(tmp_path, entries)[1], "manifest.json")


def test_reading_never_opens_a_socket(monkeypatch: pytest.MonkeyPatch, entries: list[SourceEntry]) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access while reading full texts")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    passages, _ = read_fulltexts(FIXTURES, entries)
    assert passages

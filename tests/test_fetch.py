"""`sources fetch` against a real local HTTP server: statuses, retries, timeouts, size cap, cache, User-Agent."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.fetch import CACHE_FILE, FetchResult, _suffix, fetch_sources, format_report
from index.fulltext import read_fulltexts
from index.types import SourceEntry

PDF = (Path(__file__).resolve().parent / "fixtures" / "sources" / "weitz2018.pdf").read_bytes()
HTML = b"""<!DOCTYPE html><html><head><title>Allies and drills</title></head><body><article>
<h1>Allies and drills</h1>
<p>The alliance held a joint exercise in Tajikistan with contingents from every member state.</p>
<p>Observers noted that the rapid reaction force trained for border incidents and drug trafficking.</p>
</article></body></html>"""
MAX_BYTES = 4096
UA = "csto-qa-test/1.0 (+unit tests)"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    agents: list[str]
    conditional: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up (timeouts, size cap) are expected here; stay quiet about them."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        """Keep test output quiet."""

    def _send(self, code: int, body: bytes, ctype: str, *, length: bool = True, etag: str = "") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Route the test endpoints."""
        path = self.path
        self.server.hits[path] += 1
        self.server.agents.append(self.headers.get("User-Agent", ""))
        if self.headers.get("If-None-Match"):
            self.server.conditional.append(path)
        if path == "/page":
            self._send(200, HTML, "text/html; charset=utf-8")
        elif path == "/paper":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
            else:
                self._send(200, PDF, "application/pdf", etag='"v1"')
        elif path == "/missing":
            self._send(404, b"not here", "text/plain")
        elif path == "/flaky":
            if self.server.hits[path] == 1:
                self._send(500, b"oops", "text/plain")
            else:
                self._send(200, b"Flaky but fine in the end. The treaty was signed in 1992.", "text/plain")
        elif path == "/slow":
            time.sleep(1.5)
            self._send(200, b"too late", "text/plain")
        elif path == "/big":
            self._send(200, b"x" * (MAX_BYTES * 2), "text/plain")
        elif path == "/big-stream":  # no Content-Length: the cap must stop the read itself
            self._send(200, b"y" * (MAX_BYTES * 2), "text/plain", length=False)
        else:
            self._send(404, b"", "text/plain")


@pytest.fixture
def server() -> Iterator[tuple[_Server, str]]:
    """A local HTTP server on a free port, in a thread."""
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.hits, srv.agents, srv.conditional = Counter(), [], []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _entry(key: str, url: str) -> SourceEntry:
    return SourceEntry(key=key, label=f"{key.title()} (2018)", authors=[f"{key.title()}, A."], organisation=False,
                       year=2018, title=f"Work of {key}", url=url, raw=f"{key} (2018). Work. <{url}>", start=0, end=0)


def _entries(base: str) -> list[SourceEntry]:
    return [
        _entry("page2018", f"{base}/page"),
        _entry("paper2018", f"{base}/paper"),
        _entry("missing2018", f"{base}/missing"),
        _entry("flaky2018", f"{base}/flaky"),
        _entry("slow2018", f"{base}/slow"),
        _entry("big2018", f"{base}/big"),
        _entry("bigstream2018", f"{base}/big-stream"),
        _entry("ftp2018", "ftp://127.0.0.1/file.pdf"),
        _entry("nourl2018", ""),
        _entry("mine2018", f"{base}/page"),
    ]


def _fetch(entries: list[SourceEntry], dest: Path, **kw: object) -> dict[str, FetchResult]:
    opts: dict = {"timeout_s": 0.5, "max_bytes": MAX_BYTES, "retries": 1, "backoff_s": 0.05, "user_agent": UA,
                  "progress": False, "allow_hosts": ["127.0.0.1"]}  # the test server is on loopback
    return {r.key: r for r in fetch_sources(entries, dest, **(opts | kw))}


def test_fetch_statuses_files_cache_and_reading(server: tuple[_Server, str], tmp_path: Path) -> None:
    srv, base = server
    entries = _entries(base)
    dest = tmp_path / "sources"
    dest.mkdir()
    (dest / "mine2018.txt").write_text("The user's own copy.", encoding="utf-8")
    started = time.monotonic()
    res = _fetch(entries, dest)
    assert time.monotonic() - started < 8

    assert {k: r.status for k, r in res.items()} == {
        "page2018": "ok", "paper2018": "ok", "missing2018": "error", "flaky2018": "ok", "slow2018": "error",
        "big2018": "error", "bigstream2018": "error", "ftp2018": "error", "nourl2018": "skipped",
        "mine2018": "skipped",
    }
    assert res["page2018"].path == dest / "page2018.html" and res["page2018"].bytes == len(HTML)
    assert res["paper2018"].path == dest / "paper2018.pdf" and (dest / "paper2018.pdf").read_bytes() == PDF
    assert res["flaky2018"].path == dest / "flaky2018.txt" and "2 attempts" in res["flaky2018"].message
    assert "404" in res["missing2018"].message and res["missing2018"].path is None
    assert "timed out" in res["slow2018"].message
    assert f"larger than {MAX_BYTES} bytes" in res["big2018"].message
    assert f"larger than {MAX_BYTES} bytes" in res["bigstream2018"].message
    assert "unsupported scheme 'ftp'" in res["ftp2018"].message
    assert "mine2018.txt" in res["mine2018"].message
    assert (dest / "mine2018.txt").read_text(encoding="utf-8") == "The user's own copy."
    assert srv.hits == Counter({"/page": 1, "/paper": 1, "/missing": 1, "/flaky": 2, "/slow": 2, "/big": 1,
                                "/big-stream": 1})  # retried on 500 and timeout, not on 404
    assert set(srv.agents) == {UA}
    assert sorted(p.name for p in dest.iterdir()) == [CACHE_FILE, "flaky2018.txt", "mine2018.txt", "page2018.html",
                                                      "paper2018.pdf"]  # no partial downloads left behind
    cache = json.loads((dest / CACHE_FILE).read_text(encoding="utf-8"))["urls"]
    assert cache[f"{base}/paper"]["file"] == "paper2018.pdf" and cache[f"{base}/paper"]["etag"] == '"v1"'
    assert len(cache[f"{base}/paper"]["sha256"]) == 64

    report = format_report(list(res.values()))
    assert len(report.splitlines()) == len(res) + 2
    assert "3 ok, 0 cached, 2 skipped, 5 error" in report

    # second run: cached, nothing downloaded again
    again = _fetch(entries, dest, only={"page2018", "paper2018", "flaky2018"})
    assert {k: r.status for k, r in again.items()} == {"page2018": "cached", "paper2018": "cached",
                                                       "flaky2018": "cached"}
    assert (srv.hits["/page"], srv.hits["/paper"], srv.hits["/flaky"]) == (1, 1, 2)

    # force: a conditional request; the server says 304 for the PDF, re-sends the HTML
    forced = _fetch(entries, dest, only={"page2018", "paper2018"}, force=True)
    assert forced["paper2018"].status == "cached" and "not modified" in forced["paper2018"].message
    assert forced["page2018"].status == "ok"
    assert srv.conditional == ["/paper"] and (srv.hits["/page"], srv.hits["/paper"]) == (2, 2)

    # end to end: the fetched files are read as full texts
    passages, warnings = read_fulltexts(dest, entries)
    assert warnings == []
    by_key = {(p.source_key, p.page) for p in passages}
    assert {("page2018", ""), ("paper2018", "1"), ("paper2018", "2"), ("flaky2018", ""), ("mine2018", "")} == by_key
    assert any("joint exercise in Tajikistan" in p.text for p in passages if p.source_key == "page2018")


def test_unknown_only_key_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nosuch2018"):
        fetch_sources([_entry("a2018", "http://127.0.0.1:9/")], tmp_path, timeout_s=0.5, max_bytes=MAX_BYTES,
                      retries=0, only={"nosuch2018"}, progress=False)


def test_suffix_from_type_magic_or_url() -> None:
    assert _suffix("application/pdf", b"", "https://x.org/a") == ".pdf"
    assert _suffix("text/plain", b"", "https://x.org/a.pdf") == ".txt"
    assert _suffix("application/octet-stream", b"%PDF-1.7", "https://x.org/download") == ".pdf"
    assert _suffix("", b"", "https://x.org/paper.PDF?x=1") == ".pdf"
    assert _suffix("", b"", "https://x.org/story/") == ".html"

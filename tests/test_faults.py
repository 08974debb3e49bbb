"""Faults, one class at a time (issue 29), with made-up inputs and real parts: the real index and Chroma, real
loopback servers (a silent socket, a trickling HTTP server, a real `chroma run` behind a proxy that goes silent),
the real CLI in a subprocess. The page itself is tested in a browser in tests/test_faults_browser.py.

1. a live re-index            test_live_index_switches_between_questions_and_keeps_the_one_in_flight,
                              test_leases_end_with_their_process_or_their_grace_period
2. deadlines                  test_silent_chroma_server_fails_within_the_deadline,
                              test_chroma_server_going_silent_mid_session_fails_within_the_deadline
3. public pages only          test_fetch_refuses_private_addresses_directly_and_after_a_redirect,
                              test_fetch_connects_to_the_address_it_checked,
                              test_trickling_server_is_cut_at_the_deadline
4. quoted text is text        test_markdown_in_quoted_text_and_questions_is_shown_as_text
5. damaged index files        test_damaged_index_file_is_one_error_naming_it_and_is_rebuilt,
                              test_cli_damaged_bm25_and_chroma_files_are_one_line_and_recovered
6. bounded input              test_history_is_validated_in_linear_time, test_sources_filter_is_capped_and_queued,
                              test_cli_small_errors_are_one_line
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpcore
import pytest

from index.errors import IndexCorruptError, InvalidQuestionError, StoreUnavailableError
from index.settings import Settings, SettingsError, load_settings
from index.store import build_index, live_leases, make_client, read_state

ROOT = Path(__file__).resolve().parents[1]
ESTABLISHED = "When was the CSTO established?"
NEW_QUESTION = "Which protocol set the rotation of drill commanders?"
NEW_SOURCE = (  # a made-up full text for a work the article cites (weitz2018), holding a Markdown image
    "Drill rotation in the alliance.\n\n"
    "The Zorvath protocol of 2017 set the rotation of drill commanders ![x](http://127.0.0.1:{port}/p.png) among "
    "the member states. Its annex lists the signatures.\n"
)
NEW_FACT = "Zorvath protocol"  # in the new source only: neither in the article nor in the question


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def private_copy(built_settings: Settings, tmp_path: Path) -> Settings:
    """A copy of the session index that only this test reads (the session's leases left behind)."""
    dest = tmp_path / "index"
    shutil.copytree(built_settings.data_dir, dest, ignore=shutil.ignore_patterns("leases", ".build.lock"))
    return load_settings(data_dir=dest)


def _cli(args: list[str], env_extra: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    """The CLI's only stderr line (progress bars of the index build aside); fails on a traceback."""
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("csto-qa: error:")]
    assert len(lines) == 1, out.stderr[-2000:]
    assert "unexpected" not in lines[0]
    return lines[0]


# --- 1. a live re-index ---------------------------------------------------------------------------------------------


def test_live_index_switches_between_questions_and_keeps_the_one_in_flight(private_copy: Settings) -> None:
    from rag import Assistant

    settings = private_copy
    assistant = Assistant.from_settings(settings)
    first, first_dir = read_state(settings)["collection"], read_state(settings)["gen_dir"]
    assert "1992" in assistant.ask(ESTABLISHED).text
    assert NEW_FACT not in assistant.ask(NEW_QUESTION).text  # not in the sources yet

    settings.resolved_sources_dir.mkdir(parents=True, exist_ok=True)
    (settings.resolved_sources_dir / "weitz2018.txt").write_text(NEW_SOURCE.format(port=9), encoding="utf-8")
    with assistant.live.use():  # a question in flight while the index is rebuilt
        report = build_index(settings, progress=False)
        assert report.changed and read_state(settings)["collection"] != first
        in_flight = assistant.ask(NEW_QUESTION)  # still the generation the question started on
        assert assistant.live.generation == first and NEW_FACT not in in_flight.text
        assert (settings.data_dir / first_dir).is_dir()  # held by this reader: the build left it alone

    after = assistant.ask(NEW_QUESTION)  # between questions: the new generation
    assert not after.refused and NEW_FACT in after.text
    assert assistant.live.generation == read_state(settings)["collection"]
    assert "1992" in assistant.ask(ESTABLISHED).text
    assert not (settings.data_dir / first_dir).exists()  # let go: dropped with its collection
    names = {c.name for c in make_client(settings).list_collections()}
    assert first not in names and read_state(settings)["collection"] in names


def test_leases_end_with_their_process_or_their_grace_period(private_copy: Settings) -> None:
    from rag import Assistant

    settings = private_copy.model_copy(update={"generation_grace_s": 1.5})
    folder = settings.data_dir / "leases"
    folder.mkdir(exist_ok=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = folder / "gen-1.0.orphan.json"  # a reader that crashed: its process is gone
    record = {"pid": int(dead.stdout), "host": socket.gethostname(), "collection": "c-old", "gen_dir": "gen-1"}
    orphan.write_text(json.dumps({**record, "expires_s": 3600}))
    assistant = Assistant.from_settings(settings)  # a reader that then stays idle past its grace period
    held, dirs = live_leases(settings)
    assert read_state(settings)["collection"] in held and "c-old" not in held and not orphan.exists()
    time.sleep(1.7)
    assert live_leases(settings) == (set(), set())  # idle past generation_grace_s: no longer holds it
    old_dir = read_state(settings)["gen_dir"]
    assert build_index(settings, force=True, progress=False).changed
    assert not (settings.data_dir / old_dir).exists()  # dropped by the build: no live lease held it
    assert "1992" in assistant.ask(ESTABLISHED).text  # the idle reader takes up the new generation


# --- 2. deadlines ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A TCP server that accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def _fails_within(call: object, seconds: float, match: str) -> str:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=match) as err:
        call()  # type: ignore[operator]
    assert time.monotonic() - started < seconds
    assert "\n" not in str(err.value)
    return str(err.value)


def test_silent_chroma_server_fails_within_the_deadline(silent_port: int, private_copy: Settings) -> None:
    settings = private_copy.model_copy(
        update={"chroma_host": "127.0.0.1", "chroma_port": silent_port, "chroma_timeout_s": 1.0}
    )
    message = _fails_within(lambda: make_client(settings), 2.5, "no answer within 1 s")
    assert f"127.0.0.1:{silent_port}" in message
    _fails_within(lambda: build_index(settings, progress=False), 15, "no answer within 1 s")
    assert not list(settings.data_dir.glob("state-*.json"))  # nothing half-made
    env = {"CSTO_QA_CHROMA_HOST": "127.0.0.1", "CSTO_QA_CHROMA_PORT": str(silent_port), "CSTO_QA_CHROMA_TIMEOUT_S": "1"}
    started = time.monotonic()
    out = _cli(["--data-dir", str(settings.data_dir), "index"], env)
    assert out.returncode == 1 and "no answer within 1 s" in _one_error_line(out)
    assert time.monotonic() - started < 60  # the interpreter's start-up and imports, then one second


class _Proxy:
    """A TCP proxy to a real server that can be switched to swallow everything (a server that went silent)."""

    def __init__(self, target: int) -> None:
        self.target, self.silent = target, False
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self.server.accept()[0]
            except OSError:
                return
            self.conns.append(conn)
            if self.silent:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns.append(upstream)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if not self.silent:
                    dst.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self.server.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture()
def chroma_behind_proxy(chroma_server: tuple[int, object]) -> Iterator[_Proxy]:
    """A real `chroma run` on loopback (conftest's chroma_server), reached through a _Proxy."""
    proxy = _Proxy(chroma_server[0])
    yield proxy
    proxy.close()


@pytest.mark.server
def test_chroma_server_going_silent_mid_session_fails_within_the_deadline(
    chroma_behind_proxy: _Proxy, tmp_path: Path
) -> None:
    proxy = chroma_behind_proxy
    settings = load_settings(
        data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=proxy.port, chroma_timeout_s=1.0
    )
    client = make_client(settings)  # through the proxy to the real server
    collection = client.get_or_create_collection("fault-probe", embedding_function=None)
    collection.add(ids=["a", "b"], embeddings=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert collection.count() == 2
    assert collection.query(query_embeddings=[[0.9, 0.1, 0.0]], n_results=1)["ids"] == [["a"]]

    proxy.silent = True  # the server still accepts connections but answers nothing
    for call in (
        client.heartbeat,
        collection.count,
        lambda: collection.query(query_embeddings=[[0.9, 0.1, 0.0]], n_results=1),
        client.list_collections,
        lambda: make_client(settings),
    ):
        _fails_within(call, 2.5, "no answer within 1 s")


# --- 3. public pages only -------------------------------------------------------------------------------------------

_CONNECTS: list[tuple[str, int]] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and isinstance(args[1], tuple) and len(args[1]) >= 2:
        _CONNECTS.append((str(args[1][0]), int(args[1][1])))


sys.addaudithook(_audit)  # every socket connection this process attempts (read by the fetch tests)


class _Pages(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]
    redirect_to: str


class _PageHandler(BaseHTTPRequestHandler):
    server: _Pages

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        """Quiet."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/trickle":  # headers at once, then one byte every 0.2 s for a minute
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(300):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return
        else:
            body = b"The alliance held a joint exercise in Tajikistan with every member state."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


def _serve_pages() -> Iterator[_Pages]:
    srv = _Pages(("127.0.0.1", 0), _PageHandler)
    srv.hits, srv.redirect_to = [], ""
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def pages() -> Iterator[_Pages]:
    """A loopback HTTP server recording its hits (a redirect needs a second one: `second` below)."""
    yield from _serve_pages()


@pytest.fixture()
def second() -> Iterator[_Pages]:
    """Another loopback HTTP server, for a redirect's target."""
    yield from _serve_pages()


def _entry(key: str, url: str):  # noqa: ANN202 - a SourceEntry
    from index.types import SourceEntry

    return SourceEntry(key=key, label=f"{key} (2018)", authors=["Doe, A."], organisation=False, year=2018,
                       title="A made-up work", url=url, raw=f"{key}. <{url}>", start=0, end=0)


def _fetch(entries: list, dest: Path, **kw: object) -> dict:
    from index.fetch import fetch_sources

    opts: dict = {"timeout_s": 2.0, "max_bytes": 100_000, "retries": 0, "backoff_s": 0.05, "progress": False}
    return {r.key: r for r in fetch_sources(entries, dest, **(opts | kw))}


def test_fetch_refuses_private_addresses_directly_and_after_a_redirect(
    pages: _Pages, second: _Pages, tmp_path: Path
) -> None:
    port, other = pages.server_address[1], second.server_address[1]
    entries = [
        _entry("direct2018", f"http://127.0.0.1:{port}/page"),
        _entry("metadata2018", "http://169.254.169.254/latest/meta-data/"),
        _entry("private2018", "http://10.1.2.3/paper.pdf"),
        _entry("mapped2018", f"http://[::ffff:127.0.0.1]:{port}/page"),
    ]
    _CONNECTS.clear()
    res = _fetch(entries, tmp_path / "a")
    for key, kind in [("direct2018", "loopback"), ("metadata2018", "link-local"), ("private2018", "private"),
                      ("mapped2018", "loopback")]:
        assert res[key].status == "error" and "refused" in res[key].message and kind in res[key].message, res[key]
        assert "CSTO_QA_FETCH_ALLOW_HOSTS" in res[key].message
    assert pages.hits == []  # refused before any connection:
    assert not [c for c in _CONNECTS if c[1] == port or c[0] in ("169.254.169.254", "10.1.2.3")]

    # "localhost" is the user's named mirror; its redirect to another (unnamed) private host is refused
    pages.redirect_to = f"http://127.0.0.1:{other}/secret"
    via = [_entry("hop2018", f"http://localhost:{port}/redirect"), _entry("meta2018", f"http://localhost:{port}/m")]
    _CONNECTS.clear()
    res = _fetch(via[:1], tmp_path / "b", allow_hosts=["localhost"])
    assert res["hop2018"].status == "error" and "refused: 127.0.0.1" in res["hop2018"].message
    assert pages.hits == ["/redirect"] and second.hits == []
    assert ("127.0.0.1", other) not in _CONNECTS  # no connection to the redirect's target
    pages.redirect_to = "http://169.254.169.254/latest/meta-data/iam"
    _CONNECTS.clear()
    res = _fetch([_entry("meta2018", f"http://localhost:{port}/redirect")], tmp_path / "c", allow_hosts=["localhost"])
    assert res["meta2018"].status == "error" and "169.254.169.254" in res["meta2018"].message
    assert not any(host == "169.254.169.254" for host, _ in _CONNECTS)

    ok = _fetch([_entry("mirror2018", f"http://localhost:{port}/page")], tmp_path / "d", allow_hosts=["localhost"])
    assert ok["mirror2018"].status == "ok"  # the named private host is fetched


def test_fetch_connects_to_the_address_it_checked(pages: _Pages, tmp_path: Path, monkeypatch) -> None:
    import index.net as net

    port = pages.server_address[1]
    answers = iter(["93.184.216.34", "127.0.0.1"])  # a rebinding resolver: public first, then loopback
    lookups: list[str] = []

    def rebinding(host: str, port_: int, *args: object, **kwargs: object) -> list:
        lookups.append(host)
        ip = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port_))]

    connected_to: list[str] = []

    def no_network(self: object, host: str, port_: int, *args: object, **kwargs: object) -> object:
        connected_to.append(host)
        raise httpcore.ConnectError("no route in this test")

    monkeypatch.setattr(net.socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", no_network)
    res = _fetch([_entry("rebind2018", f"http://rebind.example:{port}/page")], tmp_path, retries=1)
    assert connected_to == ["93.184.216.34"]  # the checked address itself, not the name resolved again
    assert lookups == ["rebind.example", "rebind.example"]  # the retry resolved anew, got loopback ...
    assert res["rebind2018"].status == "error" and "refused" in res["rebind2018"].message  # ... and was refused
    assert pages.hits == []

    # a network that delivers a "public" address to a private host: the connected peer is checked too
    monkeypatch.undo()
    monkeypatch.setattr(net, "resolve", lambda host, port_, timeout: ["93.184.216.34"])
    real = httpcore.SyncBackend.connect_tcp
    monkeypatch.setattr(
        httpcore.SyncBackend, "connect_tcp", lambda self, host, port_, *a, **k: real(self, "127.0.0.1", port_, *a, **k)
    )
    res = _fetch([_entry("nat2018", f"http://nat.example:{port}/page")], tmp_path / "nat")
    assert res["nat2018"].status == "error" and "refused: nat.example resolves to 127.0.0.1" in res["nat2018"].message
    assert pages.hits == []  # connected, checked, closed before a byte of the request was sent


def test_trickling_server_is_cut_at_the_deadline(pages: _Pages, tmp_path: Path) -> None:
    port = pages.server_address[1]
    started = time.monotonic()
    res = _fetch([_entry("slow2018", f"http://127.0.0.1:{port}/trickle")], tmp_path, timeout_s=5.0, retries=3,
                 deadline_s=1.5, allow_hosts=["127.0.0.1"])
    took = time.monotonic() - started
    assert res["slow2018"].status == "error" and "no complete answer within 1.5 s" in res["slow2018"].message
    assert took < 3.0  # one total deadline, not one per read or per retry
    assert list(tmp_path.iterdir()) == []  # no partial file left


# --- 4. quoted text is text -----------------------------------------------------------------------------------------


def test_markdown_in_quoted_text_and_questions_is_shown_as_text() -> None:
    from rag.types import Answer, Citation
    from ui.render import Turn, answer_markdown, citations_html, question_markdown

    image = "![x](http://127.0.0.1:9/p.png)"
    text = f"The annex shows the badge {image} and [a link](http://evil.example/) <img src=x> www.evil.example."
    citation = Citation(n=1, passage_id="f-1", kind="fulltext", section="Weitz (2018)", paragraph=0,
                        location="Weitz (2018)", quote=text, quote_start=0, quote_end=len(text), text=text)
    answer = Answer(question="q", text=f"{text} [1] The *Kanal* operation.", citations=[citation])
    md = answer_markdown(answer, 1)
    for live in ("![", "](", "[a link]", "<img", "http://", "www.evil"):
        assert live not in md
    assert '<a href="#cite-1-1" class="cite-ref"' in md and "<em>Kanal</em>" in md  # the page's own markup stays
    asked = question_markdown(f"What is {image}? **bold** <b>x</b>")
    assert "![" not in asked and "](" not in asked and "**" not in asked and "<b>" not in asked
    panel = citations_html([Turn(question=image, answer=answer, done=True)])
    assert "<img" not in panel and 'src="' not in panel and image in panel  # HTML-escaped, no markdown there


# --- 5. damaged index files -----------------------------------------------------------------------------------------


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(0, len(data), 5):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))


DAMAGE = {
    "state garbled": ("state.json", _garble),
    "state wrong types": ("state.json", lambda p: p.write_text(json.dumps({"collection": 1, "gen_dir": "../..",
                                                                           "fingerprint": []}))),
    "passages truncated": ("{gen}/passages.json", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])),
    "passages wrong shape": ("{gen}/passages.json", lambda p: p.write_text("[1, 2, 3]")),
    "entries missing": ("{gen}/entries.json", lambda p: p.unlink()),
    "sentences garbled": ("{gen}/sentences.npz", _garble),
    "sentence vectors truncated": ("{gen}/sentences.npy", lambda p: p.write_bytes(p.read_bytes()[:200])),
    "bm25 retriever garbled": ("{gen}/bm25/retriever.json", _garble),
    "bm25 vocabulary emptied": ("{gen}/bm25/vocab.index.json", lambda p: p.write_text("")),
    "bm25 matrix truncated": ("{gen}/bm25/data.csc.index.npy", lambda p: p.write_bytes(p.read_bytes()[:40])),
    "generation folder missing": ("{gen}", shutil.rmtree),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_index_file_is_one_error_naming_it_and_is_rebuilt(private_copy: Settings, case: str) -> None:
    from rag import Assistant

    settings = private_copy
    gen = read_state(settings)["gen_dir"]
    relative, damage = DAMAGE[case]
    target = settings.data_dir / relative.format(gen=gen)
    damage(target)
    with pytest.raises(IndexCorruptError) as err:
        Assistant.from_settings(settings)
    message = str(err.value)
    assert "\n" not in message and "csto-qa index" in message
    assert target.name in message or (relative.startswith("{gen}/bm25") and "bm25" in message), message

    report = build_index(settings, progress=False)  # no --force: the damage is found and the index rebuilt
    assert report.changed and any("rebuilt the index" in w for w in report.warnings), report.warnings
    assert "1992" in Assistant.from_settings(settings).ask(ESTABLISHED).text
    assert not build_index(settings, progress=False).changed  # whole again: a no-op


def test_cli_damaged_bm25_and_chroma_files_are_one_line_and_recovered(private_copy: Settings) -> None:
    data = str(private_copy.data_dir)
    gen = read_state(private_copy)["gen_dir"]
    bm25 = private_copy.data_dir / gen / "bm25" / "corpus.jsonl"
    _garble(bm25)
    out = _cli(["--data-dir", data, "ask", ESTABLISHED])
    line = _one_error_line(out)
    assert out.returncode == 1 and "corpus.jsonl" in line and "csto-qa index" in line and "history" not in line
    out = _cli(["--data-dir", data, "index", "--quiet"])
    assert out.returncode == 0 and "indexed" in out.stdout and "rebuilt the index" in out.stderr, out.stderr[-800:]
    good = read_state(private_copy)

    _garble(private_copy.data_dir / "chroma" / "chroma.sqlite3")
    out = _cli(["--data-dir", data, "ask", ESTABLISHED])
    line = _one_error_line(out)
    assert out.returncode == 1 and "chroma" in line and "csto-qa index" in line
    assert read_state(private_copy) == good  # asking never writes
    out = _cli(["--data-dir", data, "index", "--force", "--quiet"])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "moved it aside" in out.stderr
    assert len(list(private_copy.data_dir.glob("chroma.damaged-*"))) == 1  # kept, not deleted
    out = _cli(["--data-dir", data, "ask", ESTABLISHED])
    assert out.returncode == 0 and "1992" in out.stdout


# --- 6. bounded input -----------------------------------------------------------------------------------------------


def test_history_is_validated_in_linear_time(assistant) -> None:
    from rag.history import validate_history

    turn = {"role": "user", "content": "What is Operation Kanal?"}
    validate_history(None, 4, 100)
    validate_history([turn, {"role": "assistant", "content": "An operation."}], 4, 100)
    validate_history([("What is it?", None)], 4, 100)
    for bad, needle in [
        (5, "not a int"),
        ("What is Kanal?", "not a str"),
        ({"role": "user"}, "not a dict"),
        ([{"role": "robot", "content": "x"}], "role 'robot'"),
        ([{"role": "user", "content": 5}], "no text content"),
        ([turn] * 5, "5 turns; the limit is 4"),
        ([{"role": "user", "content": "x" * 101}], "more than 100 characters"),
        ([[1, 2]], "turn 1 is a list"),
    ]:
        with pytest.raises(InvalidQuestionError, match=needle):
            validate_history(bad, 4, 100)

    huge = [{"role": "user", "content": "Aaa. " * 200_000}]  # one 1 MB turn
    started = time.monotonic()
    with pytest.raises(InvalidQuestionError, match="max_history_chars"):
        assistant.ask("And who monitors it from outside?", history=huge)
    with pytest.raises(InvalidQuestionError, match="max_history_turns"):
        assistant.retrieve("And who monitors it from outside?", history=[turn] * 100_000)
    with pytest.raises(InvalidQuestionError):
        list(assistant.stream("And who monitors it from outside?", history="not a list"))
    assert time.monotonic() - started < 1.0  # refused before any work on it

    limit = assistant.settings.max_history_chars  # the largest history accepted, made as costly as it can be
    costly = [{"role": "user", "content": "What is Operation Kanal?"},
              {"role": "assistant", "content": ("Aaa. " * limit)[: limit - 30]}]
    started = time.monotonic()
    assistant.ask("And who monitors it from outside?", history=costly)
    assert time.monotonic() - started < 10.0


def test_sources_filter_is_capped_and_queued(built_settings: Settings, assistant) -> None:
    from gradio_client import Client

    from ui.app import build_app, launch

    app = build_app(built_settings, assistant)
    event = next(f for f in app.fns.values() if f.api_name == "sources")
    assert event.queue and event.concurrency_limit == 1 and event.trigger_mode == "always_last"

    port = _free_port()
    settings = built_settings.model_copy(update={"server_host": "127.0.0.1", "server_port": port})
    served = launch(settings, assistant, prevent_thread_lock=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        started = time.monotonic()
        refused = client.predict(" ".join(["weitz"] * 100_000), api_name="/sources")  # 600,000 characters
        assert time.monotonic() - started < 10.0
        assert "the limit is 200" in refused and "src-item" not in refused
        found = client.predict("weitz", api_name="/sources")
        assert "Weitz (2018)" in found and "1 of 41 works" in found
    finally:
        served.close()


def test_cli_small_errors_are_one_line(built_settings: Settings, tmp_path: Path) -> None:
    data = str(built_settings.data_dir)
    with pytest.raises(SettingsError, match="torch_threads"):
        load_settings(torch_threads="abc")
    with pytest.raises(SettingsError, match="fetch_allow_hosts"):
        load_settings(fetch_allow_hosts=["mirror.local/x y"])
    assert load_settings(data_dir=tmp_path, fetch_allow_hosts="mirror.local, 10.0.0.5").fetch_allow_hosts == [
        "mirror.local", "10.0.0.5"]

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    file_not_dir = tmp_path / "a-file"
    file_not_dir.write_text("not a folder")
    cases = [
        (["--data-dir", data, "ask", "x"], {"CSTO_QA_TORCH_THREADS": "abc"}, 2, "torch_threads"),
        (["--data-dir", data, "ask", ESTABLISHED, "--history", "5"], {}, 2, "history must be a list"),
        (["--data-dir", data, "ask", ESTABLISHED, "--history", "[{"], {}, 2, "--history is not valid JSON"),
        (["--data-dir", data, "serve", "--port", str(busy.getsockname()[1])], {}, 1, "cannot serve on 127.0.0.1"),
        (["--data-dir", data, "serve", "--port", "99999"], {}, 2, "not a port number"),
        (["--data-dir", str(file_not_dir / "index"), "index"], {}, 1, "cannot write to the data directory"),
        (["--data-dir", data, "sources", "fetch", "--only", "nosuch2018"], {}, 2, "unknown bibliography key"),
    ]
    try:
        for args, env, code, needle in cases:
            out = _cli(args, env, timeout=120)
            assert out.returncode == code and needle in _one_error_line(out), (args, out.stderr[-1000:])
    finally:
        busy.close()

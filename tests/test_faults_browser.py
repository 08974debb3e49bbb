"""Faults on the real page, in a real browser (Debian chromium via Playwright), issue 29:

1. a live re-index   test_page_answers_through_a_reindex_and_then_from_the_new_source: the page stays up while
                     `csto-qa index` (another process) adds a source; every question before, during and after is
                     answered, and the new source answers afterwards.
4. quoted text       test_markdown_image_in_a_quoted_full_text_loads_nothing: an answer quoting a local full text
                     that holds `![x](http://127.0.0.1:PORT/p.png)`, and a question holding one, make the browser
                     request nothing from that port (a control image injected by the test is requested).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.settings import Settings, load_settings
from index.store import build_index, read_state

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
WAIT_MS = 60_000
ESTABLISHED = "When was the CSTO established?"
NEW_QUESTION = "Which protocol set the rotation of drill commanders?"
NEW_SOURCE = (  # a made-up full text for a work the article cites (weitz2018), holding a Markdown image
    "Drill rotation in the alliance.\n\n"
    "The Zorvath protocol of 2017 set the rotation of drill commanders ![x](http://127.0.0.1:{port}/p.png) among "
    "the member states. Its annex lists the signatures.\n"
)
NEW_FACT = "Zorvath protocol"  # in the new source only: neither in the article nor in the question
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4f10000000049454e44ae426082"
)

if not os.path.exists(CHROMIUM):  # pragma: no cover - machines without the browser
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Pixels(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]


class _PixelHandler(BaseHTTPRequestHandler):
    server: _Pixels

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        """Quiet."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)


@pytest.fixture()
def pixel() -> Iterator[_Pixels]:
    """A loopback image server that records every request (a tracking pixel's host)."""
    srv = _Pixels(("127.0.0.1", 0), _PixelHandler)
    srv.hits = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def private_copy(built_settings: Settings, tmp_path: Path) -> Settings:
    """A copy of the session index that only this test reads and re-indexes."""
    dest = tmp_path / "index"
    shutil.copytree(built_settings.data_dir, dest, ignore=shutil.ignore_patterns("leases", ".build.lock"))
    return load_settings(data_dir=dest)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def serve(browser):  # noqa: ANN201 - yields a function
    """serve(settings) -> a fresh browser page on the page served in-process over that data directory."""
    from rag import Assistant
    from ui.app import launch

    apps, contexts = [], []

    def start(settings: Settings):  # noqa: ANN202 - a playwright Page
        port = _free_port()
        served = settings.model_copy(update={"server_host": "127.0.0.1", "server_port": port})
        apps.append(launch(served, Assistant.from_settings(settings), prevent_thread_lock=True))
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.locator("#question textarea").wait_for()
        return page

    yield start
    for context in contexts:
        context.close()
    for app in apps:
        app.close()


def ask(page, question: str, turn: int) -> str:
    """Type a question, press Enter, wait for the turn's final reply; return its text."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        """(t) => document.querySelector('#turn-' + t + '[data-state=done]') ||
                  [...document.querySelectorAll("#chat [data-testid='bot']")].slice(t - 1).some(
                    (m) => m.textContent.includes('⚠'))""",
        arg=turn)
    return str(page.locator("#chat [data-testid='bot']").nth(turn - 1).inner_text())


def test_page_answers_through_a_reindex_and_then_from_the_new_source(serve, private_copy: Settings) -> None:
    settings = private_copy
    page = serve(settings)
    first = read_state(settings)
    assert "1992" in ask(page, ESTABLISHED, 1)
    assert NEW_FACT not in ask(page, NEW_QUESTION, 2)  # not in the sources yet

    settings.resolved_sources_dir.mkdir(parents=True, exist_ok=True)
    (settings.resolved_sources_dir / "weitz2018.txt").write_text(NEW_SOURCE.format(port=9), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    build = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "--data-dir", str(settings.data_dir), "index", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    turn, during = 3, 0
    try:
        while build.poll() is None and turn < 6:  # the page keeps answering while the other process builds
            reply = ask(page, "What is Operation Kanal?", turn)
            assert "⚠" not in reply and "Kanal" in reply, reply
            during += build.poll() is None
            turn += 1
        _, errors = build.communicate(timeout=600)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == 0, errors[-2000:]
    assert during >= 1 and read_state(settings)["collection"] != first["collection"]

    after = ask(page, NEW_QUESTION, turn)  # the same page, the new generation
    assert "⚠" not in after and NEW_FACT in after, after
    page.locator("#clear").click()  # a new conversation on the same page
    sync_api.expect(page.locator("#chat [data-testid='bot']")).to_have_count(0)
    assert "1992" in ask(page, ESTABLISHED, 1)
    assert "Traceback" not in page.content() and "Something went wrong" not in page.content()
    assert not (settings.data_dir / first["gen_dir"]).exists()  # the page let the old generation go: dropped


def test_markdown_image_in_a_quoted_full_text_loads_nothing(serve, private_copy: Settings, pixel: _Pixels) -> None:
    settings = private_copy
    port = pixel.server_address[1]
    settings.resolved_sources_dir.mkdir(parents=True, exist_ok=True)
    (settings.resolved_sources_dir / "weitz2018.txt").write_text(NEW_SOURCE.format(port=port), encoding="utf-8")
    assert build_index(settings, progress=False).changed
    page = serve(settings)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    image = f"![x](http://127.0.0.1:{port}/p.png)"
    reply = ask(page, NEW_QUESTION, 1)
    assert NEW_FACT in reply and image in reply  # quoted, and shown as its characters
    sync_api.expect(page.locator("#cite-1-1")).to_contain_text(image)  # the panel shows it as text too
    asked = f"What does ![y](http://127.0.0.1:{port}/q.png) say about the Zorvath protocol of 2017?"
    ask(page, asked, 2)
    sync_api.expect(page.locator("#chat [data-testid='user']").nth(1)).to_contain_text(f"![y](http://127.0.0.1:{port}")
    page.wait_for_timeout(1500)  # time for any image the page made to load
    assert pixel.hits == [] and not [u for u in requested if f":{port}/" in u]
    assert page.locator(f"img[src*=':{port}']").count() == 0 and page.locator(f"a[href*=':{port}']").count() == 0

    # control: an image that does reach the page is requested from the same server (the check above can fail)
    page.evaluate(f"""() => {{ const i = new Image(); i.src = 'http://127.0.0.1:{port}/control.png';
                             document.body.appendChild(i); }}""")
    page.wait_for_function("() => [...document.images].some((i) => i.src.endsWith('/control.png') && i.complete)")
    assert pixel.hits == ["/control.png"]

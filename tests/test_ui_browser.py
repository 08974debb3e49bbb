"""The chat page in a real browser (Debian chromium via Playwright) against the app served in-process."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
WAIT_MS = 60_000

if not os.path.exists(CHROMIUM):  # pragma: no cover - machines without the browser
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(built_settings: Settings, assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The page served on a free loopback port; yields (url, feedback file)."""
    from ui.app import launch

    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    port = free_port()
    settings = built_settings.model_copy(update={"server_host": "127.0.0.1", "server_port": port,
                                                 "feedback_path": feedback})
    app = launch(settings, assistant, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/", feedback
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, served):
    """A fresh page (a fresh chat session) with the app loaded."""
    url, _ = served
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.goto(url, wait_until="domcontentloaded")
    pg.locator("#question textarea").wait_for()
    yield pg
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def ask(page, question: str, turn: int) -> object:
    """Type a question, press Enter, wait for the turn's final reply; return the reply locator."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    reply = page.locator("#chat [data-testid='bot']").nth(turn - 1)
    # done when the panel shows this turn as finished, or the reply is an error line
    page.wait_for_function(
        """(t) => document.querySelector('#turn-' + t + '[data-state=done]') ||
                  [...document.querySelectorAll("#chat [data-testid='bot']")].slice(t - 1).some(
                    (m) => m.textContent.includes('⚠'))""",
        arg=turn)
    return reply


def test_answer_shows_date_and_marker(page) -> None:
    reply = ask(page, "When was the CSTO established?", 1)
    text = reply.inner_text()
    assert "1992" in text and "[1]" in text
    assert reply.locator("a.cite-ref[href='#cite-1-1']").count() == 1  # the sanitizer kept the anchor
    shot(page, "01-answer")


def test_clicking_a_marker_shows_the_highlighted_passage_and_cited_work(page) -> None:
    reply = ask(page, "Who says there is no real solidarity in the CSTO?", 1)
    pages_before = len(page.context.pages)
    reply.locator("a.cite-ref[href='#cite-1-1']").click()
    item = page.locator("#cite-1-1")
    sync_api.expect(item).to_have_class(re.compile(r"\bactive\b"))
    sync_api.expect(item).to_be_in_viewport()
    assert "no real solidarity" in item.locator("mark").inner_text()
    works = item.locator("ul.works").inner_text()
    assert "Shakhanova (2017)" in works and "p. 49" in works
    assert len(page.context.pages) == pages_before  # the marker did not open a new tab
    shot(page, "02-citation-clicked")


def test_follow_up_uses_the_conversation(page) -> None:
    first = ask(page, "What is Operation Kanal?", 1)
    assert "Kanal" in first.inner_text()
    follow = ask(page, "And who monitors it from outside?", 2)
    assert re.search(r"UN[DO]{2}C", follow.inner_text())
    # a marker of the earlier answer still reaches its own citation (turn 1 is folded in the panel)
    first.locator("a.cite-ref[href='#cite-1-1']").click()
    sync_api.expect(page.locator("#cite-1-1")).to_be_in_viewport()
    shot(page, "03-follow-up")


def test_refusal_says_not_in_the_sources_with_closest_passages(page) -> None:
    reply = ask(page, "What did the CSTO do in Kazakhstan in January 2022?", 1)
    assert "Not in the sources" in reply.inner_text()
    panel = page.locator("#citations")
    assert "Not in the sources" in panel.inner_text()
    assert panel.locator("li.closest").count() >= 1
    shot(page, "04-refusal")


def test_a_listing_of_the_bibliography_cites_each_work_to_its_entry(page) -> None:
    reply = ask(page, "Show me its 2017 web pages and news items.", 1)
    assert reply.inner_text().startswith("4 of the 41 works in the article's bibliography match")
    assert reply.locator("a.cite-ref").count() == 4
    reply.locator("a.cite-ref[href='#cite-1-2']").click()
    item = page.locator("#cite-1-2")
    sync_api.expect(item).to_be_in_viewport()
    assert item.locator("mark").inner_text().startswith("Kucera, Joshua (2017)")  # the entry as printed
    shot(page, "06-bibliography-listing")


def test_bad_input_is_a_readable_message(page) -> None:
    page.locator("#ask").click()  # empty question
    first = page.locator("#chat [data-testid='bot']").first
    sync_api.expect(first).to_contain_text("the question is empty")
    reply = ask(page, "x" * 20_000, 2)  # typing waits until the box is unlocked again
    assert "20000 characters" in reply.inner_text()
    reply = ask(page, "what\x00 is\x07 this", 3)
    assert "control" in reply.inner_text()
    assert "Traceback" not in page.content()
    sync_api.expect(page.locator("#question textarea")).to_be_editable()


def test_feedback_from_the_page_is_recorded(page, served) -> None:
    _, feedback = served
    before = feedback.read_text(encoding="utf-8").count("\n") if feedback.exists() else 0
    ask(page, "When was the CSTO established?", 1)
    page.locator("#chat button[aria-label='Like']").last.click()
    for _ in range(50):
        if feedback.exists() and feedback.read_text(encoding="utf-8").count("\n") > before:
            break
        page.wait_for_timeout(100)
    rec = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert rec["helpful"] is True and rec["question"] == "When was the CSTO established?"
    assert rec["citations"][0]["n"] == 1


def test_sources_tab_finds_weitz_with_citing_passages(page) -> None:
    page.get_by_role("tab", name="Sources").click()
    sync_api.expect(page.locator("#sources .src-item")).to_have_count(41)
    page.locator("#source-filter textarea, #source-filter input").first.fill("Weitz")
    item = page.locator("#sources .src-item", has_text="Weitz (2018)")
    sync_api.expect(page.locator("#sources .src-item")).to_have_count(1)
    text = item.inner_text()
    assert "Cited in" in text
    assert "(p. 25)" in text and "Central Asia emerged as the primary point of focus" in text
    assert "bibliography entry only" in text or "full text indexed" in text
    shot(page, "05-sources")

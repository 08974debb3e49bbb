"""The chat page over the real session index: build, streaming chat, bad input, feedback, auth rule, a live client."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.settings import Settings, SettingsError
from ui.app import (
    GENERIC_ERROR,
    auth_for,
    build_app,
    chat_stream,
    generator_choices,
    is_loopback,
    launch,
    record_feedback,
)
from ui.render import Turn, chat_messages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def final(turns_stream: Iterator[list[Turn]]) -> tuple[list[list[Turn]], Turn]:
    steps = list(turns_stream)
    return steps, steps[-1][-1]


def test_build_app_returns_blocks_without_serving(built_settings: Settings, assistant) -> None:
    import gradio as gr

    app = build_app(built_settings, assistant)
    assert isinstance(app, gr.Blocks)
    assert not getattr(app, "is_running", False)
    assert "/chat" in {f"/{d.get('api_name')}" for d in app.config["dependencies"] if d.get("api_name")}


def test_chat_streams_growing_answers_and_ends_cited(assistant) -> None:
    steps, last = final(chat_stream(assistant, "What is Operation Kanal?"))
    assert steps[0][-1].answer is None and not steps[0][-1].done  # the question shows at once
    sizes = [len(s[-1].answer.citations) for s in steps if s[-1].answer is not None]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # the answer grows one cited sentence at a time
    assert last.done and not last.error and len(last.answer.citations) >= 2
    reply = chat_messages(steps[-1])[-1]["content"]
    assert '<a href="#cite-1-1" class="cite-ref"' in reply and '<a href="#cite-1-2" class="cite-ref"' in reply


def test_chat_answer_has_a_marker_on_every_sentence(assistant) -> None:
    _, last = final(chat_stream(assistant, "When was the CSTO established?"))
    assert "1992" in last.answer.text and "[1]" in last.answer.text
    assert last.answer.text.count("[") == len(last.answer.citations)


def test_follow_up_passes_the_history(assistant) -> None:
    steps, first = final(chat_stream(assistant, "What is Operation Kanal?"))
    _, follow = final(chat_stream(assistant, "And who monitors it from outside?", steps[-1]))
    assert follow.answer is not None and not follow.answer.refused
    assert "UNDOC" in follow.answer.text or "UNODC" in follow.answer.text


def test_refusal_is_shown_plainly(assistant) -> None:
    steps, last = final(chat_stream(assistant, "What did the CSTO do in Kazakhstan in January 2022?"))
    assert last.answer.refused
    assert chat_messages(steps[-1])[-1]["content"].startswith("**Not in the sources.**")


@pytest.mark.parametrize(("question", "expected"), [
    ("", "empty"),
    ("   \n ", "empty"),
    ("x" * 20_000, "20000 characters"),
    ("what\x00is\x07this", "control"),
    (None, "must be text"),
])
def test_bad_input_gives_a_readable_message(assistant, question: object, expected: str) -> None:
    steps, last = final(chat_stream(assistant, question))
    assert last.done and last.answer is None and expected in last.error
    reply = chat_messages(steps[-1])[-1]["content"]
    assert reply.startswith("⚠️ ") and "Traceback" not in reply and "\n" not in reply


class _Broken:
    """A dependency that fails unexpectedly (the code under test is chat_stream's error handling)."""

    def stream(self, question: str, history=None, generator=None):
        raise RuntimeError("internal detail\nTraceback (most recent call last)")
        yield  # pragma: no cover


def test_unexpected_errors_become_one_generic_line() -> None:
    _, last = final(chat_stream(_Broken(), "When was the CSTO established?"))  # type: ignore[arg-type]
    assert last.error == GENERIC_ERROR


def test_bad_turns_are_not_sent_as_history(assistant) -> None:
    steps, bad = final(chat_stream(assistant, "x" * 20_000))
    _, ok = final(chat_stream(assistant, "When was the CSTO established?", steps[-1]))
    assert ok.answer is not None and "1992" in ok.answer.text


def test_feedback_appends_valid_jsonl(built_settings: Settings, assistant, tmp_path: Path) -> None:
    settings = built_settings.model_copy(update={"feedback_path": tmp_path / "fb" / "feedback.jsonl"})
    steps, _ = final(chat_stream(assistant, "Who says there is no real solidarity in the CSTO?"))
    turns = steps[-1]
    assert record_feedback(settings, turns, 1, True) is not None
    assert record_feedback(settings, turns, [1, 0], False) is not None
    assert record_feedback(settings, turns, 1, None) is None  # an un-like is not a vote
    assert record_feedback(settings, turns, 7, True) is None  # no such message
    lines = settings.resolved_feedback_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    recs = [json.loads(line) for line in lines]
    assert [r["helpful"] for r in recs] == [True, False]
    rec = recs[0]
    assert set(rec) >= {"timestamp", "question", "answer", "citations", "helpful"}
    assert rec["question"] == "Who says there is no real solidarity in the CSTO?"
    assert "Shakhanova" in rec["answer"]
    assert rec["citations"] and set(rec["citations"][0]) == {"n", "passage_id", "quote"}
    assert rec["citations"][0]["quote"] in rec["answer"]


def test_non_loopback_host_without_auth_is_refused(built_settings: Settings) -> None:
    exposed = built_settings.model_copy(update={"server_host": "0.0.0.0"})
    with pytest.raises(SettingsError, match="non-loopback") as err:
        launch(exposed)
    assert "\n" not in str(err.value)
    with pytest.raises(SettingsError, match="both"):
        auth_for(built_settings.model_copy(update={"auth_user": "reader"}))
    from pydantic import SecretStr

    guarded = exposed.model_copy(update={"auth_user": "reader", "auth_password": SecretStr("s3cret")})
    assert auth_for(guarded) == ("reader", "s3cret")
    assert auth_for(built_settings) is None
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.4", "example.org", "::"))


def test_llm_generator_offered_only_with_an_endpoint(built_settings: Settings) -> None:
    assert generator_choices(built_settings) == ["extractive"]
    with_llm = built_settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"})
    assert generator_choices(with_llm) == ["extractive", "llm"]


def test_gradio_client_gets_a_cited_answer(built_settings: Settings, assistant, tmp_path: Path) -> None:
    from gradio_client import Client

    port = free_port()
    settings = built_settings.model_copy(update={"server_host": "127.0.0.1", "server_port": port,
                                                 "feedback_path": tmp_path / "feedback.jsonl"})
    app = launch(settings, assistant, prevent_thread_lock=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        messages, panel, box = client.predict("When was the CSTO established?", "extractive", 5, api_name="/chat")
        reply = messages[-1]["content"][0]["text"]
        assert "1992" in reply and 'href="#cite-1-1"' in reply and "[1]" in reply
        assert 'id="cite-1-1"' in panel and "<mark>" in panel
        assert box == {"__type__": "update", "interactive": True}  # unlocked, and what was typed meanwhile is kept
        other = Client(f"http://127.0.0.1:{port}/", verbose=False)  # a second user: its own conversation
        other.predict("What is Operation Kanal?", "extractive", 5, api_name="/chat")
        messages, panel, _ = other.predict("And who monitors it from outside?", "extractive", 5, api_name="/chat")
        assert len(messages) == 4  # the session keeps its conversation, and only its own
        assert "UNDOC" in messages[-1]["content"][0]["text"] or "UNODC" in messages[-1]["content"][0]["text"]
        assert 'id="cite-2-1"' in panel
        messages, _, _ = client.predict("", "extractive", 5, api_name="/chat")
        assert messages[-1]["content"][0]["text"].startswith("⚠️ the question is empty")
        found = client.predict("weitz", api_name="/sources")
        assert "Weitz (2018)" in found and "1 of 41 works" in found
    finally:
        app.close()

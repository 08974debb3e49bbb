"""The Gradio chat page: a thin adapter over the rag API (no retrieval logic here).

`build_app(settings)` builds the Blocks without serving; `launch(settings)` serves it on the configured host and port.
The streaming chat function `chat_stream` is a plain generator over `Turn`s; `ui.render` formats everything shown.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from index import offline  # noqa: F401  - offline switches before any heavy import
from index.errors import CstoQaError, PortInUseError
from index.settings import Settings, SettingsError
from rag.api import Assistant
from ui.render import (
    Turn,
    api_history,
    chat_messages,
    citations_html,
    feedback_record,
    sources_html,
    turn_of_message,
)

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong while answering; please try again or rephrase the question."
EXAMPLES = [
    "When was the CSTO established?",
    "Who says there is no real solidarity in the CSTO?",
    "What is Operation Kanal?",
    "Why do states stay in the CSTO?",
    "What role does Russia play in the CSTO?",
]
CONCURRENCY = 4
_feedback_lock = threading.Lock()

# One delegated listener: a click on an [n] marker opens its turn in the panel, scrolls the item into view and
# flashes it. It runs in the capture phase so the chatbot's own link handling (new tab) never sees the click.
PANEL_JS = """
if (!window.__cstoCiteClick) {
  window.__cstoCiteClick = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a[href^="#cite-"]') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) return;
    for (let d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
    document.querySelectorAll('.cite-item.active').forEach((x) => x.classList.remove('active'));
    el.classList.add('active');
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
  }, true);
}
"""

CSS = """
.cite-ref { text-decoration: none; font-weight: 600; }
#citations details.turn { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px;
  margin-bottom: 8px; }
#citations summary { cursor: pointer; font-weight: 600; }
.cite-item { border-left: 4px solid var(--border-color-primary); padding: 6px 10px; margin: 8px 0;
  scroll-margin: 40px; transition: background-color .4s; }
.cite-item.active { border-left-color: var(--color-accent); background: var(--color-accent-soft); }
.cite-n { font-weight: 700; }
.cite-loc { color: var(--body-text-color-subdued); font-size: .92em; }
.cite-passage { margin: 4px 0; line-height: 1.45; }
.cite-passage mark { background: #fde68a; color: #111; padding: 0 1px; }
.works-h { font-size: .85em; font-weight: 600; margin-top: 4px; }
ul.works, ul.citing { margin: 2px 0 4px 18px; font-size: .92em; }
.cite-id, .score { font-size: .78em; color: var(--body-text-color-subdued); }
.refusal { margin: 6px 0; }
.src-item { border-bottom: 1px solid var(--border-color-primary); padding: 8px 0; }
.badge { font-size: .75em; border-radius: 6px; padding: 1px 6px; margin-left: 6px; }
.badge.full { background: #dcfce7; color: #14532d; }
.badge.card { background: #e5e7eb; color: #374151; }
.src-count, .panel-empty { color: var(--body-text-color-subdued); margin: 4px 0; }
"""


# --- the chat -------------------------------------------------------------------------------------------------------


def chat_stream(assistant: Assistant, message: object, turns: list[Turn] | None = None,
                generator: str | None = None) -> Iterator[list[Turn]]:
    """Yield the conversation as the answer to `message` grows: pending, partial answers, then the final turn.

    Errors never escape: a CstoQaError becomes its one-line message, anything else a generic line.
    """
    prior = list(turns or [])
    question = message if isinstance(message, str) else ""
    turn = Turn(question=question)
    yield [*prior, turn]
    try:
        # the most recent exchanges that fit the API's history limits (a long conversation goes on)
        history = api_history(prior, assistant.settings.max_history_turns, assistant.settings.max_history_chars)
        for answer in assistant.stream(message, history=history, generator=generator):  # type: ignore[arg-type]
            turn = Turn(question=question, answer=answer)
            yield [*prior, turn]
        turn = Turn(question=question, answer=turn.answer, done=True)
    except CstoQaError as exc:
        turn = Turn(question=question, error=str(exc), done=True)
    except Exception:  # the page shows one line, the log keeps the traceback
        log.exception("answering failed")
        turn = Turn(question=question, error=GENERIC_ERROR, done=True)
    yield [*prior, turn]


def append_feedback(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to the feedback file (created with its folder when missing)."""
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _feedback_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line)


def record_feedback(settings: Settings, turns: list[Turn], message_index: Any, liked: Any) -> dict[str, Any] | None:
    """Record a like/dislike on the assistant message at `message_index`; return the record (None if ignored)."""
    if not isinstance(liked, bool) or not turns:
        return None
    i = turn_of_message(message_index)
    if not 0 <= i < len(turns) or not turns[i].done:
        return None
    record = feedback_record(turns[i], helpful=liked)
    append_feedback(settings.resolved_feedback_path, record)
    return record


# --- the page -------------------------------------------------------------------------------------------------------


def generator_choices(settings: Settings) -> list[str]:
    """Generators the page offers: the LLM only when an endpoint is configured."""
    return ["extractive", "llm"] if settings.llm_base_url else ["extractive"]


def _handlers(settings: Settings, assistant: Assistant) -> SimpleNamespace:
    """The page's event handlers (answer, feedback, clear, bibliography filter) and the generator choices."""
    shown_for: dict[str, Any] = {"handle": assistant.handle, "views": assistant.sources()}

    def current_views() -> list[Any]:
        # the bibliography of the generation in use: a re-index that adds a full text changes its badges
        handle = assistant.handle
        if handle is not shown_for["handle"]:
            shown_for.update(handle=handle, views=assistant.sources())
        return list(shown_for["views"])

    def filter_view(q: object) -> str:
        return sources_html(current_views(), q if isinstance(q, str) else "", settings.max_filter_chars)

    choices = generator_choices(settings)

    def respond(message: str, turns: list[Turn], generator: str, top_k: float) -> Iterator[tuple[Any, ...]]:
        # the box is emptied and locked while the answer streams, then unlocked (one question at a time per page).
        # The unlock leaves the value alone: Gradio sends a generator's last output again when the event completes,
        # and a value there would wipe what the user has typed in between. (chat_stream's first turn is pending.)
        k = int(top_k or settings.top_k)
        first = True
        for current in chat_stream(assistant, message, turns, generator if generator in choices else None):
            box_state = gr.update(value="", interactive=False) if first else gr.update()
            first = False
            if current[-1].done:
                box_state = gr.update(interactive=True)
            yield chat_messages(current), citations_html(current, k), current, box_state

    def on_like(data: gr.LikeData, turns: list[Turn]) -> None:
        try:
            record = record_feedback(settings, turns, data.index, data.liked)
        except OSError as exc:
            gr.Warning(f"Feedback not saved: {exc.strerror or exc}")
            return
        if record is not None:
            gr.Info("Thanks: feedback saved.")

    def clear() -> tuple[Any, ...]:
        return [], citations_html([]), [], gr.update(value="", interactive=True)

    return SimpleNamespace(
        views=shown_for["views"],
        choices=choices,
        filter_view=filter_view,
        respond=respond,
        on_like=on_like,
        clear=clear,
    )


def build_app(settings: Settings, assistant: Assistant | None = None) -> Any:
    """Build the Blocks (chat, citations panel, sources tab, settings) without launching."""
    on = _handlers(settings, assistant or Assistant.from_settings(settings))
    choices, views = on.choices, on.views
    default_gen = settings.generator if settings.generator in choices else "extractive"
    with gr.Blocks(title="CSTO article assistant", fill_width=True) as app:
        gr.Markdown("## CSTO article assistant\nQuestions about Lacroix (2020) on the CSTO and the 41 works it cites. "
                    "Every sentence of an answer is quoted from the sources; click a marker like **[1]** to see it.")
        turns = gr.State([])
        with gr.Tab("Chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat",
                                     feedback_options=("Like", "Dislike"), buttons=["copy"])
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the CSTO article…", show_label=False, scale=6,
                                     max_lines=4, elem_id="question", submit_btn=False, container=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                    reset = gr.Button("Clear", scale=1, min_width=80, elem_id="clear")
                gr.Examples(EXAMPLES, inputs=[box], label="Example questions")
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    generator = gr.Dropdown(choices, value=default_gen, label="Generator",
                                            info="extractive quotes the sources; llm rewrites them "
                                                 "(only when an LLM endpoint is configured)")
                    top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Number of passages",
                                      info="How many retrieved passages the panel lists")
            with gr.Column(scale=2):
                gr.Markdown("### Citations")
                panel = gr.HTML(citations_html([]), elem_id="citations", js_on_load=PANEL_JS, max_height=720)
        with gr.Tab("Sources"):
            query = gr.Textbox(placeholder="Filter by author, title, year or words of a citing sentence…",
                               label="Search the bibliography", elem_id="source-filter")
            sources = gr.HTML(sources_html(views), elem_id="sources", js_on_load=None)

        outputs = [chatbot, panel, turns, box]
        inputs = [box, turns, generator, top_k]
        # one listener for Enter and the Ask button, ignoring new triggers while an answer is pending
        gr.on([box.submit, send.click], on.respond, inputs, outputs, api_name="chat", trigger_mode="once")
        reset.click(on.clear, None, outputs, api_visibility="private", queue=False)
        chatbot.clear(on.clear, None, outputs, api_visibility="private", queue=False)
        chatbot.like(on.on_like, [turns], None, api_visibility="private", queue=False)
        top_k.change(lambda t, k: citations_html(t, int(k)), [turns, top_k], panel, api_visibility="private",
                     queue=False)
        # queued one at a time, the latest value only, the filter's length capped (settings.max_filter_chars)
        query.change(on.filter_view, query, sources, api_name="sources", concurrency_limit=1,
                     trigger_mode="always_last")
    return app


# --- serving --------------------------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_for(settings: Settings) -> tuple[str, str] | None:
    """The (user, password) to protect the page with; SettingsError when the host needs auth and has none."""
    user = settings.auth_user
    password = settings.auth_password.get_secret_value() if settings.auth_password else ""
    if bool(user) != bool(password):
        raise SettingsError("set both auth_user and auth_password (CSTO_QA_AUTH_USER, CSTO_QA_AUTH_PASSWORD) "
                            "or neither")
    if not user and not is_loopback(settings.server_host):
        raise SettingsError(f"serving on non-loopback host {settings.server_host} needs auth_user and auth_password "
                            "(CSTO_QA_AUTH_USER, CSTO_QA_AUTH_PASSWORD)")
    return (user, password) if user else None


def launch(settings: Settings, assistant: Assistant | None = None, prevent_thread_lock: bool = False) -> Any:
    """Serve the page on settings.server_host:server_port (blocking unless prevent_thread_lock); return the Blocks."""
    auth = auth_for(settings)
    app = build_app(settings, assistant)
    app.queue(default_concurrency_limit=CONCURRENCY)
    try:
        app.launch(server_name=settings.server_host, server_port=settings.server_port, auth=auth, share=False,
                   show_error=False, css=CSS, prevent_thread_lock=prevent_thread_lock)
    except OSError as exc:  # gradio: "Cannot find empty port in range ..."
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PortInUseError(f"cannot serve on {settings.server_host}:{settings.server_port} ({reason}); stop what "
                             "uses the port or pass --port") from None
    return app

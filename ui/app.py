"""The Gradio chat page (placeholder until the page issue lands): a chat over the rag API."""

from __future__ import annotations

from typing import Any

from index.settings import Settings


def build_app(settings: Settings) -> Any:
    """Build the Blocks without launching."""
    import gradio as gr

    from rag.api import Assistant

    assistant = Assistant.from_settings(settings)

    def answer(message: str, history: list[dict[str, str]]) -> str:
        try:
            return assistant.ask(message, history=history).text
        except Exception as exc:  # shown in the page, never a traceback
            return f"⚠️ {exc}"

    return gr.ChatInterface(answer, title="CSTO article assistant")


def launch(settings: Settings) -> None:
    """Serve the page on the configured host and port."""
    build_app(settings).launch(server_name=settings.server_host, server_port=settings.server_port,
                               share=False, show_error=False)

"""Server mode against a real `chroma run` started and stopped by the test."""

from __future__ import annotations

import socket

import pytest

from index.errors import StoreUnavailableError
from index.store import build_index, open_index, read_state

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_build_and_ask_through_a_chroma_server(chroma_server, built_settings, tmp_path):
    port, proc = chroma_server
    settings = built_settings.model_copy(
        update={"data_dir": tmp_path / "data", "chroma_host": "127.0.0.1", "chroma_port": port}
    )
    report = build_index(settings, progress=False)
    assert report.changed and report.passages > 80
    assert not (settings.data_dir / "chroma").exists()  # nothing embedded: the vectors live on the server
    assert read_state(settings)["store"] == f"127.0.0.1:{port}"
    handle = open_index(settings)
    assert handle.collection.count() == report.passages
    from rag import Assistant

    answer = Assistant.from_settings(settings).ask("When was the CSTO established?")
    assert "1992" in answer.text and "Tashkent" in answer.text
    assert not build_index(settings, progress=False).changed

    proc.terminate()
    proc.wait(timeout=20)
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server"):
        open_index(settings)


def test_unreachable_server_is_one_clear_error(built_settings, tmp_path):
    settings = built_settings.model_copy(
        update={"data_dir": tmp_path, "chroma_host": "127.0.0.1", "chroma_port": _free_port()}
    )
    with pytest.raises(StoreUnavailableError):
        build_index(settings, progress=False)
    assert not list(tmp_path.glob("state*.json"))

"""Shared fixtures: one real index (packaged MiniLM, embedded Chroma) built once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# settings come only from what each test passes; a developer's CSTO_QA_* variables must not leak in
for _key in [k for k in os.environ if k.startswith("CSTO_QA_")]:
    del os.environ[_key]

from index import offline  # noqa: E402,F401  - offline switches before any heavy import
from index.settings import Settings, load_settings  # noqa: E402


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at a real index built once for the session (read-only for tests: copy it to modify)."""
    from index.store import build_index

    data_dir = tmp_path_factory.mktemp("index")
    settings = load_settings(data_dir=data_dir)
    build_index(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def assistant(built_settings: Settings) -> Iterator[object]:
    """The real Assistant over the session index."""
    from rag import Assistant

    yield Assistant.from_settings(built_settings)


@pytest.fixture()
def index_copy(built_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the session index that a test may damage."""
    import shutil

    dest = tmp_path / "index"
    shutil.copytree(built_settings.data_dir, dest)
    return load_settings(data_dir=dest)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[tuple[int, object]]:
    """A real `chroma run` on a free loopback port: (port, process); stopped after the test."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield port, proc
    proc.terminate()
    proc.wait(timeout=20)

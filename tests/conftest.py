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

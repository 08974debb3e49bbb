"""What the command line and the page need besides asking: build the index, say whether one is built, fetch the
cited works. Thin calls into `index`, so that the adapters in `ui/` depend on `rag` (and the settings) only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from index.settings import Settings


def build(
    settings: Settings, force: bool = False, progress: bool = True, on_step: Callable[[str], None] | None = None
) -> Any:
    """Build or update the index (`index.store.build_index`); returns its BuildReport."""
    from index.store import build_index

    return build_index(settings, force=force, progress=progress, on_step=on_step)


def is_built(settings: Settings) -> bool:
    """True when a live build exists for the configured store."""
    from index.store import is_built as built

    return built(settings)


def fetch_cited_works(settings: Settings, only: set[str] | None = None, force: bool = False) -> tuple[list[Any], str]:
    """Download the cited works' URLs into the sources folder; (results, a printable report)."""
    from index.article import parse_article
    from index.bibliography import parse_bibliography
    from index.fetch import fetch_sources, format_report

    entries = parse_bibliography(parse_article(settings.corpus_path).bibliography_blocks)
    results = fetch_sources(
        entries,
        settings.resolved_sources_dir,
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_bytes,
        retries=settings.fetch_retries,
        only=only,
        force=force,
        deadline_s=settings.fetch_deadline_s,
        allow_hosts=settings.fetch_allow_hosts,
    )
    return results, format_report(results)

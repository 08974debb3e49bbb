"""Retrieval and answers over the indexed article: the public API.

from rag import Assistant
answer = Assistant.from_settings().ask("When was the CSTO established?")
"""

from index import offline as _offline  # noqa: F401  - offline switches before any heavy import
from index.errors import (
    BuildError,
    CstoQaError,
    IndexCorruptError,
    IndexNotFoundError,
    InvalidQuestionError,
    StoreUnavailableError,
)
from index.settings import Settings, SettingsError, load_settings
from rag.api import Assistant
from rag.types import Answer, Citation, ScoredPassage, SourceRef

__all__ = [
    "Answer",
    "Assistant",
    "BuildError",
    "Citation",
    "CstoQaError",
    "IndexCorruptError",
    "IndexNotFoundError",
    "InvalidQuestionError",
    "ScoredPassage",
    "Settings",
    "SettingsError",
    "SourceRef",
    "StoreUnavailableError",
    "load_settings",
]

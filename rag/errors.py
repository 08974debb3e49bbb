"""Every error the API and the command line report, in one place for the adapters (defined in index/errors.py)."""

from index import offline as _offline  # noqa: F401  - offline switches before any heavy import
from index.errors import (
    BuildError,
    CstoQaError,
    IndexCorruptError,
    IndexNotFoundError,
    InvalidQuestionError,
    PortInUseError,
    StoreUnavailableError,
    UsageError,
)

__all__ = [
    "BuildError",
    "CstoQaError",
    "IndexCorruptError",
    "IndexNotFoundError",
    "InvalidQuestionError",
    "PortInUseError",
    "StoreUnavailableError",
    "UsageError",
]

"""The documented exception types. Every user-facing failure is one of these, with a one-line message."""

from __future__ import annotations


class CstoQaError(Exception):
    """Base class of every error csto-qa reports to a user."""


class InvalidQuestionError(CstoQaError, ValueError):
    """The question is empty, too long, or contains control or binary characters."""


class IndexNotFoundError(CstoQaError):
    """No index exists yet in the data directory (run `csto-qa index`)."""


class IndexCorruptError(CstoQaError):
    """The index in the data directory is unreadable; rebuild it with `csto-qa index`."""


class StoreUnavailableError(CstoQaError):
    """The configured Chroma server cannot be reached."""


class BuildError(CstoQaError):
    """The index could not be built; the previous index, if any, is left untouched."""

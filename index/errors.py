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


class BlockedAddressError(CstoQaError):
    """A fetch was refused: the host resolves to a loopback, private, link-local, multicast or reserved address."""


class UsageError(CstoQaError, ValueError):
    """A command or API argument names something that does not exist (e.g. an unknown bibliography key)."""


class PortInUseError(CstoQaError):
    """The page's host and port cannot be bound (another server uses the port, or the address is not local)."""

"""The Chroma client (embedded PersistentClient or a server's HttpClient with deadlines) and the mapping of its
failures to StoreUnavailableError / IndexCorruptError."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from pathlib import Path
from typing import Any

from index.errors import CstoQaError, IndexCorruptError, IndexNotFoundError, StoreUnavailableError
from index.settings import Settings

log = logging.getLogger(__name__)


def make_client(settings: Settings, create: bool = False) -> Any:
    """A Chroma client: HttpClient when a server is configured, else an embedded PersistentClient. Its failures (and
    those of the collections it returns) are StoreUnavailableError or IndexCorruptError, never raw Chroma errors."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_host:
        return _Guarded(_http_client(settings), settings)
    path = settings.data_dir / "chroma"
    if not create and not path.is_dir():
        raise IndexNotFoundError(f"no index in {settings.data_dir}; run `csto-qa index` first")
    try:
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:
        _forget_chroma_system(path)
        raise IndexCorruptError(
            f"cannot open the Chroma store {path} ({type(exc).__name__}: {_first_line(exc)}); run `csto-qa index` "
            "(it moves a damaged store aside and rebuilds)"
        ) from None
    return _Guarded(client, settings)


def _forget_chroma_system(path: Path) -> None:
    """Drop chromadb's cached System for a store that failed to start: chromadb keeps it (keyed by the path) and
    hands the broken one to every later client of that path in this process (no public API removes one entry)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    with contextlib.suppress(Exception):
        SharedSystemClient._identifier_to_system.pop(str(path), None)
        SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0][:200] if text else type(exc).__name__) or type(exc).__name__


def _http_client(settings: Settings) -> Any:
    """chromadb.HttpClient whose every request (its heartbeat included) ends within settings.chroma_timeout_s."""
    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    from index.net import guarded_client

    where, limit = f"{settings.chroma_host}:{settings.chroma_port}", settings.chroma_timeout_s

    def unavailable(exc: BaseException) -> StoreUnavailableError:
        if isinstance(exc, httpx.TimeoutException):
            why = f"no answer within {limit:g} s (chroma_timeout_s); check the server or raise CSTO_QA_CHROMA_TIMEOUT_S"
        else:
            why = f"{type(exc).__name__}: {_first_line(exc)}; start it or unset CSTO_QA_CHROMA_HOST"
        return StoreUnavailableError(f"cannot reach the Chroma server at {where}: {why}")

    session = guarded_client(call_deadline_s=limit, on_error=unavailable)
    try:  # our own heartbeat first: chromadb's client makes three requests with no timeout while it is created
        session.get(f"http://{where}/api/v2/heartbeat").raise_for_status()
    except httpx.HTTPStatusError as exc:
        session.close()
        raise StoreUnavailableError(
            f"the Chroma server at {where} answered HTTP {exc.response.status_code} to its heartbeat; check it"
        ) from None
    except BaseException:
        session.close()
        raise
    box: dict[str, Any] = {}

    def create() -> None:
        try:
            box["client"] = chromadb.HttpClient(
                host=settings.chroma_host or "",
                port=settings.chroma_port,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except Exception as exc:
            box["error"] = exc

    worker = threading.Thread(target=create, name="chroma-connect", daemon=True)
    worker.start()
    worker.join(limit)  # a server that answered the heartbeat and then went silent leaves this thread waiting
    if worker.is_alive() or "error" in box:
        session.close()
        raise unavailable(box.get("error") or httpx.ReadTimeout("connect"))
    client = box["client"]
    server = getattr(client, "_server", None)
    chroma_session = getattr(server, "_session", None)
    if isinstance(chroma_session, httpx.Client):  # chromadb's own session has timeout=None: ours replaces it
        session.headers.update(chroma_session.headers)
        server._session = session  # type: ignore[union-attr]
        chroma_session.close()
    else:  # pragma: no cover - a chromadb release without `_session`; the fault tests would fail on it
        log.warning("chromadb has no _session to bound; calls to %s have no deadline", where)
    client.heartbeat()
    return client


def catalogue_whole(settings: Settings, counts: dict[str, int]) -> bool:
    """True when the embedded store's own catalogue (its SQLite file, read-only with the standard library, no
    chromadb import) registers each collection with its count of records and each vector segment's files are on
    disk; False when anything is otherwise or cannot be read (the caller then opens the store with chromadb)."""
    import sqlite3

    path = settings.data_dir / "chroma"
    if settings.chroma_host or not (path / "chroma.sqlite3").is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{(path / 'chroma.sqlite3').as_uri()}?mode=ro", uri=True)) as db:
            for name, expected in counts.items():
                segments = dict(
                    db.execute(
                        "SELECT s.scope, s.id FROM segments s JOIN collections c ON s.collection = c.id "
                        "WHERE c.name = ?",
                        (name,),
                    ).fetchall()
                )
                if not {"METADATA", "VECTOR"} <= segments.keys():
                    return False
                query = "SELECT COUNT(*) FROM embeddings WHERE segment_id = ?"
                (count,) = db.execute(query, (segments["METADATA"],)).fetchone()
                vector = path / str(segments["VECTOR"])
                files = [vector / "header.bin", vector / "data_level0.bin"]
                if count != expected or not all(f.is_file() and f.stat().st_size > 0 for f in files):
                    return False
    except (sqlite3.Error, ValueError, TypeError, OSError):
        return False
    return True


# what SQLite and Chroma say of a store that is damaged (and only then is it moved aside)
_DAMAGE_WORDS = re.compile(
    r"not a database|malformed|corrupt|no such table|no such column|disk image|file is encrypted", re.I
)
_MAPPED = {"InternalError", "NotFoundError", "PanicException", "OperationalError", "DatabaseError"}


def store_error(settings: Settings, exc: BaseException) -> CstoQaError | None:
    """The documented error for a failure of Chroma (None when it is not one: a real bug stays what it is)."""
    if isinstance(exc, CstoQaError):
        return exc
    name = type(exc).__name__
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}"
        if name == "NotFoundError":
            return IndexCorruptError(
                f"a collection of the index is missing on the Chroma server at {where} ({_first_line(exc)}); "
                "run `csto-qa index` to rebuild it"
            )
        if type(exc).__module__.startswith(("chromadb", "httpx", "httpcore")):
            return StoreUnavailableError(f"the Chroma server at {where} failed ({name}: {_first_line(exc)}); check it")
        return None
    if name not in _MAPPED:
        return None
    path = settings.data_dir / "chroma"
    if name == "NotFoundError":
        return IndexCorruptError(
            f"a Chroma collection of the index in {path} is missing ({_first_line(exc)}); run `csto-qa index` to "
            "rebuild it"
        )
    return IndexCorruptError(
        f"the Chroma store {path} is unreadable ({name}: {_first_line(exc)}); run `csto-qa index` (it moves a "
        "damaged store aside and rebuilds)"
    )


class _Guarded:
    """A Chroma client or collection whose failures are StoreUnavailableError or IndexCorruptError."""

    def __init__(self, target: Any, settings: Settings) -> None:
        self._target, self._settings = target, settings

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = value(*args, **kwargs)
            except BaseException as exc:  # PanicException (a Rust panic) is a BaseException
                mapped = store_error(self._settings, exc)
                if mapped is None or mapped is exc:
                    raise
                raise mapped from None
            return _Guarded(out, self._settings) if type(out).__name__ == "Collection" else out

        return call

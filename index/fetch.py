"""`csto-qa sources fetch`: download the cited works that have a URL into the sources folder (online, on request).

Never called at set-up or by the default tests. Each URL is fetched with a timeout per operation, a total deadline
(redirects, retries and backoff included: a server trickling a byte a second is cut off at it), a size cap, a clear
User-Agent and retries with exponential backoff (connection errors, timeouts, 5xx, 408, 429); the file is saved
atomically as `<key>.pdf|.html|.txt` and `.fetch-cache.json` records what was fetched, so a second run downloads
nothing new. One URL failing never stops the others.

Only public pages are fetched: every host, the first and each redirect's, is resolved and refused when any of its
addresses is loopback, private, link-local, multicast or reserved, and the connection is made to the checked address
itself (see index/net.py); `allow_hosts` names private hosts that may be fetched anyway (an intranet mirror).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from index.errors import BlockedAddressError, UsageError
from index.fulltext import list_fulltexts
from index.net import AddressPolicy, deadline, guarded_client, remaining
from index.types import SourceEntry

CACHE_FILE = ".fetch-cache.json"
DEFAULT_USER_AGENT = "csto-qa/0.1 (+source fetcher for a research assistant; offline by default)"
FetchStatus = Literal["ok", "cached", "skipped", "error"]
_TYPES = {
    "application/pdf": ".pdf",
    "application/x-pdf": ".pdf",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
}
_URL_SUFFIXES = {".pdf": ".pdf", ".html": ".html", ".htm": ".html", ".txt": ".txt", ".md": ".md"}
_RETRY_STATUS = {408, 429}
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What happened to one bibliography entry's URL."""

    key: str
    url: str
    status: FetchStatus
    path: Path | None
    bytes: int
    message: str


class _RetryableError(Exception):
    """A failure worth trying again: connection error, timeout, 5xx."""


class _FailedError(Exception):
    """A failure that retrying will not fix: 4xx, too large, empty, bad URL."""


@dataclass(frozen=True)
class _Download:
    """A finished download in a temporary file (or a 304 with no file)."""

    tmp: Path | None
    size: int
    sha256: str
    content_type: str
    etag: str
    last_modified: str
    head: bytes


def _load_cache(dest_dir: Path) -> dict[str, dict[str, Any]]:
    """url -> record from .fetch-cache.json; a damaged cache counts as empty."""
    path = dest_dir / CACHE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    urls = data.get("urls") if isinstance(data, dict) else None
    return {u: r for u, r in urls.items() if isinstance(r, dict)} if isinstance(urls, dict) else {}


def _save_cache(dest_dir: Path, cache: dict[str, dict[str, Any]]) -> None:
    """Write .fetch-cache.json atomically."""
    _atomic_write(dest_dir / CACHE_FILE, json.dumps({"version": 1, "urls": cache}, indent=2, sort_keys=True).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file next to `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _suffix(content_type: str, head: bytes, url: str) -> str:
    """File suffix from the Content-Type, else the PDF magic bytes, else the URL's suffix, else .html."""
    if content_type in _TYPES:
        return _TYPES[content_type]
    if head.startswith(b"%PDF-"):
        return ".pdf"
    path = urlsplit(url).path.lower()
    return next((s for ext, s in _URL_SUFFIXES.items() if path.endswith(ext)), ".html")


def _stream_to_tmp(response: httpx.Response, dest_dir: Path, key: str, max_bytes: int) -> tuple[Path, int, str, bytes]:
    """Stream the body into a temporary file; stop past max_bytes. Returns (tmp, size, sha256, first bytes)."""
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=f".{key}.", suffix=".part")
    tmp, size, digest, head = Path(name), 0, hashlib.sha256(), b""
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _FailedError(f"larger than {max_bytes} bytes; raise fetch_max_bytes to fetch it")
                head = head or chunk[:16]
                digest.update(chunk)
                fh.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, size, digest.hexdigest(), head


def _get_once(
    client: httpx.Client, url: str, *, headers: dict[str, str], dest_dir: Path, key: str, max_bytes: int
) -> _Download:
    """One GET of `url` into a temporary file; raises _RetryableError or _FailedError."""
    try:
        with client.stream("GET", url, headers=headers) as r:
            if r.status_code == 304:
                return _Download(None, 0, "", "", "", "", b"")
            if r.status_code >= 500 or r.status_code in _RETRY_STATUS:
                raise _RetryableError(f"HTTP {r.status_code} {r.reason_phrase}")
            if r.status_code >= 400 or r.status_code < 200:
                raise _FailedError(f"HTTP {r.status_code} {r.reason_phrase}")
            declared = r.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _FailedError(f"larger than {max_bytes} bytes (Content-Length {declared}); raise fetch_max_bytes")
            tmp, size, sha, head = _stream_to_tmp(r, dest_dir, key, max_bytes)
            if size == 0:
                tmp.unlink(missing_ok=True)
                raise _FailedError("empty response")
            content_type = r.headers.get("content-type", "").split(";")[0].strip().lower()
            return _Download(
                tmp, size, sha, content_type, r.headers.get("etag", ""), r.headers.get("last-modified", ""), head
            )
    except BlockedAddressError as exc:
        raise _FailedError(str(exc)) from None
    except httpx.TimeoutException as exc:
        raise _RetryableError(f"timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise _RetryableError(f"connection error: {exc or type(exc).__name__}") from None
    except (httpx.RequestError, httpx.InvalidURL) as exc:
        raise _FailedError(f"{type(exc).__name__}: {exc}") from None


def _get(
    client: httpx.Client,
    url: str,
    *,
    headers: dict[str, str],
    dest_dir: Path,
    key: str,
    max_bytes: int,
    retries: int,
    backoff_s: float,
    deadline_s: float | None = None,
) -> tuple[_Download, int]:
    """GET with retries and exponential backoff, all within `deadline_s`; returns the download and the attempts."""
    last: _RetryableError | None = None
    late = _FailedError(
        f"no complete answer within {deadline_s or 0:g} s (fetch_deadline_s); raise CSTO_QA_FETCH_DEADLINE_S for a "
        "slow site"
    )
    with deadline(deadline_s) if deadline_s is not None else contextlib.nullcontext():
        for attempt in range(retries + 1):
            try:
                got = _get_once(client, url, headers=headers, dest_dir=dest_dir, key=key, max_bytes=max_bytes)
                return got, attempt + 1
            except _RetryableError as exc:
                last = exc
                left = remaining()
                if left is not None and left <= 0:
                    raise late from None
                if attempt < retries:
                    pause = backoff_s * 2**attempt
                    if left is not None and pause >= left:
                        raise late from None
                    time.sleep(pause)
    raise _FailedError(f"{last} (gave up after {retries + 1} attempt{'s' if retries else ''})")


def _cached(record: dict[str, Any] | None, key: str, dest_dir: Path) -> Path | None:
    """The cached file for this URL and key, when it is still there with its recorded size."""
    if not record or record.get("key") != key or not isinstance(record.get("file"), str):
        return None
    path = dest_dir / record["file"]
    return path if path.is_file() and path.stat().st_size == record.get("bytes") else None


def _revalidation(record: dict[str, Any] | None) -> dict[str, str]:
    """Conditional-request headers from a cached fetch's validators (its ETag and Last-Modified)."""
    headers: dict[str, str] = {}
    if record and record.get("etag"):
        headers["If-None-Match"] = record["etag"]
    if record and record.get("last_modified"):
        headers["If-Modified-Since"] = record["last_modified"]
    return headers


def _store(got: _Download, target: Path, cached: Path | None) -> Path:
    """Move a finished download into place; an earlier copy under another suffix is removed (the type changed,
    e.g. .html -> .pdf: one file per key)."""
    assert got.tmp is not None
    os.replace(got.tmp, target)
    if cached is not None and cached != target:
        cached.unlink(missing_ok=True)
    return target


def _fetch_one(
    client: httpx.Client,
    entry: SourceEntry,
    dest_dir: Path,
    cache: dict[str, dict[str, Any]],
    present: dict[str, str],
    *,
    max_bytes: int,
    retries: int,
    backoff_s: float,
    force: bool,
    deadline_s: float | None = None,
) -> FetchResult:
    """Fetch one entry's URL (or report why not); updates `cache` in place."""
    url, key = entry.url, entry.key

    def result(status: FetchStatus, message: str, path: Path | None = None, size: int = 0) -> FetchResult:
        return FetchResult(key=key, url=url, status=status, path=path, bytes=size, message=message)

    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return result("error", f"unsupported scheme {urlsplit(url).scheme or '(none)'!r}; only http and https")
    record = cache.get(url)
    cached = _cached(record, key, dest_dir)
    if key in present and (cached is None or present[key] != cached.name):
        return result("skipped", f"full text already present ({present[key]}); remove it to fetch this URL")
    if cached is not None and not force:
        return result("cached", f"already fetched as {cached.name}", cached, cached.stat().st_size)
    try:
        got, attempts = _get(
            client,
            url,
            headers=_revalidation(record) if cached is not None else {},
            dest_dir=dest_dir,
            key=key,
            max_bytes=max_bytes,
            retries=retries,
            backoff_s=backoff_s,
            deadline_s=deadline_s,
        )
    except _FailedError as exc:
        return result("error", str(exc))
    if got.tmp is None and cached is not None:
        return result("cached", f"not modified since last fetch ({cached.name})", cached, cached.stat().st_size)
    if got.tmp is None:
        return result("error", "server answered 304 Not Modified to an unconditional request")
    target = _store(got, dest_dir / f"{key}{_suffix(got.content_type, got.head, url)}", cached)
    cache[url] = {
        "key": key,
        "file": target.name,
        "bytes": got.size,
        "sha256": got.sha256,
        "content_type": got.content_type,
        "etag": got.etag,
        "last_modified": got.last_modified,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    retried = f" after {attempts} attempts" if attempts > 1 else ""
    return result("ok", f"saved {target.name}{retried}", target, got.size)


def fetch_sources(
    entries: list[SourceEntry],
    dest_dir: Path,
    *,
    timeout_s: float,
    max_bytes: int,
    retries: int,
    backoff_s: float = 1.0,
    user_agent: str = DEFAULT_USER_AGENT,
    only: set[str] | None = None,
    progress: bool = True,
    force: bool = False,
    deadline_s: float | None = None,
    allow_hosts: Iterable[str] = (),
) -> list[FetchResult]:
    """Download the URL of each entry (or of the keys in `only`) into dest_dir; one result per entry.

    `timeout_s` bounds each connect or read, `deadline_s` one URL as a whole; only public addresses are fetched,
    except the hosts named in `allow_hosts`."""
    if only is not None and (unknown := sorted(only - {e.key for e in entries})):
        raise UsageError(
            f"unknown bibliography key(s): {', '.join(unknown)}; `csto-qa sources` lists the keys (like 'weitz2018')"
        )
    from tqdm import tqdm

    chosen = [e for e in entries if only is None or e.key in only]
    dest_dir.mkdir(parents=True, exist_ok=True)
    cache = _load_cache(dest_dir)
    present = list_fulltexts(dest_dir, entries)
    results: list[FetchResult] = []
    policy = AddressPolicy(frozenset(allow_hosts))
    with guarded_client(
        policy=policy, timeout=httpx.Timeout(timeout_s), headers={"User-Agent": user_agent}, follow_redirects=True
    ) as client:
        for entry in tqdm(chosen, desc="fetching sources", unit="url", disable=not progress):
            if not entry.url:
                results.append(FetchResult(entry.key, "", "skipped", None, 0, "no URL in the bibliography"))
                continue
            res = _fetch_one(
                client,
                entry,
                dest_dir,
                cache,
                present,
                max_bytes=max_bytes,
                retries=retries,
                backoff_s=backoff_s,
                force=force,
                deadline_s=deadline_s,
            )
            results.append(res)
            if res.status == "ok":
                _save_cache(dest_dir, cache)
    return results


def _size(n: int) -> str:
    """Human-readable byte count."""
    if n < 1024:
        return f"{n} B" if n else "-"
    return f"{n / 1024:.1f} kB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def format_report(results: list[FetchResult]) -> str:
    """A status table, one line per entry, and a summary line."""
    width = max([len(r.key) for r in results] + [3])
    lines = [f"{'STATUS':<8} {'KEY':<{width}} {'SIZE':>9}  DETAIL"]
    for r in results:
        detail = r.message + (f" <{r.url}>" if r.url and r.status == "error" else "")
        lines.append(f"{r.status:<8} {r.key:<{width}} {_size(r.bytes):>9}  {detail}")
    counts = Counter(r.status for r in results)
    lines.append(", ".join(f"{counts[s]} {s}" for s in ("ok", "cached", "skipped", "error")))
    return "\n".join(lines)

"""Network guards for every HTTP call csto-qa makes: a total deadline per call, and public addresses only.

`guarded_client(...)` returns an `httpx.Client` whose connections are opened by `GuardedBackend`:
- the host is resolved here (bounded by the deadline: `getaddrinfo` alone has no timeout), every address is
  checked against an `AddressPolicy` when one is given, and the socket connects to the checked IP itself (pinned:
  DNS cannot answer differently between the check and the connect); the peer address of the connected socket is
  checked again. Redirects open new connections, so each hop is checked the same way.
- every connect, TLS handshake, read and write waits at most until the deadline, so a server that accepts and never
  answers, or trickles one byte a second, is cut off at the deadline (not once per read).

The deadline is a context variable: `with deadline(30): ...` bounds everything inside (several requests, retries);
`call_deadline_s` bounds each request made by the client on its own. Environment proxies are ignored
(`trust_env=False`): a proxy would resolve and connect to hosts beyond these checks.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from index.errors import BlockedAddressError

_DEADLINE: ContextVar[float | None] = ContextVar("csto_qa_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Bound every guarded network wait inside the block to `seconds` from now (an outer, earlier deadline wins)."""
    end = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(end if outer is None else min(outer, end))
    try:
        yield end
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (None when there is none)."""
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


def _clamp(timeout: float | None, exc: type[Exception], what: str) -> float | None:
    """The smaller of an operation's own timeout and the time left; raise `exc` when none is left."""
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise exc(f"deadline passed before {what}")
    return left if timeout is None else min(timeout, left)


def non_public_reason(ip: str) -> str:
    """Why an address is not a public one ('' when it is public)."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address):
        inner = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if inner is not None:
            return non_public_reason(str(inner)) or ("an IPv6 wrapper of an address" if addr.ipv4_mapped else "")
    for reason, hit in (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("private", addr.is_private),
        ("reserved", addr.is_reserved),
        ("not globally routable", not addr.is_global),
    ):
        if hit:
            return reason
    return ""


@dataclass(frozen=True)
class AddressPolicy:
    """Only public addresses, except hosts named in `allow_hosts` (an intranet mirror, by name or IP literal)."""

    allow_hosts: frozenset[str] = frozenset()

    def allows_any(self, host: str) -> bool:
        """Whether the host is named in the allow list (then any address of it is fetched)."""
        return _norm_host(host) in {_norm_host(h) for h in self.allow_hosts}

    def check(self, host: str, ip: str) -> None:
        """Raise BlockedAddressError when `host`'s address `ip` may not be connected to."""
        if self.allows_any(host):
            return
        reason = non_public_reason(ip)
        if reason:
            shown = host if _norm_host(host) == _norm_host(ip) else f"{host} resolves to {ip}"
            raise BlockedAddressError(
                f"refused: {shown}, a {reason} address; only public addresses are fetched "
                "(name the host in CSTO_QA_FETCH_ALLOW_HOSTS to allow an intranet mirror)"
            )


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The host's addresses, in the resolver's order; at most `timeout` seconds (getaddrinfo has no timeout)."""
    bare = _norm_host(host)
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_address(bare))]
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"resolve {bare}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"resolving {bare} took longer than {timeout:.1f} s")
    if "error" in box:
        raise httpcore.ConnectError(f"cannot resolve {bare}: {box['error']}")
    return list(dict.fromkeys(str(info[4][0]) for info in box["infos"]))


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait is clamped to the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout, "reading"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout, "writing"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout, "TLS"))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Opens TCP connections to checked, pinned addresses, with every wait bounded by the deadline."""

    def __init__(self, policy: AddressPolicy | None = None) -> None:
        self.policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port, _clamp(timeout, httpcore.ConnectTimeout, "resolving"))
        if self.policy is not None:
            for ip in addresses:  # one private answer refuses the host (a rebinding resolver mixes them)
                self.policy.check(host, ip)
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for ip in addresses:
            try:  # the checked IP itself: no second lookup that could answer differently
                stream = self._inner.connect_tcp(
                    ip, port, _clamp(timeout, httpcore.ConnectTimeout, "connecting"), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            if self.policy is not None:
                try:
                    self.policy.check(host, str(stream.get_extra_info("socket").getpeername()[0]))
                except BaseException:
                    stream.close()
                    raise
            return _DeadlineStream(stream)
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by csto-qa")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool opening connections through a GuardedBackend."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx has no public way to pass a network backend; its pool is rebuilt here with ours (tested in
        # tests/test_faults.py: a private address is refused, a trickling body is cut at the deadline)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class _DeadlineBody(httpx.SyncByteStream):
    """A response body read under the deadline of the request that produced it."""

    def __init__(
        self, inner: httpx.SyncByteStream, end: float | None, on_error: Callable[[httpx.HTTPError], Exception]
    ) -> None:
        self._inner, self._end, self._on_error = inner, end, on_error

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            token = _DEADLINE.set(self._end)
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except httpx.HTTPError as exc:
                raise self._on_error(exc) from None
            finally:
                _DEADLINE.reset(token)
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _same(exc: httpx.HTTPError) -> Exception:
    return exc


class _DeadlineTransport(httpx.BaseTransport):
    """Bounds each request (its headers and its body) by `call_deadline_s` and any outer deadline."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        call_deadline_s: float | None,
        on_error: Callable[[httpx.HTTPError], Exception] | None,
    ) -> None:
        self._inner, self._call_s, self._on_error = inner, call_deadline_s, on_error or _same

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        outer = _DEADLINE.get()
        end = outer if self._call_s is None else time.monotonic() + self._call_s
        end = end if outer is None or end is None else min(outer, end)
        token = _DEADLINE.set(end)
        try:
            response = self._inner.handle_request(request)
        except httpx.HTTPError as exc:
            raise self._on_error(exc) from None
        finally:
            _DEADLINE.reset(token)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_DeadlineBody(response.stream, end, self._on_error),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


def guarded_client(
    *,
    call_deadline_s: float | None = None,
    policy: AddressPolicy | None = None,
    on_error: Callable[[httpx.HTTPError], Exception] | None = None,
    limits: httpx.Limits | None = None,
    **client_kwargs: Any,
) -> httpx.Client:
    """An httpx.Client whose requests each end within `call_deadline_s` (and any outer `deadline`), connecting only
    to addresses `policy` allows; `on_error` maps a transport error or timeout to the caller's own exception."""
    backend = GuardedBackend(policy)
    transport = _DeadlineTransport(_GuardedTransport(backend, limits or httpx.Limits()), call_deadline_s, on_error)
    return httpx.Client(transport=transport, trust_env=False, **client_kwargs)

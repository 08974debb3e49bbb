"""A long-lived reader's view of the index: one generation per question, the newest one between questions.

    live = LiveIndex(settings, build)        # build(handle) -> T: whatever a generation needs (retrievers, ...)
    with live.use() as state:                # the state T of the newest whole generation, pinned for the block
        answer = work(state)
    live.get()                               # inside use(): the pinned T; outside: the current T (no switch)
    live.close()                             # let every generation go

`index.store.build_index` replaces `state.json` atomically at the end of a build. On entering `use()`, the
LiveIndex looks at that file (one stat) and, when another generation went live, opens it (`open_index`, then
`build`) and makes it current; calls already inside `use()` finish on the generation they started with (the pin is
per thread, and nested `use()` calls on a thread share it). While one thread opens the new generation, the others
keep answering on the current one. If the new generation cannot be opened (damaged, or dropped meanwhile), the
current one stays in use and the failure is logged once; the next change of the state file is tried again.

Each held generation carries a lease (`index.store.acquire_lease`), refreshed at every `use()`, so a build in
another process does not drop a generation a reader still uses; a lease expires after `settings.generation_grace_s`
without use, or as soon as its process is gone. When the last call on an old generation ends, its lease is released
and the generations no one holds are dropped (`index.store.drop_unused_generations`).

`runs_on_one_generation` decorates a method of an object holding a LiveIndex in `self.live`: the call runs inside
`self.live.use()` (not for generator functions: a generator may be resumed on another thread).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar

from index.errors import CstoQaError
from index.settings import Settings
from index.store import (
    IndexHandle,
    Lease,
    acquire_lease,
    drop_unused_generations,
    open_index,
    read_state,
    state_path,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(eq=False)
class _Generation(Generic[T]):
    """One opened generation: its handle, the caller's state built from it, its lease and its calls in flight."""

    handle: IndexHandle
    value: T
    lease: Lease
    calls: int = 0
    retired: bool = False
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = str(self.handle.state["collection"])


def _signature(settings: Settings) -> tuple[int, int, int] | None:
    """What changes when the state file is replaced (None when it is absent)."""
    try:
        st = os.stat(state_path(settings))
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LiveIndex(Generic[T]):
    """The newest whole index generation, switched between calls; see the module docstring."""

    def __init__(self, settings: Settings, build: Callable[[IndexHandle], T], handle: IndexHandle | None = None):
        self.settings = settings
        self._build = build
        self._lock = threading.Lock()
        self._local = threading.local()
        self._switching = False
        self._failed: tuple[int, int, int] | None = None  # the state file that could not be opened
        self._signature = _signature(settings)
        handle = handle or open_index(settings)
        self._current: _Generation[T] = self._open(handle)
        self._held: list[_Generation[T]] = [self._current]

    # --- public

    @contextmanager
    def use(self) -> Iterator[T]:
        """The newest generation's state, pinned to this thread for the block."""
        stack: list[_Generation[T]] = self._stack()
        if stack:  # nested: the generation the outer call runs on
            yield stack[-1].value
            return
        gen = self._enter()
        stack.append(gen)
        try:
            yield gen.value
        finally:
            stack.pop()
            self._leave(gen)

    def get(self) -> T:
        """Inside `use()`: the pinned generation's state; outside: the current one (for short in-memory reads)."""
        stack = self._stack()
        return stack[-1].value if stack else self._current.value

    @property
    def generation(self) -> str:
        """The collection name of the current generation (changes when a new one is taken up)."""
        return self._current.key

    def close(self) -> None:
        """Release every lease (the LiveIndex must not be used afterwards)."""
        with self._lock:
            for gen in self._held:
                gen.lease.release()
            self._held = []

    # --- inside

    def _stack(self) -> list[_Generation[T]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _open(self, handle: IndexHandle) -> _Generation[T]:
        lease = acquire_lease(
            self.settings, handle.state["collection"], handle.state["gen_dir"], self.settings.generation_grace_s
        )
        try:
            value = self._build(handle)
        except BaseException:
            lease.release()
            raise
        lease.refresh()  # building the state may take a while: the grace period counts from now
        return _Generation(handle, value, lease)

    def _enter(self) -> _Generation[T]:
        """Take up a newer generation if there is one (unless another thread is already opening it); pin one."""
        with self._lock:
            gen = self._current
            gen.calls += 1
            gen.lease.refresh()  # before looking at the state: a build that switched after this sees the lease
        signature = _signature(self.settings)
        if signature is None or signature in (self._signature, self._failed):
            return gen
        with self._lock:
            if self._switching:
                return gen
            self._switching = True
        try:
            newer = self._newer(signature)
        finally:
            with self._lock:
                self._switching = False
        if newer is None:
            return gen
        with self._lock:
            old, self._current = self._current, newer
            self._held.append(newer)
            newer.calls += 1
            gen.calls -= 1
        self._retire_if_idle(old)
        return newer

    def _newer(self, signature: tuple[int, int, int]) -> _Generation[T] | None:
        """The generation the state file now names, opened; None when it is the current one or cannot be opened."""
        try:
            state = read_state(self.settings)
            if state["collection"] == self._current.key:
                self._signature = signature
                return None
            handle = open_index(self.settings)
            newer = self._open(handle)
        except CstoQaError as exc:
            self._failed = signature
            log.warning("staying on index generation %s: the new one cannot be opened (%s)", self._current.key, exc)
            return None
        self._signature = signature
        log.info("switched to index generation %s", newer.key)
        return newer

    def _leave(self, gen: _Generation[T]) -> None:
        with self._lock:
            gen.calls -= 1
        self._retire_if_idle(gen)

    def _retire_if_idle(self, gen: _Generation[T]) -> None:
        """Let an old generation go once no call runs on it, and drop what no one holds any more."""
        with self._lock:
            if gen is self._current or gen.calls > 0 or gen.retired:
                return
            gen.retired = True
            gen.lease.release()
            if gen in self._held:
                self._held.remove(gen)
        if gen.handle.client is not None:
            drop_unused_generations(self.settings, gen.handle.client)


def runs_on_one_generation(method: Callable[P, R]) -> Callable[P, R]:
    """Run a method of an object with a LiveIndex in `self.live` inside `self.live.use()`."""
    if inspect.isgeneratorfunction(method):
        raise TypeError(f"{method.__qualname__} is a generator: pin the calls it makes instead")

    @functools.wraps(method)
    def pinned(*args: P.args, **kwargs: P.kwargs) -> R:
        live: Any = args[0].live  # type: ignore[attr-defined]
        with live.use():
            return method(*args, **kwargs)

    return pinned

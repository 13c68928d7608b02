"""The ListerWatcher side of the informer machinery (client-go ``tools/cache/listwatch.go`` and
``apimachinery/pkg/watch``): what a reflector consumes and what a storage produces.

* :class:`ListResult` ``(items, resource_version)``: one list response.
* :class:`WatchEvent` ``(type, object)`` with :class:`EventType` ``ADDED/MODIFIED/DELETED/
  BOOKMARK/ERROR`` (a ``str`` enum, so ``EventType.ADDED == "ADDED"``).
* :class:`Watch`: the protocol of a running watch: iterating it blocks for the next event and ends
  when the watch closes; :meth:`Watch.stop` closes it from the consumer side.
* :class:`ListerWatcher`: ``list(resource_version="")`` and ``watch(resource_version)``;
  :class:`ListWatch` adapts two callables to it.
* :class:`ResourceExpired` (HTTP 410 Gone) and :class:`TooLargeResourceVersion`: the two errors
  a reflector answers by relisting (client-go's ``isExpiredError`` and
  ``isTooLargeResourceVersionError``).
* :class:`ChanWatch`: a ready-made :class:`Watch` whose events travel through an unbounded
  :class:`~goprims.chan.Chan`; storages, fakes and tests feed it with :meth:`ChanWatch.send`.

This module depends only on :mod:`goprims.chan`, so it can be imported without the rest of
:mod:`goprims.cache` (and :mod:`goprims.storage` imports it without a cycle).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from goprims.chan import Chan, ChanClosed

__all__ = [
    "ChanWatch",
    "EventType",
    "ListResult",
    "ListWatch",
    "ListerWatcher",
    "ResourceExpired",
    "TooLargeResourceVersion",
    "Watch",
    "WatchEvent",
]


# ------------------------------------------------------------------------------------- errors


class ResourceExpired(Exception):
    """HTTP 410 Gone, reason ``Expired``: the requested resource version is older than the
    oldest one the server still remembers (its history was compacted).

    Raised by ``watch(resource_version)`` for a too-old version, by ``list`` for a too-old version
    where the backend checks it, and by the iteration of a running watch whose next event was
    compacted away. A reflector answers it by relisting.

    ``resource_version`` is the version that expired ("" when unknown).
    """

    code = 410
    reason = "Expired"

    def __init__(self, message: str = "resource version expired", resource_version: str = ""):
        super().__init__(message)
        self.resource_version = resource_version


class TooLargeResourceVersion(Exception):
    """The requested resource version is newer than the server's current one (kube-apiserver's
    ``ResourceVersionTooLarge`` cause, a 504 with Retry-After). A reflector answers it, like
    :class:`ResourceExpired`, by relisting at ``""``.

    ``resource_version`` is the version asked for; ``current`` the server's revision at the time.
    """

    def __init__(
        self,
        message: str = "Too large resource version",
        resource_version: str = "",
        current: str = "",
    ) -> None:
        super().__init__(message)
        self.resource_version = resource_version
        self.current = current


# ---------------------------------------------------------------------------------- value types


class EventType(str, enum.Enum):
    """The type of a :class:`WatchEvent` (Go's ``watch.EventType``). A ``str`` enum: each member
    equals its name as a plain string (``EventType.ADDED == "ADDED"``) and ``str()`` gives it."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


class WatchEvent(NamedTuple):
    """One change seen by a watch (Go's ``watch.Event``).

    ``object`` is the object after the change; for ``DELETED`` it is the object's last state
    (its ``resourceVersion`` being the deletion's revision when the source is a goprims storage);
    for ``BOOKMARK`` an object whose only meaningful field is ``metadata.resourceVersion``; for
    ``ERROR`` an error description (a status object or an exception).
    """

    type: EventType
    object: Any


class ListResult(NamedTuple):
    """One list response: the ``items`` and the ``resource_version`` (a decimal string) of the
    state they were read at. A reflector replaces its store with ``items`` and starts its watch
    from ``resource_version``."""

    items: list[Any]
    resource_version: str


# ------------------------------------------------------------------------------------ protocols


@runtime_checkable
class Watch(Protocol):
    """A running watch (Go's ``watch.Interface``).

    Iterating it yields :class:`WatchEvent` s in order, blocking while none is available, and
    ends when the watch closes: after :meth:`stop`, or when the source ends the stream. When the
    stream ends because its resource version expired (the events it still had to deliver were
    compacted away), the iteration raises :class:`ResourceExpired` instead of ending quietly.
    """

    def __iter__(self) -> Iterator[WatchEvent]:
        """Yield events until the watch closes (raises :class:`ResourceExpired` on expiry)."""
        ...

    def stop(self) -> None:
        """Close the watch: a blocked or later iteration ends, undelivered events are dropped,
        resources are released. Idempotent; callable from any thread."""
        ...


@runtime_checkable
class ListerWatcher(Protocol):
    """What a reflector lists and watches (client-go's ``cache.ListerWatcher``).

    ``resource_version`` follows the Kubernetes rules: ``""`` asks for the most recent state (a
    consistent read), ``"0"`` for any state (a cache may serve it), ``"N"`` for a state not older
    than N. A reflector lists at ``"0"`` first, at its last version on a relist and at ``""``
    after :class:`ResourceExpired` or :class:`TooLargeResourceVersion`; a source without a cache
    may treat all three as a consistent read.
    """

    def list(self, resource_version: str = "") -> ListResult:
        """The current items and the resource version they were read at."""
        ...

    def watch(self, resource_version: str) -> Watch:
        """A watch delivering every change after ``resource_version``, in order. Raises
        :class:`ResourceExpired` if that version is too old to replay from."""
        ...


class ListWatch:
    """A :class:`ListerWatcher` made of two callables (client-go's ``cache.ListWatch``).

    ``list_func(resource_version)`` returns a :class:`ListResult` (any ``(items,
    resource_version)`` pair is accepted and converted); ``watch_func(resource_version)`` returns
    a :class:`Watch`. Errors from either propagate unchanged.
    """

    __slots__ = ("list_func", "watch_func")

    def __init__(
        self,
        list_func: Callable[[str], ListResult | tuple[list[Any], str]],
        watch_func: Callable[[str], Watch],
    ) -> None:
        self.list_func = list_func
        self.watch_func = watch_func

    def list(self, resource_version: str = "") -> ListResult:
        """Call ``list_func(resource_version)`` and return its result as a :class:`ListResult`."""
        res = self.list_func(resource_version)
        if isinstance(res, ListResult):
            return res
        items, rv = res
        return ListResult(list(items), rv)

    def watch(self, resource_version: str) -> Watch:
        """Call ``watch_func(resource_version)``."""
        return self.watch_func(resource_version)

    def __repr__(self) -> str:
        return f"ListWatch({self.list_func!r}, {self.watch_func!r})"


# ------------------------------------------------------------------------------------ ChanWatch


class ChanWatch:
    """A :class:`Watch` whose events travel through an unbounded ``Chan(None)``.

    Producer side (any thread or task, never blocks): :meth:`send` an event; end the stream with
    :meth:`close` (events already sent are still delivered, then the iteration ends or raises the
    given error) or :meth:`abort` (undelivered events are dropped and the next receive raises the
    error). Because the buffer is unbounded a slow consumer never blocks the producer; it only
    holds memory until it catches up, stops, or is aborted.

    Consumer side: ``for ev in w`` / ``async for ev in w``, or :meth:`next_event` /
    :meth:`async_next_event` with a timeout; :meth:`stop` (also on leaving ``with w:``) ends the
    watch at once, dropping undelivered events, and calls the ``on_stop`` callback once.

    Subclasses may override :meth:`_accept` (called for each delivered item with the watch's
    lock held, to record progress) and :meth:`_convert` (turning a buffered item into the
    :class:`WatchEvent` handed out, outside the lock).
    """

    def __init__(self, on_stop: Callable[[], None] | None = None) -> None:
        self._ch: Chan[Any] = Chan(None)  # closed exactly once, under _lock, when _closed is set
        # Never held while blocking. Lock order: (a storage's lock) -> _lock -> the chan's lock.
        self._lock = threading.Lock()
        # --- guarded by _lock ---
        self._closed = False  # the chan is closed: no send succeeds any more
        self._stopped = False  # stop() was called: every receive reports the end at once
        self._aborted = False  # abort(): every receive raises _error at once
        self._error: BaseException | None = None  # raised once the buffered events are consumed
        self._on_stop = on_stop  # called once, by the first stop(), outside the lock

    # ------------------------------------------------------------------ producer side

    def send(self, event: Any) -> bool:
        """Queue ``event`` for the consumer; never blocks. False if the watch has ended (stopped,
        closed or aborted) and the event was dropped."""
        try:
            self._ch.send(event)
        except ChanClosed:
            return False
        return True

    def close(self, error: BaseException | None = None) -> bool:
        """End the stream after the events already sent: once they are consumed the iteration
        raises ``error`` (if given) or ends. False if the watch had already ended."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._error = error
            self._ch.close()
        return True

    def abort(self, error: BaseException) -> bool:
        """End the stream now: undelivered events are dropped and the next receive raises
        ``error``. False if the consumer had already stopped the watch or it was aborted."""
        with self._lock:
            if not self._abort_locked(error):
                return False
        self._drain()
        return True

    def _abort_locked(self, error: BaseException) -> bool:
        """:meth:`abort` with ``_lock`` held; the caller drains the chan after unlocking."""
        if self._stopped or self._aborted:
            return False
        self._aborted = True
        self._error = error
        if not self._closed:
            self._closed = True
            self._ch.close()
        return True

    def _drain(self) -> None:
        """Drop buffered items (the chan is closed, so no receive here blocks)."""
        ch = self._ch
        while len(ch):
            _, ok = ch.recv_ok(0)
            if not ok:
                break

    # ------------------------------------------------------------------ consumer side

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called (informational)."""
        return self._stopped

    def stop(self) -> None:
        """End the watch now: a blocked receive returns, later receives report the end (even if
        events were still buffered), ``on_stop`` is called once. Idempotent, any thread."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if not self._closed:
                self._closed = True
                self._ch.close()
            on_stop, self._on_stop = self._on_stop, None
        self._drain()
        if on_stop is not None:
            on_stop()

    def next_event(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, blocking up to ``timeout`` seconds (``None`` forever, ``0`` not at
        all); ``None`` once the watch has ended. Raises :class:`TimeoutError` when the timeout
        expires (nothing was consumed) and the stream's error (e.g. :class:`ResourceExpired`)
        when it ended with one."""
        if self._stopped:
            return None
        item, ok = self._ch.recv_ok(timeout)
        return self._finish(item, ok)

    async def async_next_event(self, timeout: float | None = None) -> WatchEvent | None:
        """:meth:`next_event` for asyncio and trio tasks. Cancelled before an event was committed
        to it, it raises the cancellation and consumes nothing."""
        if self._stopped:
            return None
        item, ok = await self._ch.async_recv_ok(timeout)
        return self._finish(item, ok)

    def _finish(self, item: Any, ok: bool) -> WatchEvent | None:
        with self._lock:
            if self._stopped:
                return None
            if self._aborted:
                assert self._error is not None
                raise self._error
            if not ok:
                if self._error is not None:
                    raise self._error
                return None
            self._accept(item)
        return self._convert(item)

    def _accept(self, item: Any) -> None:
        """Hook: ``item`` is being delivered. Called with ``_lock`` held; must not block."""

    def _convert(self, item: Any) -> WatchEvent:
        """Hook: the event handed to the consumer for a buffered ``item`` (default: itself)."""
        ev: WatchEvent = item
        return ev

    def __iter__(self) -> Iterator[WatchEvent]:
        """Yield events until the watch ends; raises the stream's error if it ended with one."""
        while True:
            ev = self.next_event()
            if ev is None:
                return
            yield ev

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        """``async for ev in w``: :meth:`__iter__` for asyncio and trio tasks."""
        return _AsyncWatchIter(self)

    def __enter__(self) -> ChanWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "closed" if self._closed else "open"
        return f"<{type(self).__name__} {state} buffered={len(self._ch)}>"


class _AsyncWatchIter:
    __slots__ = ("_w",)

    def __init__(self, w: ChanWatch) -> None:
        self._w = w

    def __aiter__(self) -> _AsyncWatchIter:
        return self

    async def __anext__(self) -> WatchEvent:
        ev = await self._w.async_next_event()
        if ev is None:
            raise StopAsyncIteration
        return ev

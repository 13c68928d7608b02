"""``ChanWatch``: a ready-made :class:`~goprims.watch.Watch` whose events travel through an
unbounded :class:`~goprims.chan.Chan` (apimachinery's ``watch.ProxyWatcher`` and ``FakeWatcher``
in one). Storages, fakes and tests produce into it with :meth:`ChanWatch.send`.

It depends on :mod:`goprims.chan` only; :mod:`goprims.watch` re-exports it lazily, so importing the
watch protocol alone does not load channels.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

from goprims.chan import Chan, ChanClosed
from goprims.watch.interface import WatchEvent

__all__ = ["ChanWatch"]


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

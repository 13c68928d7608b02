"""Keyed one-shot delayed work (the taint eviction controller's ``TimedWorkerQueue``).

When a node gets a ``NoExecute`` taint, each pod that tolerates it for ``N`` seconds must be
evicted ``N`` seconds later, unless the taint goes away first. :class:`TimedWorkerQueue` keeps
one such timer per key: :meth:`~TimedWorkerQueue.add_work` schedules ``fn(key, *args)`` for an
absolute time on the queue's clock, :meth:`~TimedWorkerQueue.cancel_work` withdraws it.

Timers are the clock's (:meth:`goprims.clock.Clock.call_at`): the clock's callback only hands
the work to a pool, since clock callbacks must never block; ``fn`` runs on a pool thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from goprims.clock import Clock, TimerHandle, report_exception, resolve
from goprims.pool import default_pool
from goprims.sync import WaitGroup

__all__ = ["TimedWorkerQueue"]


class _Work:
    """One scheduled call. Its fields are guarded by the queue's lock."""

    __slots__ = ("args", "cancelled", "fire_at", "key", "started", "timer")

    def __init__(self, key: Hashable, fire_at: float, args: tuple[Any, ...]) -> None:
        self.key = key
        self.fire_at = fire_at
        self.args = args
        self.timer: TimerHandle | None = None
        # Invariant: never both. cancelled: fn will not run; started: fn runs or ran.
        self.cancelled = False
        self.started = False


class TimedWorkerQueue:
    """Run ``fn(key, *args)`` once per key, at an absolute time on ``clock``.

    ``TimedWorkerQueue(fn, clock=None)``: ``fn`` runs on the shared unlimited pool behind
    :func:`goprims.go` (a clock callback must never block, so the hand-off must never wait for
    a worker); an exception escaping it goes to :func:`threading.excepthook`. A key is *present*
    from :meth:`add_work` until its ``fn`` returns or :meth:`cancel_work` withdraws it; while
    present, another :meth:`add_work` of the same key is ignored. When ``fn`` returns the key is
    free again (a replacement added after a cancel is never removed by the old call finishing).
    """

    def __init__(self, fn: Callable[..., object], clock: Clock | None = None) -> None:
        self._fn = fn
        self._clock = resolve(clock)
        self._lock = threading.Lock()
        self._works: dict[Hashable, _Work] = {}  # guarded by _lock: the present keys
        # Counts the works handed to the pool and not finished (for cancel_and_wait).
        self._running = WaitGroup()

    def add_work(self, key: Hashable, fire_at: float, *args: Any) -> bool:
        """Schedule ``fn(key, *args)`` for clock time ``fire_at``: at once (on the pool) if that
        time has come. Returns False, and changes nothing, if ``key`` is already present."""
        if fire_at != fire_at:
            raise ValueError("TimedWorkerQueue.add_work: fire_at is NaN")
        with self._lock:
            if key in self._works:
                return False
            due_now = self._schedule_locked(key, fire_at, args)
        if due_now is not None:
            self._dispatch(due_now)
        return True

    def update_work(self, key: Hashable, fire_at: float, *args: Any) -> bool:
        """Schedule ``fn(key, *args)`` for ``fire_at``, replacing the pending work of ``key``
        (upstream's ``UpdateWork``). Returns False, and changes nothing, if ``key``'s work has
        already started or is pending for exactly ``fire_at``; otherwise the old work (if any) is
        withdrawn and True is returned."""
        if fire_at != fire_at:
            raise ValueError("TimedWorkerQueue.update_work: fire_at is NaN")
        with self._lock:
            old = self._works.get(key)
            if old is not None:
                if old.started or old.fire_at == fire_at:
                    return False
                old.cancelled = True
                if old.timer is not None:
                    old.timer.cancel()  # the clock's lock is taken after ours, never before
            due_now = self._schedule_locked(key, fire_at, args)
        if due_now is not None:
            self._dispatch(due_now)
        return True

    def _schedule_locked(
        self, key: Hashable, fire_at: float, args: tuple[Any, ...]
    ) -> _Work | None:
        """Make a work for ``key`` present: arm its timer, or return it to be dispatched now
        (counted as running). Lock held."""
        work = _Work(key, fire_at, args)
        self._works[key] = work
        if fire_at > self._clock.now():
            work.timer = self._clock.call_at(fire_at, lambda: self._fire(work))
            return None
        self._running.add(1)
        return work

    def _fire(self, work: _Work) -> None:
        """Clock callback: hand the work to the pool unless it was cancelled. Never blocks on
        the queue (only its short lock)."""
        with self._lock:
            if work.cancelled:
                return
            self._running.add(1)
        self._dispatch(work)

    def _dispatch(self, work: _Work) -> None:
        try:
            default_pool().go(self._run, work)
        except BaseException:
            self._running.done()
            with self._lock:
                if self._works.get(work.key) is work:
                    del self._works[work.key]
            raise

    def _run(self, work: _Work) -> None:
        try:
            with self._lock:
                if work.cancelled:
                    return  # cancelled after the timer fired, before a worker got to it
                work.started = True
            try:
                self._fn(work.key, *work.args)
            except Exception as exc:
                report_exception(exc)
            finally:
                with self._lock:
                    if self._works.get(work.key) is work:
                        del self._works[work.key]
        finally:
            self._running.done()

    def cancel_work(self, key: Hashable) -> bool:
        """Withdraw the work of ``key``. True if that stopped ``fn`` from running (its timer was
        pending, or it was due but no worker had started it); False if ``key`` is not present
        or ``fn`` already started. Either way the key is free afterwards."""
        with self._lock:
            work = self._works.pop(key, None)
            if work is None or work.started:
                return False
            work.cancelled = True
            timer = work.timer
        if timer is not None:
            timer.cancel()
        return True

    def cancel_all(self) -> int:
        """Withdraw every work that has not started; returns how many were withdrawn."""
        with self._lock:
            keys = list(self._works)
        return sum(self.cancel_work(k) for k in keys)

    def join(self, timeout: float | None = None) -> None:
        """Wait until every work whose time has come has finished (pending timers are not
        waited for; a work due now counts from :meth:`add_work` on). :class:`TimeoutError`
        after ``timeout`` seconds."""
        self._running.wait(timeout)

    async def async_join(self, timeout: float | None = None) -> None:
        """:meth:`join` for asyncio and trio tasks."""
        await self._running.async_wait(timeout)

    def cancel_and_wait(self, timeout: float | None = None) -> None:
        """:meth:`cancel_all`, then wait until every started ``fn`` has returned.
        :class:`TimeoutError` after ``timeout`` seconds."""
        self.cancel_all()
        self._running.wait(timeout)

    async def async_cancel_and_wait(self, timeout: float | None = None) -> None:
        """:meth:`cancel_and_wait` for asyncio and trio tasks."""
        self.cancel_all()
        await self._running.async_wait(timeout)

    def fire_at(self, key: Hashable) -> float | None:
        """When the work of ``key`` is (or was) due, or None if ``key`` is not present."""
        with self._lock:
            work = self._works.get(key)
            return None if work is None else work.fire_at

    def __len__(self) -> int:
        """Present keys (pending or running)."""
        return len(self._works)

    def __contains__(self, key: object) -> bool:
        return key in self._works

"""A deduplicating, time-ordered queue drained at a bounded, swappable rate (the node lifecycle
controller's ``RateLimitedTimedQueue``).

The node lifecycle controller evicts the pods of unreachable nodes, but never faster than a
token bucket allows (0.1 nodes per second by default), and it swaps the rate per zone as the
zone's health changes (slower in a partially disrupted zone, zero when every zone is down: then
the fault is more likely the controller's own network). The queue has three rules:

* a value is queued at most once (``add`` of a present value is refused);
* a value that was processed successfully stays *processed* until :meth:`remove` (the node
  became ready again): it cannot be added and is not processed again;
* :meth:`try_process` handles due heads while the token bucket has a token; a failed value is
  rescheduled ``wait`` seconds later.

The rate is the one token bucket of the package (:class:`~goprims.workqueue.BucketRateLimiter`,
asked with its non-reserving :meth:`~goprims.workqueue.BucketRateLimiter.allow` and carried
over a rate change by :meth:`~goprims.workqueue.BucketRateLimiter.carried_to`); the order is
the one heap of delays (:class:`~goprims.workqueue.delay_heap.DelayHeap`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, NamedTuple, TypeVar

from goprims.clock import Clock, resolve
from goprims.workqueue.delay_heap import DelayHeap
from goprims.workqueue.rate_limiters import BucketRateLimiter

__all__ = ["EVICTION_BURST", "RateLimitedTimedQueue", "TimedValue"]

V = TypeVar("V", bound=Hashable)

EVICTION_BURST = 1
"""The default bucket size (upstream's ``EvictionRateLimiterBurst``)."""


class TimedValue(NamedTuple):
    """A queued value: ``uid`` identifies the incarnation (anything; upstream passes the node's
    UID), ``added_at`` is when it was added and ``process_at`` when it is next due, both on the
    queue's clock. A named tuple: cheap to make, compared by value."""

    value: Any
    uid: Any
    added_at: float
    process_at: float


class RateLimitedTimedQueue(Generic[V]):
    """Unique values ordered by when they are due, processed at most ``qps`` per second.

    ``RateLimitedTimedQueue(qps, *, burst=1, clock=None)``: ``qps=math.inf`` always has a token;
    ``qps <= 0`` never has one (nothing is processed until :meth:`swap_limiter` gives a rate).
    Values are hashables (node names, keys).

    Thread-safe. :meth:`try_process` calls ``fn`` without holding the queue's lock, so ``fn`` may
    take its time and other threads may :meth:`add` and :meth:`remove` meanwhile (a value
    removed while ``fn`` runs is not rescheduled); two :meth:`try_process` calls never run at
    once (the second waits), so a value is never handed to two of them.
    """

    def __init__(self, qps: float, *, burst: int = EVICTION_BURST, clock: Clock | None = None):
        if qps != qps:
            raise ValueError("RateLimitedTimedQueue: qps is NaN")
        if burst < 1:
            raise ValueError(f"RateLimitedTimedQueue: burst must be >= 1, not {burst!r}")
        self._clock = resolve(clock)
        self._burst = int(burst)
        # Serialises try_process runs (upstream's limiterLock); taken before _lock, never after.
        self._processing = threading.Lock()
        self._processor: int | None = None  # the thread holding _processing (reentry check)
        self._lock = threading.Lock()
        # Guarded by _lock. Invariants: every queued value is in _values and in _heap (due at its
        # process_at); a processed value is in _values but not in _heap.
        self._heap: DelayHeap[V] = DelayHeap()
        self._values: dict[V, TimedValue] = {}
        self._qps = float(qps)
        self._limiter = self._new_limiter(self._qps)  # None: never accepts

    def _new_limiter(self, qps: float) -> BucketRateLimiter | None:
        if qps <= 0:
            return None
        return BucketRateLimiter(qps, self._burst, self._clock)

    @property
    def qps(self) -> float:
        """The current rate (``0.0`` for a never-accepting queue built with ``qps <= 0``)."""
        return max(self._qps, 0.0)

    def add(self, value: V, uid: Any = None) -> bool:
        """Queue ``value``, due now. False (and nothing changes) if it is already queued, or was
        processed and not removed since (see :meth:`remove`)."""
        now = self._clock.now()
        with self._lock:
            if value in self._values:
                return False
            self._values[value] = TimedValue(value, uid, now, now)
            self._heap.push(value, now)
        return True

    def remove(self, value: V) -> bool:
        """Forget ``value``, queued or processed, so it can be added again. False if unknown."""
        with self._lock:
            if self._values.pop(value, None) is None:
                return False
            self._heap.remove(value)
        return True

    def clear(self) -> None:
        """Forget every value, queued and processed."""
        with self._lock:
            self._values.clear()
            self._heap.clear()

    def __len__(self) -> int:
        """Queued values (processed ones not counted)."""
        return len(self._heap)

    def __contains__(self, value: object) -> bool:
        """True while ``value`` is queued or processed (i.e. :meth:`add` would refuse it)."""
        return value in self._values

    def values(self) -> list[TimedValue]:
        """The queued values in processing order (earliest ``process_at`` first, ties in add
        order). Processed values are not listed."""
        with self._lock:
            return [self._values[v] for v in self._heap.in_order()]

    def processed(self) -> set[V]:
        """Values processed successfully and not yet removed."""
        with self._lock:
            heap = self._heap
            return {v for v in self._values if v not in heap}

    def swap_limiter(self, qps: float) -> None:
        """Change the rate. Nothing happens if ``qps`` equals the current rate. ``qps <= 0``
        stops processing. Otherwise a new bucket replaces the old one, holding the whole tokens
        the old one had (:meth:`~goprims.workqueue.BucketRateLimiter.carried_to`; none when
        processing was stopped): a swap never grants an extra token. With the default burst of
        1 this is upstream's rule: an empty (or refilling) bucket gives an empty one."""
        if qps != qps:
            raise ValueError("RateLimitedTimedQueue.swap_limiter: qps is NaN")
        qps = float(qps)
        with self._lock:
            if qps == self._qps or (qps <= 0 and self._qps <= 0):
                return
            old = self._limiter
            if qps <= 0:
                self._limiter = None
            elif old is None:
                self._limiter = BucketRateLimiter(qps, self._burst, self._clock, tokens=0.0)
            else:
                self._limiter = old.carried_to(qps)
            self._qps = qps

    def try_process(self, fn: Callable[[TimedValue], tuple[bool, float]]) -> int:
        """Handle due values, earliest first, while the bucket has a token.

        For each head whose ``process_at <= now`` a token is taken and ``fn(tv)`` is called
        (without the queue's lock). ``fn`` returns ``(ok, wait)``: ok keeps the value as
        processed (out of the queue, refused by :meth:`add`) until :meth:`remove`; not ok
        reschedules it to ``now + wait`` (strictly after now, even for ``wait <= 0``), unless
        it was removed meanwhile. Stops when the queue is empty, the head is not due, or no
        token is left. An exception from ``fn`` propagates; the value stays queued as it was.
        Returns the number of calls of ``fn``.

        ``fn`` may call :meth:`add`, :meth:`remove`, :meth:`swap_limiter`...; a nested
        :meth:`try_process` from ``fn`` would wait for itself and raises :class:`RuntimeError`.
        """
        me = threading.get_ident()
        if self._processor == me:
            raise RuntimeError("RateLimitedTimedQueue.try_process called from its own fn")
        with self._processing:
            self._processor = me
            try:
                return self._process_locked(fn)
            finally:
                self._processor = None

    def _process_locked(self, fn: Callable[[TimedValue], tuple[bool, float]]) -> int:
        """try_process's loop; ``_processing`` held."""
        calls = 0
        lock = self._lock
        heap = self._heap
        values = self._values
        while True:
            with lock:
                head = heap.peek()
                if head is None:
                    return calls
                value, due = head
                # Upstream takes the token before looking at the time; a head that is not
                # due costs no token here (a token is spent only on a call of fn).
                now = self._clock.now()
                if now < due:
                    return calls
                limiter = self._limiter
                if limiter is None or not limiter.allow():
                    return calls
                tv = values[value]
            calls += 1
            ok, wait = fn(tv)  # an exception leaves the value queued as it was
            with lock:
                if values.get(value) is not tv:
                    continue  # removed (or removed and added again) while fn ran
                if ok:
                    heap.remove(value)  # processed: stays in _values
                    continue
                wait = float(wait)
                if wait != wait:
                    wait = 0.0
                at = max(now + wait, math.nextafter(now, math.inf))
                values[value] = tv._replace(process_at=at)
                heap.push(value, at)

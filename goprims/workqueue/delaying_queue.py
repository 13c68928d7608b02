"""The delaying queue: client-go's ``workqueue.TypedDelayingInterface`` (``delaying_queue.go``).

Items added with :meth:`DelayingQueue.add_after` wait in the one heap of delays
(:class:`~goprims.workqueue.delay_heap.DelayHeap`, ordered by ready time) and are added to
the queue once the clock reaches that time. Instead of client-go's waiting-loop goroutine, the
queue keeps **one** callback scheduled on its clock (:meth:`Clock.call_at`) for
the earliest ready time, capped at 10 s from now: the cap is client-go's 10 s heartbeat, the
safety net that re-reads the clock at least that often while items are waiting. Nothing is
scheduled while no item waits, so an idle delaying queue costs no timer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import TypeVar

from goprims._waiter import Waiter, wake_all
from goprims.clock import Alarm, Clock
from goprims.workqueue.delay_heap import DelayHeap
from goprims.workqueue.metrics import CounterMetric, MetricsProvider, new_retries_metric
from goprims.workqueue.queue import Queue

__all__ = ["MAX_WAIT", "DelayingQueue"]

T = TypeVar("T", bound=Hashable)

MAX_WAIT = 10.0
"""Seconds: the longest the queue goes without re-reading its clock while items wait."""


class DelayingQueue(Queue[T]):
    """A :class:`~goprims.workqueue.queue.Queue` that can also add an item after a delay.

    Same constructor as :class:`~goprims.workqueue.queue.Queue`; ``clock`` decides when delays
    expire (a :class:`~goprims.clock.FakeClock` makes them deterministic: due items are added
    inside ``step``). A named queue also counts ``retries``: one per :meth:`add_after` call made
    before shutdown.
    """

    __slots__ = ("_alarm", "_retries", "_waiting")

    def __init__(
        self, name: str = "", clock: Clock | None = None, metrics: MetricsProvider | None = None
    ) -> None:
        super().__init__(name, clock, metrics)
        # All fields below are guarded by the queue lock (self._lock).
        # The waiting items by ready time. Invariant: an item waits at most once, at its
        # earliest time.
        self._waiting: DelayHeap[T] = DelayHeap()
        # The one scheduled wake-up (an Alarm: a fire that was stopped too late never runs).
        # Invariant: while any entry is live, the alarm is pending and due at most at the
        # earliest live ready time (or at the heartbeat, MAX_WAIT after it was armed).
        self._alarm = Alarm(self._clock, self._fire, self._lock)
        self._retries: CounterMetric | None = new_retries_metric(name, metrics)

    def add_after(self, item: T, seconds: float) -> None:
        """Add ``item`` once ``seconds`` have passed on the queue's clock.

        * ``seconds <= 0`` (negative included) adds at once, like :meth:`add`.
        * If the item is already waiting, the **earliest** ready time wins: an earlier time
          replaces the pending one, a later one is discarded.
        * Waiting items do not count in ``len()``. An item that waits and is also added
          directly is processed now and added again when its time comes (merged if still
          queued then).
        * After shutdown it does nothing; pending delays are dropped by shutdown.

        ``seconds`` may be ``math.inf`` (never added); NaN raises :class:`ValueError`.
        """
        if seconds != seconds:
            raise ValueError("workqueue add_after: delay is NaN")
        w: Waiter | None = None
        lock = self._lock
        lock.acquire()
        try:
            if self._shutting_down:
                return
            if self._retries is not None:
                self._retries.inc()
            if seconds <= 0:
                w = self._add(item)
            else:
                ready_at = self._clock.now() + seconds
                old = self._waiting.due_at(item)
                if old is not None and ready_at >= old:
                    return  # the pending, earlier time wins
                self._waiting.push(item, ready_at)
                alarm = self._alarm
                if not alarm.pending or ready_at < alarm.when:  # type: ignore[operator]
                    self._arm(ready_at)
        finally:
            lock.release()
        if w is not None:
            w.wake()

    def _arm(self, ready_at: float) -> None:
        """(Re)schedule the wake-up for ``ready_at``, or MAX_WAIT from now if sooner. Lock held."""
        self._alarm.arm_at(min(ready_at, self._clock.now() + MAX_WAIT))

    def _fire(self) -> Callable[[], None] | None:
        """The alarm (lock held): add every item whose time has come, then re-arm. Returns the
        wake-ups of the getters that were handed an item, to run once the lock is released."""
        if self._shutting_down:
            return None
        wake: list[Waiter] = []
        for item in self._waiting.pop_due(self._clock.now()):
            w = self._add(item)
            if w is not None:
                wake.append(w)
        next_at = self._waiting.earliest()
        if next_at is not None:
            self._arm(next_at)
        return partial(wake_all, wake) if wake else None

    def _on_shutdown(self) -> None:
        # Lock held. Pending delays are dropped, as client-go's waiting loop exits.
        self._waiting.clear()
        self._alarm.stop()

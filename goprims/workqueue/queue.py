"""The basic work queue: client-go's ``workqueue.Typed[T]`` (``util/workqueue/queue.go``, v0.32).

A :class:`Queue` is

* **fair**: items are handed out in the order they were first added;
* **stingy**: an item is never handed to two workers at once, and an item added several times
  before a worker takes it is handed out once;
* **multi-producer, multi-consumer**, for threads, asyncio tasks and trio tasks on the same
  queue: an item re-added while a worker processes it is queued again by that worker's
  :meth:`Queue.done`;
* **shut down** by :meth:`Queue.shut_down` (workers still receive what is queued, then
  ``shutdown=True``) or :meth:`Queue.shut_down_with_drain` (the same, and the caller waits until
  every item taken has been passed to ``done``).

Blocking follows the waiter core (:mod:`goprims._waiter`): a worker that finds the queue empty
parks on a waiter in ``_getters``; the party that makes an item available hands it over directly
(the item goes straight to ``processing``), so a woken worker never re-takes the lock.

**The lock-free get.** With the GIL (and without metrics, which are recorded under the lock),
:meth:`Queue.get` takes a queued item without the lock: ``popleft()``, then
``processing.add(item)``, then ``dirty.discard(item)``, each atomic. Five threads sharing one
lock under the GIL otherwise form a convoy: a thread switched out while holding the lock makes
the others block on it and hand it round with a thread switch each, which cost 3-4x the work
itself. Why the three steps without the lock keep the queue stingy and lose no add:

* while the item is popped but not yet processing, it is still dirty: an :meth:`~Queue.add` of
  it merges with the pending one (the worker is about to process it), and no
  :meth:`~Queue.done` can concern it (only the worker that takes an item calls ``done``);
* while it is processing and still dirty, an ``add`` merges the same way; the order (processing
  first, then not dirty) is what makes this safe: the other order would let an ``add`` see it
  neither dirty nor processing and queue it a second time;
* a concurrent :meth:`~Queue.shut_down_with_drain` may see nothing processing while the item is
  between the pop and ``processing.add``: as if the get came right after the drain returned,
  which the drain allows (queued items are still handed out after a shutdown).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from goprims._waiter import (
    GIL_ATOMIC,
    Blocking,
    ThreadWaiter,
    Waiter,
    WaitQueue,
    async_block,
    async_waiter,
    block,
    wake_all,
)
from goprims.clock import Clock, deadline_after, resolve, time_left
from goprims.workqueue.metrics import (
    MetricsProvider,
    QueueMetrics,
    UnfinishedWorkTicker,
    new_queue_metrics,
)

__all__ = ["Queue"]

_LOCK_FREE_GET: bool = GIL_ATOMIC  # tests turn it off to exercise the locked path
_EMPTY: Any = object()  # _take found no item

T = TypeVar("T", bound=Hashable)


class Queue(Generic[T]):
    """A fair, stingy work queue (client-go ``workqueue.Typed[T]``).

    Items must be hashable; two items are "the same item" when they are equal (``__eq__`` and
    ``__hash__``), where Go compares pointers by identity. Prefer string keys such as
    ``"namespace/name"``.

    ``name`` labels the queue's metrics: an unnamed queue (the default) records none.
    ``metrics`` is the :class:`~goprims.workqueue.metrics.MetricsProvider` to use (default: the
    global one, see :func:`~goprims.workqueue.metrics.set_provider`). ``clock`` times the
    metrics (and, in subclasses, the delays); default the real clock.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_dirty",
        "_drain",
        "_drainers",
        "_getters",
        "_lock",
        "_metrics",
        "_processing",
        "_queue",
        "_shutting_down",
        "_ticker",
        "name",
    )

    def __init__(
        self, name: str = "", clock: Clock | None = None, metrics: MetricsProvider | None = None
    ) -> None:
        self.name = name
        self._clock = resolve(clock)
        # One lock guards every field below, the metrics bookkeeping and the subclasses' state.
        self._lock = threading.Lock()
        # Processing order. Invariant: every element is in _dirty and not in _processing, and
        # appears once. (A lock-free get, module docstring, pops first: for a moment its item
        # is only in _dirty, then in _processing and _dirty.)
        self._queue: deque[T] = deque()
        # Items that still need processing (queued, or re-added while being processed).
        self._dirty: set[T] = set()
        # Items handed to a worker and not yet passed to done(). May intersect _dirty.
        self._processing: set[T] = set()
        # Parked get() callers, oldest first. Invariant: non-empty only while _queue is empty
        # and the queue is not shutting down. A waiter is fired with value=item, ok=True (the
        # item is already in _processing) or ok=False (shut down).
        self._getters = WaitQueue(self._lock)
        # Parked shut_down_with_drain() callers; fired when _processing empties or drain ends.
        self._drainers = WaitQueue(self._lock)
        self._shutting_down = False
        self._drain = False
        self._metrics: QueueMetrics | None = new_queue_metrics(name, metrics, self._clock)
        self._ticker: UnfinishedWorkTicker | None = None
        if self._metrics is not None:
            self._ticker = UnfinishedWorkTicker(self._clock, self._update_unfinished_work)

    # ------------------------------------------------------------------ internal, lock held

    def _push(self, item: T) -> Waiter | None:
        """Make dirty ``item`` (not processing) available: hand it to a parked getter, or queue it.

        Returns the getter to wake once the lock is released. Lock held.
        """
        e = self._getters.pop_live() if self._getters else None
        if e is None:  # nobody parked, or every parked getter is withdrawing
            self._queue.append(item)
            return None
        w = e.waiter
        self._dirty.discard(item)
        self._processing.add(item)
        if self._metrics is not None:
            self._metrics.get(item)
        w.value = item
        return w

    def _add(self, item: T) -> Waiter | None:
        """client-go ``Add`` under the lock; returns a getter to wake after releasing it."""
        if self._shutting_down or item in self._dirty:
            return None  # dropped after shutdown; merged with the pending add otherwise
        if self._metrics is not None:
            self._metrics.add(item)
        self._dirty.add(item)
        if item in self._processing:
            return None  # done() will push it
        if not self._getters:
            self._queue.append(item)  # fast path of _push
            return None
        return self._push(item)

    def _take(self) -> Any:
        """Pop the head of _queue and move it to processing; ``_EMPTY`` if there is none.
        Lock held. A lock-free get may empty the queue even while the lock is held, so a queue
        seen non-empty may be empty at the pop: the pop decides."""
        if not self._queue:
            return _EMPTY
        try:
            item = self._queue.popleft()
        except IndexError:  # a lock-free get took the last item since the look
            return _EMPTY
        self._processing.add(item)
        self._dirty.discard(item)
        if self._metrics is not None:
            self._metrics.get(item)
        return item

    def _begin_shutdown(self, drain: bool) -> list[Waiter]:
        """Set the flags, fire every parked getter with shutdown. Returns waiters to wake."""
        self._drain = drain
        self._shutting_down = True
        wake: list[Waiter] = []
        for e in self._getters.claim_all():
            e.waiter.ok = False
            wake.append(e.waiter)
        if not drain:
            wake.extend(e.waiter for e in self._drainers.claim_all())
        self._on_shutdown()
        return wake

    def _on_shutdown(self) -> None:
        """Hook for subclasses, called once per shutdown call with the lock held."""

    def _update_unfinished_work(self) -> bool:
        """Metrics tick: refresh the gauges unless shutting down (then return False)."""
        with self._lock:
            if self._shutting_down or self._metrics is None:
                return False
            self._metrics.update_unfinished_work()
            return True

    # ------------------------------------------------------------------------------- public

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing.

        * After shutdown (either kind) the item is **silently dropped**, as client-go does: no
          error, no metric.
        * If the item is already waiting to be processed, the add is merged with that one (its
          place in line is kept).
        * If a worker is processing it right now, it is marked dirty and queued again when
          that worker calls :meth:`done`; it is never handed to a second worker meanwhile.
        """
        lock = self._lock
        lock.acquire()  # (acquire/try/finally: about half the cost of a with-block)
        try:
            w = self._add(item)
        finally:
            lock.release()
        if w is not None:
            w.wake()

    def get(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """Take the next item: ``(item, False)``, or ``(None, True)`` once shut down and empty.

        Blocks while the queue is empty and not shut down. After :meth:`shut_down`, items still
        queued keep being handed out; ``shutdown`` is True only when none is left, and then the
        caller should stop working. The caller **must** call :meth:`done` with the item.
        ``timeout`` (seconds; 0 = do not block) raises :class:`TimeoutError` if no item came.

        Typed ``tuple[T | None, bool]``: the item is ``None`` (Go's zero value) exactly when
        ``shutdown`` is True, so a worker loop checks ``shutdown`` first; after that a type
        checker still sees ``T | None`` (narrow with ``assert item is not None``).
        """
        if _LOCK_FREE_GET and self._metrics is None:  # the lock-free get (module docstring)
            try:
                item = self._queue.popleft()
            except IndexError:
                pass
            else:
                self._processing.add(item)  # first: see the module docstring
                self._dirty.discard(item)
                return item, False
        lock = self._lock
        lock.acquire()
        try:
            item = self._take()  # the body's first step, inlined (get is hot)
        finally:
            lock.release()
        if item is not _EMPTY:
            return item, False
        return block(self._getting(timeout, ThreadWaiter))

    async def async_get(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """:meth:`get` for an asyncio or trio task; thread producers may feed it.

        Cancelled before an item was handed over, it raises the cancellation and takes
        nothing; cancelled after, the item is returned (it is already being processed by the
        caller, which must call :meth:`done`), following :mod:`goprims._waiter`.
        """
        return await async_block(self._getting(timeout, async_waiter))

    def _getting(
        self, timeout: float | None, new_waiter: Callable[[], Waiter]
    ) -> Blocking[tuple[T | None, bool]]:
        """The get, for every world: take the head, or park until an item is handed over."""
        with self._lock:
            item = self._take()
            if item is not _EMPTY:
                return item, False
            if self._shutting_down:
                return None, True
            if timeout is not None and timeout <= 0:
                raise TimeoutError("workqueue get: no item")
            e = self._getters.park(new_waiter())
        w = e.waiter
        if not (yield w, timeout, self._getters.withdrawer(e)):
            raise TimeoutError("workqueue get: no item")
        return w.value, not w.ok

    def done(self, item: T) -> None:
        """Mark ``item`` as finished; if it was re-added meanwhile, queue it again.

        A ``done`` for an item that is not being processed (never taken, or already done) does
        nothing. (client-go would re-queue it a second time if it were waiting, breaking the
        stingy rule; here the call is harmless.)
        """
        lock = self._lock
        lock.acquire()
        try:
            processing = self._processing
            if item not in processing:
                return
            processing.remove(item)
            if self._metrics is not None:
                self._metrics.done(item)
            w = self._push(item) if item in self._dirty else None
            # As client-go signals when processing empties, a drain ends here even if the
            # item was just re-queued (workers still get it; the drain does not wait for it).
            drainers = self._drainers.claim_all() if self._drainers and not processing else None
        finally:
            lock.release()
        if w is not None:
            w.wake()
        if drainers:
            wake_all(drainers)

    def __len__(self) -> int:
        """Items waiting to be handed out (excluding those being processed). Informational."""
        return len(self._queue)

    def shutting_down(self) -> bool:
        """True once :meth:`shut_down` or :meth:`shut_down_with_drain` was called."""
        return self._shutting_down

    def shut_down(self) -> None:
        """Stop accepting items and tell workers to stop; returns at once.

        Parked :meth:`get` calls return ``(None, True)``; later ones first receive whatever is
        still queued. Items in processing are not waited for. A concurrent
        :meth:`shut_down_with_drain` stops waiting and returns (the "second SIGTERM").
        Idempotent.
        """
        self._shut_down(drain=False)

    def _shut_down(self, drain: bool) -> None:
        with self._lock:
            wake = self._begin_shutdown(drain)
        if self._ticker is not None:
            self._ticker.stop()
        wake_all(wake)

    def shut_down_with_drain(self, timeout: float | None = None) -> None:
        """Shut down like :meth:`shut_down`, then wait until no item is being processed.

        It waits for the items workers have taken (until they call :meth:`done`), not for the
        queued ones, which :meth:`get` still hands out: a worker that keeps calling ``get``
        drains them too. It returns as soon as nothing is being processed, or when
        :meth:`shut_down` is called meanwhile. Workers **must** call ``done``, or this waits
        forever. ``timeout`` raises :class:`TimeoutError`; the queue stays shut down.
        """
        block(self._draining(timeout, ThreadWaiter))

    async def async_shut_down_with_drain(self, timeout: float | None = None) -> None:
        """:meth:`shut_down_with_drain` for an asyncio or trio task.

        Cancelling the wait leaves the queue shut down (the drain keeps its meaning for other
        waiters).
        """
        await async_block(self._draining(timeout, async_waiter))

    def _draining(self, timeout: float | None, new_waiter: Callable[[], Waiter]) -> Blocking[None]:
        """Shut down with drain, then wait until nothing is processing: every world's body."""
        self._shut_down(drain=True)
        deadline = deadline_after(timeout)  # on the real clock: timeouts are wall time
        while True:
            with self._lock:
                if not self._processing or not self._drain:
                    return
                e = self._drainers.park(new_waiter())
            if not (yield e.waiter, time_left(deadline), self._drainers.withdrawer(e)):
                raise TimeoutError("workqueue shut_down_with_drain: items still processing")

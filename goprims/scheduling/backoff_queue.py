"""A three-tier retry queue: kube-scheduler's ``PriorityQueue`` (``backend/queue/``).

An item lives in exactly one place at a time:

* **active**: a heap ordered by the caller's ``less(a, b)`` (ties: the earlier timestamp, then
  insertion order); :meth:`BackoffPriorityQueue.pop` takes its head;
* **backoff**: items that failed and wait out an exponential backoff (1, 2, 4, 8, 10, 10... s
  by default, counted from the failure), ordered by expiry in the one heap of delays
  (:class:`~goprims.workqueue.delay_heap.DelayHeap`);
* **parked**: items that failed for a reason only an outside *event* can remove; they come out
  on a :meth:`~BackoffPriorityQueue.move_all` whose event matches their reasons, or after
  ``max_parked`` seconds;
* **in flight**: popped and not yet handed back with :meth:`~BackoffPriorityQueue.failed` or
  :meth:`~BackoffPriorityQueue.done`. While an item is in flight it is never handed to a
  second popper: an ``add``/``update`` of it is remembered and applied when it comes back.

**The lost-wakeup guard.** An event that arrives while an item is being tried may be exactly
the one that would make it succeed; had the item already been parked, the event would have
released it. The queue counts pops (the *cycle*) and remembers the cycle of the latest
``move_all``: a failure of an item popped at cycle ``c`` is parked only if no move happened at
or after ``c``; otherwise it goes to backoff, so the event is not lost.

Blocking follows the waiter core (:mod:`goprims._waiter`): a popper that finds active empty
parks; whoever makes an item active hands the best one straight to the oldest parked popper.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Set
from typing import Any, Generic, TypeVar

from goprims._waiter import (
    Blocking,
    Parked,
    ThreadWaiter,
    Waiter,
    WaitQueue,
    async_block,
    async_waiter,
    block,
    wake_all,
)
from goprims.backoff import exponential
from goprims.chan import Chan, Recv, select
from goprims.clock import Alarm, Clock, resolve
from goprims.scheduling.errors import QueueClosed
from goprims.stop import Stop, stop_chan
from goprims.workqueue.delay_heap import DelayHeap

__all__ = ["BackoffPriorityQueue", "QueuedItem", "backoff_duration"]

T = TypeVar("T")

_EMPTY: frozenset[Any] = frozenset()


def backoff_duration(attempts: int, initial: float, maximum: float) -> float:
    """Upstream's ``calculateBackoffDuration``: 0 before the first attempt, then
    ``initial * 2**(attempts - 1)`` capped at ``maximum`` (the project's one exponential,
    :func:`goprims.backoff.exponential`: exact, and never overflows)."""
    if attempts <= 0:
        return 0.0
    return exponential(initial, attempts - 1, maximum)


class QueuedItem(Generic[T]):
    """What :meth:`BackoffPriorityQueue.pop` hands out (upstream ``QueuedPodInfo``).

    ``item``; ``attempts``: pops of this item so far, this one included; ``timestamp``: when
    it last entered the queue (its add, or its last failure); ``cycle``: the queue's pop count
    at this pop, which :meth:`BackoffPriorityQueue.failed` compares with the last move. Pass
    the very object back to ``failed`` or ``done``.
    """

    __slots__ = ("attempts", "cycle", "item", "timestamp")

    def __init__(self, item: T, attempts: int, timestamp: float, cycle: int) -> None:
        self.item = item
        self.attempts = attempts
        self.timestamp = timestamp
        self.cycle = cycle

    def __repr__(self) -> str:
        return (
            f"QueuedItem({self.item!r}, attempts={self.attempts}, "
            f"timestamp={self.timestamp!r}, cycle={self.cycle})"
        )


class _Info:
    """The queue's record of one item, moved (never copied) between tiers."""

    __slots__ = ("attempts", "item", "key", "reasons", "timestamp")

    def __init__(self, key: Hashable, item: Any, timestamp: float) -> None:
        self.key = key
        self.item = item
        self.attempts = 0
        self.timestamp = timestamp
        self.reasons: frozenset[Any] = _EMPTY


class _LessOrder:
    """The first field of an active entry when the queue orders by ``less``: compares by
    ``less``, then by timestamp, then by insertion order (a Python ``__lt__``; with
    ``sort_key`` the first field is the key itself and heapq compares in C).

    It holds the item and timestamp as they were when the entry was pushed: a record changed
    later (an update re-pushes it) must not reorder the entries already in the heap, dead ones
    included, or the heap invariant breaks.
    """

    __slots__ = ("item", "less", "seq", "timestamp")

    def __init__(self, info: _Info, seq: int, less: Callable[[Any, Any], bool]) -> None:
        self.item = info.item
        self.timestamp = info.timestamp
        self.seq = seq
        self.less = less

    def __lt__(self, other: _LessOrder) -> bool:
        less = self.less
        if less(self.item, other.item):
            return True
        if less(other.item, self.item):
            return False
        return (self.timestamp, self.seq) < (other.timestamp, other.seq)


# An active heap entry: (order, timestamp, seq, info); order is sort_key(item) or a _LessOrder.
# seq is unique, so info is never compared. Live while ``queue._active[info.key] is entry``.
_Ready = tuple[Any, float, int, _Info]


class _Flight:
    """An item handed out by pop and not yet given back."""

    __slots__ = ("changed", "deleted", "info", "pending", "qi")

    def __init__(self, info: _Info, qi: QueuedItem[Any]) -> None:
        self.info = info
        self.qi = qi
        self.pending: Any = None  # the newest version added/updated while out (None: none)
        self.changed = False  # added, updated or activated while out: do not park it
        self.deleted = False  # deleted while out (and not re-added): drop it when it returns


def _arm_no_later(alarm: Alarm, at: float) -> None:
    """Make sure ``alarm`` fires no later than ``at`` (an earlier pending arming stands)."""
    if not alarm.pending or alarm.when is None or at < alarm.when:
        alarm.arm_at(at)


def _always(_reasons: Set[Any], _event: Any) -> bool:
    return True


class BackoffPriorityQueue(Generic[T]):
    """A keyed priority queue with a backoff tier and an event-gated parking tier; thread-,
    asyncio- and trio-safe. See the module docstring for the tiers and the lost-wakeup guard.

    * ``key(item)``: the item's identity (hashable); one entry per key.
    * ``less(a, b)``: True when ``a`` should be popped before ``b`` (e.g.
      ``lambda a, b: a.priority > b.priority``); equal items pop oldest timestamp first, so an
      item that just failed goes behind its peers. ``less`` and ``key`` run under the queue's
      lock: keep them quick, and they must not raise or call the queue.
    * ``sort_key(item)`` instead of ``less`` (pass ``less=None``): items pop in ascending
      ``sort_key`` order (e.g. ``lambda j: -j.priority``), ties as above. The heap then compares
      in C: about twice as fast as a ``less`` function, which costs a Python call per
      comparison. Exactly one of the two must be given (:class:`ValueError`); like ``less``,
      ``sort_key`` runs under the lock and must not raise.
    * ``initial_backoff``, ``max_backoff`` (seconds): the backoff after ``n`` attempts is
      ``initial * 2**(n-1)`` capped at ``max_backoff``, counted from the failure.
    * ``max_parked`` (seconds): a parked item is released after that long even without an
      event (upstream: 60 s in the 1.21 era, now 5 min).
    * ``matches(reasons, event) -> bool``: whether ``event`` may help an item parked with
      ``reasons`` (default: every event does). An item parked with no reasons is released by
      any event, as upstream.
    * ``clock``: times backoffs and parking (a :class:`~goprims.clock.FakeClock` in tests).

    The flushes (expired backoff to active, over-age parked out) happen when you call
    :meth:`flush_backoff` / :meth:`flush_parked`, and automatically on the clock while
    :meth:`run` runs. After :meth:`close`, :meth:`pop` raises :class:`QueueClosed` and every
    other call is ignored.
    """

    def __init__(
        self,
        key: Callable[[T], Hashable],
        less: Callable[[T, T], bool] | None,
        *,
        sort_key: Callable[[T], Any] | None = None,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        max_parked: float = 60.0,
        matches: Callable[[Set[Any], Any], bool] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if (less is None) == (sort_key is None):
            raise ValueError("BackoffPriorityQueue needs exactly one of less and sort_key")
        if not initial_backoff >= 0:
            raise ValueError(f"initial_backoff must be >= 0, not {initial_backoff!r}")
        if not max_backoff >= initial_backoff:
            raise ValueError(
                f"max_backoff ({max_backoff!r}) must be >= initial_backoff ({initial_backoff!r})"
            )
        if not max_parked >= 0:
            raise ValueError(f"max_parked must be >= 0, not {max_parked!r}")
        self._key = key
        self._less = less
        self._sort_key = sort_key
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        self.max_parked = float(max_parked)
        self._matches = _always if matches is None else matches
        self._clock = resolve(clock)
        # One lock guards every field below.
        self._lock = threading.Lock()
        # active: key -> its live heap entry; the heap may also hold dead entries (replaced or
        # removed), dropped when they reach the top.
        self._active: dict[Hashable, _Ready] = {}
        self._heap: list[_Ready] = []
        self._seq = itertools.count()
        # backoff: keys by expiry, and their records.
        self._backoff = DelayHeap[Hashable]()
        self._backoff_info: dict[Hashable, _Info] = {}
        # parked: key -> record, in parking order, which is timestamp order (failed() stamps
        # the clock's now, and the clock never goes back).
        self._parked: OrderedDict[Hashable, _Info] = OrderedDict()
        # in flight: key -> what pop handed out. Invariant: a key is in at most one of
        # _active, _backoff_info, _parked and _in_flight.
        self._in_flight: dict[Hashable, _Flight] = {}
        # Parked pop() callers, oldest first. Invariant: non-empty only while _active is empty
        # and the queue is open. Fired with value=QueuedItem (already in flight), or ok=False
        # by close().
        self._poppers = WaitQueue(self._lock)
        self._cycle = 0  # pops so far (upstream schedulingCycle)
        self._move_cycle = -1  # _cycle at the latest move (upstream moveRequestCycle)
        self._closed = False
        self._running = False
        # The clock's one re-armable timer each, guarded by _lock; armed only while run() runs.
        self._backoff_alarm = Alarm(self._clock, self._on_backoff_alarm, self._lock)
        self._parked_alarm = Alarm(self._clock, self._on_parked_alarm, self._lock)
        self._closed_ch: Chan[None] = Chan()  # closed by close(): ends run()

    # ------------------------------------------------------------------ internal, lock held

    def _backoff_expiry(self, info: _Info) -> float:
        return info.timestamp + backoff_duration(
            info.attempts, self.initial_backoff, self.max_backoff
        )

    def _push_active(self, info: _Info, seq: int | None = None) -> None:
        if seq is None:
            seq = next(self._seq)
        sort_key = self._sort_key
        if sort_key is None:
            order: Any = _LessOrder(info, seq, self._less)  # type: ignore[arg-type]
        else:
            order = sort_key(info.item)
        entry = (order, info.timestamp, seq, info)
        self._active[info.key] = entry
        heapq.heappush(self._heap, entry)

    def _push_backoff(self, info: _Info, expiry: float) -> None:
        self._backoff.push(info.key, expiry)
        self._backoff_info[info.key] = info
        if self._running:
            _arm_no_later(self._backoff_alarm, expiry)

    def _park(self, info: _Info) -> None:
        self._parked[info.key] = info
        if self._running and not self._parked_alarm.pending:
            self._parked_alarm.arm_at(info.timestamp + self.max_parked)

    def _requeue(self, info: _Info, now: float) -> None:
        """To backoff while ``info`` is still backing off, else to active."""
        expiry = self._backoff_expiry(info)
        if expiry > now:
            self._push_backoff(info, expiry)
        else:
            self._push_active(info)

    def _unqueue(self, key: Hashable) -> _Info | None:
        """Take ``key`` out of whichever tier holds it (not in flight); its record or None."""
        entry = self._active.pop(key, None)
        if entry is not None:
            return entry[3]  # its heap entry is now dead
        info = self._backoff_info.pop(key, None)
        if info is not None:
            self._backoff.remove(key)
            return info
        return self._parked.pop(key, None)

    def _take(self) -> QueuedItem[T]:
        """Pop the head of the non-empty active tier into flight. Lock held."""
        heap = self._heap
        active = self._active
        while True:
            entry = heapq.heappop(heap)
            info = entry[3]
            if active.get(info.key) is entry:
                break
        del active[info.key]
        info.attempts += 1
        self._cycle += 1
        qi: QueuedItem[T] = QueuedItem(info.item, info.attempts, info.timestamp, self._cycle)
        self._in_flight[info.key] = _Flight(info, qi)
        return qi

    def _dispatch(self) -> list[Parked]:
        """Hand active items to parked poppers, best item to oldest popper. Returns the poppers
        to wake once the lock is released."""
        wake: list[Parked] = []
        poppers = self._poppers
        while poppers and self._active:
            e = poppers.pop_live()
            if e is None:
                break  # every parked popper was withdrawing (timed out / cancelled)
            e.waiter.value = self._take()
            wake.append(e)
        return wake

    def _flight_of(self, qi: QueuedItem[T], what: str) -> _Flight | None:
        """The flight ``qi`` belongs to (removed from the in-flight table), None if the queue
        is closed; :class:`ValueError` if ``qi`` is not in flight. Lock held."""
        key = self._key(qi.item)
        flight = self._in_flight.get(key)
        if flight is None or flight.qi is not qi:
            if self._closed:
                return None
            raise ValueError(
                f"BackoffPriorityQueue.{what}: {qi!r} is not in flight (never popped, or "
                "already given back with failed/done)"
            )
        del self._in_flight[key]
        return None if self._closed else flight

    # ------------------------------------------------------------------------------- adding

    def add(self, item: T) -> None:
        """Put ``item`` in the active tier (upstream ``Add``).

        An item already queued is replaced by this one and moves to active from whichever tier
        held it (its attempt count is kept). An item in flight is not queued a second time:
        this version is remembered and queued when the popper hands it back.
        """
        key = self._key(item)
        with self._lock:
            if self._closed:
                return
            self._add_locked(key, item)
            wake = self._dispatch() if self._poppers else None
        if wake:
            wake_all(wake)

    def _add_locked(self, key: Hashable, item: T) -> None:
        flight = self._in_flight.get(key)
        if flight is not None:
            flight.pending = item
            flight.changed = True
            flight.deleted = False
            return
        old = self._active.get(key)
        if old is not None:
            old[3].item = item
            self._push_active(old[3], old[2])  # re-sorted; the old entry is now dead
            return
        info = self._unqueue(key)
        if info is None:
            info = _Info(key, item, self._clock.now())
        else:
            info.item = item
        self._push_active(info)

    def update(self, item: T) -> None:
        """Replace ``item`` where it is (upstream ``Update``).

        In active it is re-sorted; in backoff it keeps its expiry; a **parked** item leaves
        the parked tier (its change may be what it waited for): to backoff if still backing
        off, else to active. An unknown item is added to active; an item in flight is handled
        as by :meth:`add`.
        """
        key = self._key(item)
        with self._lock:
            if self._closed:
                return
            info = self._backoff_info.get(key)
            if info is not None:
                info.item = item
                return
            info = self._parked.pop(key, None)
            if info is None:
                self._add_locked(key, item)  # active: re-sorted; in flight or unknown: add
            else:
                info.item = item
                self._requeue(info, self._clock.now())
            wake = self._dispatch() if self._poppers else None
        if wake:
            wake_all(wake)

    def delete(self, item: T) -> bool:
        """Remove ``item`` (by key) from whichever tier holds it; True if it was queued.

        An item in flight is dropped when it is handed back (a later :meth:`add` revives it).
        """
        key = self._key(item)
        with self._lock:
            if self._closed:
                return False
            flight = self._in_flight.get(key)
            if flight is not None:
                flight.deleted = True
                flight.pending = None
                return True
            return self._unqueue(key) is not None

    # -------------------------------------------------------------------------- popping

    def _popping(
        self, timeout: float | None, new_waiter: Callable[[], Waiter]
    ) -> Blocking[QueuedItem[T]]:
        """pop for every world (:func:`~goprims._waiter.block` / ``async_block``)."""
        with self._lock:
            if self._closed:
                raise QueueClosed("pop from a closed BackoffPriorityQueue")
            if self._active:
                return self._take()
            if timeout is not None and timeout <= 0:
                raise TimeoutError("BackoffPriorityQueue.pop: no active item")
            e = self._poppers.park(new_waiter())
        if not (yield e.waiter, timeout, self._poppers.withdrawer(e)):
            raise TimeoutError("BackoffPriorityQueue.pop: no active item")
        if not e.waiter.ok:
            raise QueueClosed("BackoffPriorityQueue closed while waiting in pop")
        qi: QueuedItem[T] = e.waiter.value
        return qi

    def pop(self, timeout: float | None = None) -> QueuedItem[T]:
        """Take the best active item, blocking while there is none (upstream ``Pop``).

        Counts an attempt and a cycle; the item is then *in flight* until you hand it back
        with :meth:`failed` or :meth:`done` (exactly one of them). Raises
        :class:`QueueClosed` once the queue is closed (also in a pop already blocked), and
        :class:`TimeoutError` when ``timeout`` seconds pass (0: do not block).
        """
        lock = self._lock
        lock.acquire()
        try:
            if self._active and not self._closed:
                return self._take()  # the fast path: no generator, no waiter
        finally:
            lock.release()
        return block(self._popping(timeout, ThreadWaiter))

    async def async_pop(self, timeout: float | None = None) -> QueuedItem[T]:
        """:meth:`pop` for asyncio and trio tasks; threads may feed it.

        Cancelled before an item was handed over: raises the cancellation, takes nothing.
        Cancelled after: returns the item (it is in flight, the caller owns it).
        """
        return await async_block(self._popping(timeout, async_waiter))

    # ------------------------------------------------------------------- handing back

    def failed(self, qi: QueuedItem[T], *, reasons: Iterable[Any] = _EMPTY) -> None:
        """Hand back a popped item that could not be processed (upstream
        ``AddUnschedulableIfNotPresent``).

        Stamps the time and **parks** the item with ``reasons`` (what it waits for; see
        ``matches``), **unless** a :meth:`move_all` ran at or after ``qi.cycle`` (the
        lost-wakeup guard) or the item was added, updated or activated while in flight: then
        it goes to backoff (or active if its backoff is already over). An item deleted while
        in flight is dropped. :class:`ValueError` if ``qi`` is not in flight.
        """
        reasons = frozenset(reasons)  # before anything changes: an unhashable reason raises here
        with self._lock:
            flight = self._flight_of(qi, "failed")
            if flight is None:
                return
            if flight.deleted:
                return
            info = flight.info
            if flight.pending is not None:
                info.item = flight.pending
            info.timestamp = now = self._clock.now()
            info.reasons = reasons
            if flight.changed or self._move_cycle >= qi.cycle:
                self._requeue(info, now)
            else:
                self._park(info)
            wake = self._dispatch() if self._poppers else None
        if wake:
            wake_all(wake)

    def done(self, qi: QueuedItem[T]) -> None:
        """Hand back a popped item that was processed; the queue forgets it.

        If it was added or updated while in flight, that version is queued now as a new item
        (no attempts). :class:`ValueError` if ``qi`` is not in flight.
        """
        with self._lock:
            flight = self._flight_of(qi, "done")
            if flight is None or flight.pending is None:
                return
            self._push_active(_Info(flight.info.key, flight.pending, self._clock.now()))
            wake = self._dispatch() if self._poppers else None
        if wake:
            wake_all(wake)

    # -------------------------------------------------------------------------- moving

    def move_all(self, event: Any, *, pre_check: Callable[[T], bool] | None = None) -> int:
        """An event happened: release the parked items it may help (upstream
        ``MoveAllToActiveOrBackoffQueue``). Returns how many moved.

        Each parked item whose reasons are empty or ``matches(reasons, event)``, and that
        passes ``pre_check(item)`` (if given), goes to backoff while still backing off, else to
        active. The move is also recorded for the lost-wakeup guard: items in flight now that
        fail later go to backoff instead of parking. ``matches`` and ``pre_check`` run under
        the queue's lock; if one raises, the exception propagates and the items moved before
        it stay moved.
        """
        wake: list[Parked] = []
        try:
            with self._lock:
                if self._closed:
                    return 0
                self._move_cycle = self._cycle
                try:
                    return self._move_parked(event, pre_check)
                finally:
                    # Even if matches or pre_check raised: what moved goes to the poppers.
                    if self._poppers:
                        wake = self._dispatch()
        finally:
            wake_all(wake)

    def _move_parked(self, event: Any, pre_check: Callable[[T], bool] | None) -> int:
        moved = 0
        if self._parked:
            now = self._clock.now()
            matches = self._matches
            for key, info in list(self._parked.items()):
                if info.reasons and not matches(info.reasons, event):
                    continue
                if pre_check is not None and not pre_check(info.item):
                    continue
                del self._parked[key]
                self._requeue(info, now)
                moved += 1
        return moved

    def activate(self, keys: Iterable[Hashable]) -> int:
        """Move the items with these keys from backoff or parked to active now (upstream
        ``Activate``); returns how many moved. Keys already active or unknown are ignored; an
        item in flight will not be parked when it fails.
        """
        with self._lock:
            if self._closed:
                return 0
            moved = 0
            for key in keys:
                flight = self._in_flight.get(key)
                if flight is not None:
                    flight.changed = True
                    continue
                if key in self._active:
                    continue
                info = self._unqueue(key)
                if info is not None:
                    self._push_active(info)
                    moved += 1
            wake = self._dispatch() if self._poppers else None
        if wake:
            wake_all(wake)
        return moved

    def _flush_backoff_locked(self) -> list[Parked]:
        keys = self._backoff.pop_due(self._clock.now())
        for key in keys:
            self._push_active(self._backoff_info.pop(key))
        return self._dispatch() if keys and self._poppers else []

    def _flush_parked_locked(self) -> list[Parked]:
        now = self._clock.now()
        parked = self._parked
        moved = False
        while parked:
            key, info = next(iter(parked.items()))
            if now - info.timestamp < self.max_parked:
                break
            del parked[key]
            self._requeue(info, now)
            moved = True
        if moved:
            self._move_cycle = self._cycle  # a move, as upstream's UnschedulableTimeout event
        return self._dispatch() if moved and self._poppers else []

    def flush_backoff(self) -> None:
        """Move every item whose backoff is over to active (upstream
        ``flushBackoffQCompleted``)."""
        with self._lock:
            wake = [] if self._closed else self._flush_backoff_locked()
        wake_all(wake)

    def flush_parked(self) -> None:
        """Release the items parked for ``max_parked`` seconds or more, to backoff or active
        (upstream ``flushUnschedulablePodsLeftover``); counts as a move for the guard."""
        with self._lock:
            wake = [] if self._closed else self._flush_parked_locked()
        wake_all(wake)

    # ------------------------------------------------------------------ the clock's flushes

    def _on_backoff_alarm(self) -> Callable[[], None] | None:
        """The backoff alarm fired (lock held by the Alarm): flush, re-arm for the next expiry,
        and wake the poppers that got items once the lock is released."""
        if self._closed or not self._running:
            return None
        wake = self._flush_backoff_locked()
        nxt = self._backoff.earliest()
        if nxt is not None:
            self._backoff_alarm.arm_at(nxt)
        return (lambda: wake_all(wake)) if wake else None

    def _on_parked_alarm(self) -> Callable[[], None] | None:
        """The parked alarm fired (lock held): release items parked longer than max_parked and
        re-arm for the oldest one left."""
        if self._closed or not self._running:
            return None
        wake = self._flush_parked_locked()
        if self._parked:
            oldest = next(iter(self._parked.values()))
            self._parked_alarm.arm_at(oldest.timestamp + self.max_parked)
        return (lambda: wake_all(wake)) if wake else None

    def run(self, stop: Stop) -> None:
        """Flush on the clock until ``stop`` (a :class:`~goprims.chan.Chan` the caller closes,
        or a :class:`~goprims.context.Context`) is done or the queue is closed. Blocks.

        Where upstream polls (backoff every 1 s, parked every 30 s), this keeps one clock
        callback for the earliest backoff expiry and one for the oldest parked item's
        ``max_parked``, so items move exactly when due and an idle queue schedules nothing.
        :class:`RuntimeError` if it is already running.
        """
        stop_ch = stop_chan(stop)
        with self._lock:
            if self._closed:
                return
            if self._running:
                raise RuntimeError("BackoffPriorityQueue.run: already running")
            self._running = True
            nxt = self._backoff.earliest()
            if nxt is not None:
                self._backoff_alarm.arm_at(nxt)
            if self._parked:
                oldest = next(iter(self._parked.values()))
                self._parked_alarm.arm_at(oldest.timestamp + self.max_parked)
        try:
            select(Recv(stop_ch), Recv(self._closed_ch))
        finally:
            with self._lock:
                self._running = False
                self._backoff_alarm.stop()
                self._parked_alarm.stop()

    def close(self) -> None:
        """Close the queue (upstream ``Close``): every blocked and later :meth:`pop` raises
        :class:`QueueClosed`, :meth:`run` returns, and other calls are ignored. Idempotent."""
        wake: list[Parked] = []
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for e in self._poppers.claim_all():
                e.waiter.ok = False
                wake.append(e)
            self._backoff_alarm.stop()
            self._parked_alarm.stop()
        self._closed_ch.close()
        wake_all(wake)

    # -------------------------------------------------------------------- introspection

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def cycle(self) -> int:
        """Pops so far (upstream ``SchedulingCycle``)."""
        return self._cycle

    def pending(self) -> tuple[int, int, int]:
        """How many items are ``(active, backoff, parked)``; items in flight are not counted."""
        with self._lock:
            return len(self._active), len(self._backoff), len(self._parked)

    def in_flight(self) -> int:
        """How many popped items were not handed back yet."""
        return len(self._in_flight)

    def tier_of(self, item: T) -> str | None:
        """``"active"``, ``"backoff"``, ``"parked"``, ``"in_flight"`` or None (unknown)."""
        key = self._key(item)
        with self._lock:
            if key in self._active:
                return "active"
            if key in self._backoff_info:
                return "backoff"
            if key in self._parked:
                return "parked"
            if key in self._in_flight:
                return "in_flight"
            return None

    def __len__(self) -> int:
        """Items queued in the three tiers (not in flight)."""
        return len(self._active) + len(self._backoff_info) + len(self._parked)

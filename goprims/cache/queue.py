"""Queue: what DeltaFIFO and RealFIFO share -- a Store that a consumer pops from (client-go's
``cache.Queue``): the blocking ``pop``, ``close``, and the ``has_synced`` accounting.

**Pop.** ``pop(process)`` takes the oldest entry and calls ``process(deltas, is_in_initial_list)``
*while holding the FIFO's lock*, as client-go does: whatever ``process`` updates (typically the
informer's indexer, which is also the FIFO's ``known_objects``) changes atomically with the queue,
so a concurrent ``replace`` or ``resync`` never sees an object in neither place. Hence ``process``
must be quick and must not call back into the FIFO. An exception from ``process`` propagates out
of ``pop``; the entry has been removed all the same.

**Waiting.** An empty queue parks the caller through the waiter core (:mod:`goprims._waiter`):
threads with :meth:`Queue.pop`, asyncio and trio tasks with :meth:`Queue.async_pop`, all on the same
FIFO. A new entry is *reserved* for the parked caller it wakes, so a woken caller always finds an
entry to take: callers that arrive later cannot overtake it. Hence a timed-out or cancelled caller
either took nothing, or (having been woken in the same instant) completes normally.

**Sync accounting.** ``has_synced()`` is ``populated and initial_population_count == 0``:
``populated`` is set by the first ``add``/``update``/``delete`` or ``replace``, and the first
``replace`` sets ``initial_population_count`` to the number of entries it queued; each pop
decrements it. ``is_in_initial_list`` is ``not has_synced()`` as it stood just before the pop.
"""

from __future__ import annotations

import abc
import builtins
import logging
import threading
from collections.abc import Callable
from typing import Any

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
from goprims.cache.deltas import Delta, Deltas
from goprims.cache.keys import (
    CacheKeyError,
    DeletedFinalStateUnknown,
    KeyFunc,
    meta_namespace_key_func,
)
from goprims.cache.store import KeyListerGetter, compute_key
from goprims.clock import deadline_after, time_left

__all__ = ["FIFOClosed", "PopProcessFunc", "Queue", "TransformFunc", "fifo_key_of"]

TransformFunc = Callable[[Any], Any]
"""Rewrites an object before a FIFO queues it (e.g. to drop fields the consumer never reads)."""

PopProcessFunc = Callable[[Deltas, bool], object]
"""``process(deltas, is_in_initial_list)``: consumes one popped entry under the FIFO's lock."""

# Outcomes a firer records in ``Waiter.index`` before waking a parked pop.
_FIRED = 1  # an entry is reserved for this waiter
_CLOSED = 2  # the FIFO was closed


_log = logging.getLogger("goprims.cache")


def fifo_key_of(key_func: KeyFunc, obj: Any) -> str:
    """The key a FIFO files ``obj`` under: a ``Deltas`` by its newest object, a tombstone by its
    key, a ``Delta`` by its object, anything else by ``key_func``. Raises :class:`CacheKeyError`.
    """
    if isinstance(obj, Deltas):
        if not obj:
            raise CacheKeyError(obj, "0 length Deltas object; can't get key")
        obj = obj[-1].object
    elif isinstance(obj, Delta):
        obj = obj.object
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    return compute_key(key_func, obj)


class FIFOClosed(Exception):
    """``pop`` found the FIFO closed and empty (client-go's ``ErrFIFOClosed``)."""


class Queue(abc.ABC):
    """Base of DeltaFIFO and RealFIFO: blocking pop, close, and the sync accounting.

    A subclass keeps its entries in its own structure, guarded by ``self._lock``, and implements
    :meth:`_len_locked` and :meth:`_take_locked`. Every method that adds entries calls
    :meth:`_fire_locked` before releasing the lock and wakes what it returns after releasing it.
    """

    def __init__(
        self,
        key_func: KeyFunc = meta_namespace_key_func,
        known_objects: KeyListerGetter | None = None,
        transformer: TransformFunc | None = None,
    ) -> None:
        self._key_func = key_func
        self._known = known_objects  # the consumer's cache, consulted by delete/replace/resync
        self._transformer = transformer
        # _lock guards everything below and the subclass's entries. ``process`` runs under it.
        self._lock = threading.Lock()
        self._closed = False
        # False until the first add/update/delete/replace.
        self._populated = False
        # Entries of the first replace not yet popped; never negative.
        self._initial_population_count = 0
        # Parked pops, oldest first. Each is unclaimed and will be claimed (and removed) by
        # exactly one of: a firer, close(), or its own withdrawal.
        # Invariant: while any waiter is parked here, every entry is reserved
        # (self._len_locked() == self._reserved).
        self._waiters = WaitQueue(self._lock)
        # Entries promised to woken pops that have not re-taken the lock yet.
        # Invariant: 0 <= self._reserved <= self._len_locked().
        self._reserved = 0

    # ----------------------------------------------------------------------- subclass contract

    @abc.abstractmethod
    def _len_locked(self) -> int:
        """Number of entries pop could take. Lock held."""

    @abc.abstractmethod
    def _take_locked(self) -> Deltas:
        """Remove and return the oldest entry (there is one). Lock held."""

    def _fire_locked(self) -> list[Parked]:
        """Reserve each unreserved entry for a parked pop. Lock held; wake the result after
        releasing it (:func:`~goprims._waiter.wake_all`)."""
        fired: list[Parked] = []
        waiters = self._waiters
        while waiters and self._len_locked() > self._reserved:
            e = waiters.pop_live()  # skips pops withdrawing themselves
            if e is None:
                break
            e.waiter.index = _FIRED
            self._reserved += 1
            fired.append(e)
        return fired

    def _forfeit_locked(self, w: Waiter) -> list[Parked]:
        """A woken pop leaves without taking its reserved entry: pass it on. Lock held."""
        if w.index != _FIRED:
            return []
        w.index = -1
        self._reserved -= 1
        return self._fire_locked()

    # ------------------------------------------------------------------------------ public API

    def has_synced(self) -> bool:
        """True once the first ``add``/``update``/``delete`` happened, or every entry queued by
        the first ``replace`` (its synthetic deletions included) has been popped and processed."""
        with self._lock:
            return self._populated and self._initial_population_count == 0

    def is_closed(self) -> bool:
        """True once :meth:`close` was called."""
        with self._lock:
            return self._closed

    def close(self) -> None:
        """Close the FIFO: pops drain what is queued, then raise :class:`FIFOClosed` instead of
        waiting. Every pop waiting now wakes. Adding after close is still allowed (client-go)."""
        with self._lock:
            self._closed = True
            woken = self._waiters.claim_all()
            for e in woken:
                e.waiter.index = _CLOSED
        wake_all(woken)

    def _transform(self, obj: Any) -> Any:
        if self._transformer is None or isinstance(obj, DeletedFinalStateUnknown):
            return obj
        return self._transformer(obj)

    def key_of(self, obj: Any) -> str:
        """The key of ``obj``: a ``Deltas`` by its newest object, a ``Delta`` by its object, a
        :class:`DeletedFinalStateUnknown` by its ``key``, anything else by the key function.
        Raises :class:`CacheKeyError` (also for an empty ``Deltas``)."""
        return fifo_key_of(self._key_func, obj)

    def __len__(self) -> int:
        """Number of queued entries (keys for DeltaFIFO, deltas for RealFIFO)."""
        with self._lock:
            return self._len_locked()

    def _park_locked(
        self, deadline: float | None, new_waiter: Callable[[], Waiter]
    ) -> tuple[Parked, float | None]:
        """A pop must wait: raise if closed or out of time, else park a new waiter and return
        its entry with the time left. Lock held."""
        if self._closed:
            raise FIFOClosed("pop from a closed FIFO")
        remaining = time_left(deadline)
        if remaining is not None and remaining <= 0:
            raise TimeoutError("FIFO pop timed out")
        return self._waiters.park(new_waiter()), remaining

    def _took_reservation_locked(self, w: Waiter, woken: bool) -> bool:
        """After a wait: if an entry was reserved for ``w`` it is now the caller's to take (True);
        otherwise (timed out, closed) the pop loop re-checks. Lock held."""
        if woken and w.index == _FIRED:
            self._reserved -= 1
            return True
        return False

    def _pop_locked(self, process: PopProcessFunc | None) -> Deltas:
        """Take the oldest entry, update the sync accounting, run ``process``. Lock held."""
        is_in_initial_list = not (self._populated and self._initial_population_count == 0)
        deltas = self._take_locked()
        if self._initial_population_count > 0:
            self._initial_population_count -= 1
        if process is not None:
            process(deltas, is_in_initial_list)
        return deltas

    def pop(self, process: PopProcessFunc | None = None, timeout: float | None = None) -> Deltas:
        """Wait for the oldest entry, remove it, call ``process(deltas, is_in_initial_list)``
        under the FIFO's lock, and return the deltas.

        Blocks while the FIFO is empty: up to ``timeout`` seconds (``None``: no limit; ``0``: do
        not block), then raises ``TimeoutError``. Raises :class:`FIFOClosed` once the FIFO is
        closed and empty. An exception from ``process`` propagates; the entry is not requeued.
        """
        return block(self._popping(process, timeout, ThreadWaiter))

    async def async_pop(
        self, process: PopProcessFunc | None = None, timeout: float | None = None
    ) -> Deltas:
        """:meth:`pop` for an asyncio or trio task (same semantics; ``process`` is a plain
        callable, run under the FIFO's lock in the task's thread).

        Cancelled while waiting, it raises the cancellation and took nothing -- unless an entry
        was reserved for it in the same instant, in which case it completes normally (see
        :mod:`goprims._waiter`). Taking the FIFO's lock may briefly block the event loop while
        another consumer's ``process`` runs.
        """
        return await async_block(self._popping(process, timeout, async_waiter))

    def _popping(
        self,
        process: PopProcessFunc | None,
        timeout: float | None,
        new_waiter: Callable[[], Waiter],
    ) -> Blocking[Deltas]:
        """The pop, for every world: wait (maybe several times: a woken pop whose reservation
        was lost to a timeout re-checks) until an entry is there for this caller, take it."""
        deadline = deadline_after(timeout)
        lock = self._lock
        to_wake: list[Parked] = []
        lock.acquire()
        try:
            while self._len_locked() <= self._reserved:
                e, remaining = self._park_locked(deadline, new_waiter)
                lock.release()
                try:
                    woken = yield e.waiter, remaining, self._waiters.withdrawer(e)
                except BaseException:  # cancelled or interrupted while parked
                    lock.acquire()
                    to_wake = self._forfeit_locked(e.waiter)
                    raise
                lock.acquire()
                if self._took_reservation_locked(e.waiter, woken):
                    break
            return self._pop_locked(process)
        finally:
            lock.release()  # held here on every path: the except above re-acquires it
            wake_all(to_wake)

    # -------------------------------------------------------------------- the Store interface

    @abc.abstractmethod
    def add(self, obj: Any) -> None:
        """Queue an ADDED delta for ``obj``."""

    @abc.abstractmethod
    def update(self, obj: Any) -> None:
        """Queue an UPDATED delta for ``obj``."""

    @abc.abstractmethod
    def delete(self, obj: Any) -> None:
        """Queue a DELETED delta for ``obj``."""

    @abc.abstractmethod
    def replace(self, items: Any, resource_version: str = "") -> None:
        """Queue a relist's result, with tombstones for what disappeared."""

    @abc.abstractmethod
    def resync(self) -> None:
        """Queue SYNC deltas for the known objects with nothing queued."""

    @abc.abstractmethod
    def list(self) -> builtins.list[Any]:
        """The newest queued object of every queued key."""

    @abc.abstractmethod
    def list_keys(self) -> builtins.list[str]:
        """Every queued key, oldest first."""

    @abc.abstractmethod
    def get(self, obj: Any) -> tuple[Deltas | None, bool]:
        """A copy of the deltas queued for ``obj``'s key."""

    @abc.abstractmethod
    def get_by_key(self, key: str) -> tuple[Deltas | None, bool]:
        """A copy of the deltas queued for ``key``."""


def lookup_known(known: Any, key: str, during: str) -> tuple[Any, bool] | None:
    """``known.get_by_key(key)``, or ``None`` (logged) if the consumer's store raised.

    A FIFO consults its ``known_objects`` under its own lock; a failure there must not lose the
    FIFO's state, so each caller decides what a failed lookup means (``during`` names it).
    """
    try:
        found: tuple[Any, bool] = known.get_by_key(key)
    except Exception:
        _log.exception("known_objects.get_by_key(%r) failed in %s", key, during)
        return None
    return found

"""DeltaFIFO: a producer/consumer queue of per-object change lists (client-go v0.32 semantics).

Each queued *key* carries the :class:`~goprims.cache.deltas.Deltas` that accumulated for it since
it was queued; ``pop`` hands the consumer all of them at once. A key keeps its place in the queue
while it collects more deltas (an update never moves a queued key back), so the consumer sees each
object once per pass, with its whole history, oldest delta first.

What each operation queues:

* ``add``/``update``: an ``ADDED``/``UPDATED`` delta.
* ``delete``: a ``DELETED`` delta -- ignored if the key is neither queued nor (with
  ``known_objects``) known, since a relist already reported it.
* ``replace(items)``: a ``REPLACED`` delta (``SYNC`` unless ``emit_delta_type_replaced``) per item;
  then, for every queued or known key absent from ``items``, a ``DELETED`` delta carrying a
  :class:`~goprims.cache.keys.DeletedFinalStateUnknown` tombstone with the last state known
  (the newest queued object, else the known object, else ``None``).
* ``resync()``: a ``SYNC`` delta for every known object whose key has nothing queued (a queued
  delta is newer than the known state, so re-delivering the known state would go back in time).

Two consecutive ``DELETED`` deltas collapse into one, keeping the one with more information: the
real object over a tombstone. No other deltas are merged.

``transformer`` (if given) rewrites every object before it is queued, except tombstones and
``resync``'s objects (which come from the cache and were transformed when first queued).
``replace`` does transform: objects re-listed from the cache must tolerate it.

Blocking pop, ``close`` and ``has_synced`` are described in :mod:`goprims.cache.queue`. If several
threads pop, they may process different versions of the same object concurrently; informers use
one consumer.
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from goprims._waiter import Parked, wake_all
from goprims.cache.deltas import Delta, Deltas, DeltaType
from goprims.cache.keys import (
    DeletedFinalStateUnknown,
    KeyFunc,
    meta_namespace_key_func,
)
from goprims.cache.queue import (
    FIFOClosed,
    PopProcessFunc,
    Queue,
    TransformFunc,
    fifo_key_of,
    lookup_known,
)
from goprims.cache.store import KeyListerGetter

__all__ = [
    "Delta",
    "DeltaFIFO",
    "DeltaType",
    "Deltas",
    "FIFOClosed",
    "PopProcessFunc",
    "TransformFunc",
]


_ADDED = DeltaType.ADDED
_UPDATED = DeltaType.UPDATED
_DELETED = DeltaType.DELETED
_REPLACED = DeltaType.REPLACED
_SYNC = DeltaType.SYNC


class DeltaFIFO(Queue):
    """A queue of keys, each with the deltas accumulated for it (see the module docstring).

    ``DeltaFIFO(key_func=meta_namespace_key_func, known_objects=None,
    emit_delta_type_replaced=False, transformer=None)``. ``known_objects`` is the cache the
    consumer maintains (list_keys + get_by_key, e.g. the informer's Indexer); it makes ``delete``,
    ``replace`` and ``resync`` aware of objects no longer queued. Informers pass
    ``emit_delta_type_replaced=True``.

    Every operation is all or nothing: a key function or transformer failure raises before
    anything is queued. Thread-safe; see :mod:`goprims.cache.queue` for ``pop``.
    """

    def __init__(
        self,
        key_func: KeyFunc = meta_namespace_key_func,
        known_objects: KeyListerGetter | None = None,
        emit_delta_type_replaced: bool = False,
        transformer: TransformFunc | None = None,
    ) -> None:
        super().__init__(key_func, known_objects, transformer)
        self._emit_replaced = emit_delta_type_replaced
        # Guarded by self._lock. Key -> its deltas; the dict's order *is* the queue order: a key
        # is appended when it gets its first delta and keeps its place until popped.
        # Invariant: every Deltas here is non-empty and never ends in two DELETED deltas.
        self._items: OrderedDict[str, Deltas] = OrderedDict()

    # ------------------------------------------------------------------------------ internals

    def _len_locked(self) -> int:
        return len(self._items)

    def _take_locked(self) -> Deltas:
        return self._items.popitem(last=False)[1]

    def _queue_locked(self, key: str, dtype: DeltaType, obj: Any) -> None:
        """Append ``Delta(dtype, obj)`` to ``key``'s deltas, merging consecutive deletions.
        Cannot fail. Lock held."""
        deltas = self._items.get(key)
        if deltas is None:
            self._items[key] = Deltas((Delta(dtype, obj),))
        elif dtype is _DELETED and deltas[-1].type is _DELETED:
            # Two deletions in a row: keep the one with more information.
            if isinstance(deltas[-1].object, DeletedFinalStateUnknown):
                deltas[-1] = Delta(dtype, obj)
        else:
            deltas.append(Delta(dtype, obj))

    # ------------------------------------------------------------------------------ the Store

    def _add_delta(self, dtype: DeltaType, obj: Any) -> None:
        woken: list[Parked] = []
        with self._lock:
            key = fifo_key_of(self._key_func, obj)
            obj = self._transform(obj)
            self._populated = True
            self._queue_locked(key, dtype, obj)
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    def add(self, obj: Any) -> None:
        """Queue an ``ADDED`` delta for ``obj``."""
        self._add_delta(_ADDED, obj)

    def update(self, obj: Any) -> None:
        """Queue an ``UPDATED`` delta for ``obj``."""
        self._add_delta(_UPDATED, obj)

    def delete(self, obj: Any) -> None:
        """Queue a ``DELETED`` delta for ``obj`` (which may be a tombstone).

        Ignored when ``obj``'s key has nothing queued and is not in ``known_objects`` (or there
        are no known objects): the deletion was already reported, presumably by a relist. A
        ``known_objects.get_by_key`` failure is logged and the deletion queued.
        """
        woken: list[Parked] = []
        with self._lock:
            key = fifo_key_of(self._key_func, obj)
            if key not in self._items:
                if self._known is None:
                    self._populated = True
                    return
                found = lookup_known(self._known, key, "delete")
                if found is not None and not found[1]:  # a failed lookup counts as known
                    self._populated = True
                    return
            obj = self._transform(obj)
            self._populated = True
            self._queue_locked(key, _DELETED, obj)
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    def replace(self, items: Iterable[Any], resource_version: str = "") -> None:
        """Queue a relist: a ``REPLACED`` (or ``SYNC``) delta per item, then a tombstone
        deletion for every queued or known key not among ``items`` (see the module docstring).

        The first ``replace`` before any other write sets the initial population count to the
        number of distinct keys in ``items`` plus the tombstones queued. ``resource_version`` is
        ignored, as in client-go. All or nothing: keys and transforms are computed first.
        """
        action = _REPLACED if self._emit_replaced else _SYNC
        woken: list[Parked] = []
        with self._lock:
            # Plan: everything that can fail happens before the first change.
            new: list[tuple[str, Any]] = []
            keys: set[str] = set()
            for obj in items:
                key = fifo_key_of(self._key_func, obj)
                new.append((key, self._transform(obj)))
                keys.add(key)
            tombstones: list[tuple[str, DeletedFinalStateUnknown]] = []
            for key, deltas in self._items.items():
                if key in keys:
                    continue
                last = deltas[-1].object
                if isinstance(last, DeletedFinalStateUnknown):
                    last = last.obj
                tombstones.append((key, DeletedFinalStateUnknown(key, last)))
            if self._known is not None:
                for key in self._known.list_keys():
                    if key in keys or key in self._items:
                        continue
                    found = lookup_known(self._known, key, "replace")
                    known = found[0] if found is not None and found[1] else None
                    tombstones.append((key, DeletedFinalStateUnknown(key, known)))
            # Apply.
            for key, obj in new:
                self._queue_locked(key, action, obj)
            for key, tomb in tombstones:
                self._queue_locked(key, _DELETED, tomb)
            if not self._populated:
                self._populated = True
                self._initial_population_count = len(keys) + len(tombstones)
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    def resync(self) -> None:
        """Queue a ``SYNC`` delta for every known object whose key has nothing queued.

        Does nothing without ``known_objects``. A known key that vanished or whose lookup fails
        is skipped (the failure is logged). Resync objects are not transformed again.
        """
        if self._known is None:
            return
        woken: list[Parked] = []
        with self._lock:
            plan: dict[str, Any] = {}
            for known_key in self._known.list_keys():
                found = lookup_known(self._known, known_key, "resync")
                if found is None or not found[1]:
                    continue
                obj = found[0]
                key = fifo_key_of(self._key_func, obj)
                if key in self._items or key in plan:
                    continue
                plan[key] = obj
            for key, obj in plan.items():
                self._queue_locked(key, _SYNC, obj)
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    # ---------------------------------------------------------------------------- inspection

    def list(self) -> builtins.list[Any]:
        """The newest queued object of every queued key, in queue order (may be tombstones)."""
        with self._lock:
            return [deltas[-1].object for deltas in self._items.values()]

    def list_keys(self) -> builtins.list[str]:
        """Every queued key, in queue order."""
        with self._lock:
            return list(self._items)

    def get(self, obj: Any) -> tuple[Deltas | None, bool]:
        """``(copy of the deltas queued for obj's key, True)``, or ``(None, False)``."""
        return self.get_by_key(self.key_of(obj))

    def get_by_key(self, key: str) -> tuple[Deltas | None, bool]:
        """``(copy of the deltas queued for key, True)``, or ``(None, False)``."""
        with self._lock:
            deltas = self._items.get(key)
            return (None, False) if deltas is None else (Deltas(deltas), True)

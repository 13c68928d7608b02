"""RealFIFO: every change, in order, one delta per pop (client-go's ``the_real_fifo.go``).

Unlike :class:`~goprims.cache.delta_fifo.DeltaFIFO`, RealFIFO never merges per key: it is a flat
log of deltas and ``pop`` returns a ``Deltas`` holding exactly one of them, so a consumer sees
every intermediate state, in the order it arrived (the informer default since client-go v0.33).

What each operation queues:

* ``add``/``update``/``delete``: one ``ADDED``/``UPDATED``/``DELETED`` delta (``delete`` has no
  existence check).
* ``replace(items)``: first, for every key with queued deltas that is absent from ``items`` and
  whose last queued delta is not already a ``DELETED``, a ``DELETED`` tombstone
  (:class:`~goprims.cache.keys.DeletedFinalStateUnknown`) carrying that last object; then a
  tombstone for every known key absent from ``items`` with nothing queued (its object from
  ``known_objects``, or ``None``); then one ``REPLACED`` delta per item. The first ``replace``
  before any other write sets the initial population count to the whole queue length.
* ``resync()``: a ``SYNC`` delta for every known key with nothing queued.

``known_objects`` is required by client-go; here ``None`` is allowed and means "no known objects"
(``resync`` then does nothing and ``replace`` only detects queued deletions). The transformer and
the blocking pop behave as in DeltaFIFO (see :mod:`goprims.cache.queue`).
"""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Iterable
from typing import Any

from goprims._waiter import Parked, wake_all
from goprims.cache.deltas import Delta, Deltas, DeltaType
from goprims.cache.keys import DeletedFinalStateUnknown, KeyFunc, meta_namespace_key_func
from goprims.cache.queue import Queue, TransformFunc, fifo_key_of, lookup_known
from goprims.cache.store import KeyListerGetter

__all__ = ["RealFIFO"]


_DELETED = DeltaType.DELETED


class RealFIFO(Queue):
    """An in-order queue of single deltas (see the module docstring).

    ``RealFIFO(key_func=meta_namespace_key_func, known_objects=None, transformer=None)``.
    Every operation is all or nothing: a key function or transformer failure raises before
    anything is queued. Thread-safe; see :mod:`goprims.cache.queue` for ``pop``.
    """

    def __init__(
        self,
        key_func: KeyFunc = meta_namespace_key_func,
        known_objects: KeyListerGetter | None = None,
        transformer: TransformFunc | None = None,
    ) -> None:
        super().__init__(key_func, known_objects, transformer)
        # Guarded by self._lock: (key, delta) in arrival order; the key is the delta's key.
        self._entries: deque[tuple[str, Delta]] = deque()

    # ------------------------------------------------------------------------------ internals

    def _len_locked(self) -> int:
        return len(self._entries)

    def _take_locked(self) -> Deltas:
        return Deltas((self._entries.popleft()[1],))

    def _append(self, dtype: DeltaType, obj: Any) -> None:
        woken: list[Parked] = []
        with self._lock:
            key = fifo_key_of(self._key_func, obj)
            obj = self._transform(obj)
            self._populated = True
            self._entries.append((key, Delta(dtype, obj)))
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    def _last_per_key_locked(self) -> dict[str, Delta]:
        """The last queued delta of each queued key, keys in order of first appearance."""
        last: dict[str, Delta] = {}
        for key, delta in self._entries:
            last[key] = delta  # re-assigning a key keeps its first position
        return last

    # ------------------------------------------------------------------------------ the Store

    def add(self, obj: Any) -> None:
        """Queue an ``ADDED`` delta for ``obj``."""
        self._append(DeltaType.ADDED, obj)

    def update(self, obj: Any) -> None:
        """Queue an ``UPDATED`` delta for ``obj``."""
        self._append(DeltaType.UPDATED, obj)

    def delete(self, obj: Any) -> None:
        """Queue a ``DELETED`` delta for ``obj`` (which may be a tombstone), unconditionally."""
        self._append(_DELETED, obj)

    def replace(self, items: Iterable[Any], resource_version: str = "") -> None:
        """Queue a relist: tombstones for what disappeared, then a ``REPLACED`` delta per item
        (see the module docstring). ``resource_version`` is ignored. All or nothing."""
        woken: list[Parked] = []
        with self._lock:
            new: list[tuple[str, Delta]] = []
            new_keys: set[str] = set()
            for obj in items:
                key = fifo_key_of(self._key_func, obj)
                new.append((key, Delta(DeltaType.REPLACED, self._transform(obj))))
                new_keys.add(key)
            last = self._last_per_key_locked()
            tombstones: list[tuple[str, Delta]] = []
            for key, delta in last.items():
                if key in new_keys or delta.type is _DELETED:
                    continue
                tomb = DeletedFinalStateUnknown(key, delta.object)
                tombstones.append((key, Delta(_DELETED, tomb)))
            if self._known is not None:
                for key in self._known.list_keys():
                    if key in new_keys or key in last:
                        continue
                    found = lookup_known(self._known, key, "replace")
                    known = found[0] if found is not None and found[1] else None
                    tomb = DeletedFinalStateUnknown(key, known)
                    tombstones.append((key, Delta(_DELETED, tomb)))
            self._entries.extend(tombstones)
            self._entries.extend(new)
            if not self._populated:
                self._populated = True
                self._initial_population_count = len(self._entries)
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    def resync(self) -> None:
        """Queue a ``SYNC`` delta for every known key with nothing queued (not transformed).

        Does nothing without ``known_objects``. A known key that vanished or whose lookup fails
        is skipped (the failure is logged).
        """
        if self._known is None:
            return
        woken: list[Parked] = []
        with self._lock:
            queued = {key for key, _ in self._entries}
            plan: list[tuple[str, Delta]] = []
            for key in self._known.list_keys():
                if key in queued:
                    continue
                found = lookup_known(self._known, key, "resync")
                if found is not None and found[1]:
                    plan.append((key, Delta(DeltaType.SYNC, found[0])))
            self._entries.extend(plan)
            if self._waiters:
                woken = self._fire_locked()
        wake_all(woken)

    # ---------------------------------------------------------------------------- inspection

    def list(self) -> builtins.list[Any]:
        """The newest queued object of every queued key, keys in order of first appearance."""
        with self._lock:
            return [delta.object for delta in self._last_per_key_locked().values()]

    def list_keys(self) -> builtins.list[str]:
        """Every queued key once, in order of first appearance."""
        with self._lock:
            return list(dict.fromkeys(key for key, _ in self._entries))

    def get(self, obj: Any) -> tuple[Deltas | None, bool]:
        """``(every delta queued for obj's key, True)``, or ``(None, False)``."""
        return self.get_by_key(self.key_of(obj))

    def get_by_key(self, key: str) -> tuple[Deltas | None, bool]:
        """``(every delta queued for key, oldest first, True)``, or ``(None, False)``."""
        with self._lock:
            deltas = Deltas(delta for k, delta in self._entries if k == key)
            return (deltas, True) if deltas else (None, False)

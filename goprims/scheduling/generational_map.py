"""A map whose snapshot is brought up to date in O(changed): kube-scheduler's cache snapshot.

kube-scheduler's cache (``pkg/scheduler/backend/cache/cache.go``) hands every scheduling cycle a
consistent view of the cluster without copying the cluster: each mutation stamps the entry it
touched with a new number from one **global generation counter** and moves the entry to the head
of a most-recently-changed list; ``UpdateSnapshot`` walks that list from the head, stops at the
first entry the snapshot already has, and clones only the entries in front of it. Entries that
did not change keep their identity in the snapshot, so anything holding them stays valid.

:class:`GenerationalMap` is that design for any keys and values. The most-recently-changed list
is an :class:`~collections.OrderedDict` (its end is the head). A deleted key leaves a tombstone
there so snapshots learn about the deletion in the same walk; when tombstones pile up they are
dropped, and a snapshot older than the dropped ones is pruned by one scan of its keys instead
(upstream's ``removeDeletedNodesFromSnapshot``), so a deletion is never missed.
"""

from __future__ import annotations

import builtins
import copy
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["GenerationalMap", "Snapshot"]

K = TypeVar("K")
V = TypeVar("V")

# One counter for every map, as upstream's global ``generation``: a key deleted and set again
# gets a number no snapshot has seen (kubernetes issue #63262), whichever map it lives in.
# ``next()`` on an itertools.count is atomic in CPython.
_generations = itertools.count(1)

_TOMBSTONE: Any = object()
# Tombstones are dropped once there are more than this many and more than live entries.
_MAX_TOMBSTONES = 1024


class _Entry:
    """A value and the generation of its last change. ``value is _TOMBSTONE``: deleted."""

    __slots__ = ("generation", "value")

    def __init__(self, value: Any, generation: int) -> None:
        self.value = value
        self.generation = generation


class Snapshot(Mapping[K, V]):
    """A read-only view filled by :meth:`GenerationalMap.update_snapshot`.

    It is a :class:`~collections.abc.Mapping` of cloned values. ``generation`` is the map's
    generation it reflects (0 for a new, empty snapshot). A snapshot belongs to whoever updates
    it: reading it while another thread runs ``update_snapshot`` on it is not safe, exactly as
    upstream's scheduling cycle owns its snapshot. A snapshot updated from a different map than
    last time is rebuilt from scratch.
    """

    __slots__ = ("_data", "_generation", "_source")

    def __init__(self) -> None:
        self._data: dict[K, V] = {}
        self._generation = 0
        self._source: object = None  # the map that filled it (a rebuild if another one does)

    @property
    def generation(self) -> int:
        """The generation of the newest change this snapshot holds (0: never updated)."""
        return self._generation

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"Snapshot(generation={self._generation}, {self._data!r})"


class GenerationalMap(Generic[K, V]):
    """A thread-safe map that brings a :class:`Snapshot` up to date in O(changed entries).

    Every mutation (:meth:`set`, :meth:`mutate`, :meth:`delete`) takes a new generation from a
    counter shared by all maps and moves the entry to the head of the most-recently-changed
    order. :meth:`update_snapshot` copies, with ``clone`` (default :func:`copy.deepcopy`), only
    the entries changed since the snapshot's generation and removes the deleted keys; the other
    entries keep their identity in the snapshot.

    Values are stored as given (not cloned) and :meth:`get` returns the stored object: mutate a
    value only through :meth:`mutate` (or :meth:`set` a new one), or its change is not seen by
    snapshots. ``clone`` runs under the map's lock and must not call back into the map.
    """

    __slots__ = ("_clone", "_dropped_upto", "_entries", "_generation", "_live", "_lock")

    def __init__(self, clone: Callable[[V], V] = copy.deepcopy) -> None:
        self._clone = clone
        # Guards every field below.
        self._lock = threading.Lock()
        # key -> entry, least recently changed first: the end is the head of upstream's list.
        # Invariant: generations strictly increase from the front to the end.
        self._entries: OrderedDict[K, _Entry] = OrderedDict()
        # Entries that are not tombstones.
        self._live = 0
        # Generation of the newest change (0: none yet).
        self._generation = 0
        # Tombstones with a generation <= this were dropped: a snapshot older than this must
        # be pruned by a scan of its keys.
        self._dropped_upto = 0

    @property
    def generation(self) -> int:
        """The generation of the newest change (0 before the first one)."""
        return self._generation

    def _stamp(self, key: K, value: Any) -> None:
        """Record ``value`` (or a tombstone) as the newest change of ``key``. Lock held."""
        gen = next(_generations)
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(value, gen)
        else:
            entry.value = value
            entry.generation = gen
            self._entries.move_to_end(key)
        self._generation = gen

    def set(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` (new or replaced)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.value is _TOMBSTONE:
                self._live += 1
            self._stamp(key, value)

    def mutate(self, key: K, fn: Callable[[V], V]) -> V:
        """Replace the value of ``key`` by ``fn(value)`` and return it; :class:`KeyError` if absent.

        ``fn`` runs under the map's lock (keep it short; it must not call the map). It may
        return the value it was given after changing it in place.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.value is _TOMBSTONE:
                raise KeyError(key)
            new = fn(entry.value)
            self._stamp(key, new)
            return new

    def delete(self, key: K) -> bool:
        """Remove ``key``; True if it was present."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.value is _TOMBSTONE:
                return False
            self._live -= 1
            self._stamp(key, _TOMBSTONE)
            if len(self._entries) - self._live > max(_MAX_TOMBSTONES, self._live):
                self._drop_tombstones()
            return True

    def _drop_tombstones(self) -> None:
        """Forget every tombstone; older snapshots then prune by a scan. Lock held."""
        for key in [k for k, e in self._entries.items() if e.value is _TOMBSTONE]:
            del self._entries[key]
        self._dropped_upto = self._generation

    def get(self, key: K) -> V | None:
        """The stored value of ``key`` (not a copy), or None if absent."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value = entry.value
        return None if value is _TOMBSTONE else value

    def __contains__(self, key: object) -> bool:
        entry = self._entries.get(key)  # type: ignore[arg-type]
        return entry is not None and entry.value is not _TOMBSTONE

    def __len__(self) -> int:
        return self._live

    def keys(self) -> list[K]:
        """The present keys, least recently changed first (a list: a copy)."""
        with self._lock:
            return [k for k, e in self._entries.items() if e.value is not _TOMBSTONE]

    def __iter__(self) -> Iterator[K]:
        """Iterate over a copy of the present keys (see :meth:`keys`)."""
        return iter(self.keys())

    def update_snapshot(self, snapshot: Snapshot[K, V]) -> builtins.set[K]:
        """Bring ``snapshot`` up to date; return the keys it touched (cloned or removed).

        Walks the changes from the newest and stops at the first one the snapshot already
        has, so the cost is the number of entries changed since the snapshot's generation:
        each changed entry is cloned once, each deleted key removed, and every other entry of
        the snapshot keeps its identity. A snapshot last filled by another map is rebuilt.
        """
        with self._lock:
            if snapshot._source is not self:
                snapshot._data.clear()
                snapshot._generation = 0
                snapshot._source = self
            since = snapshot._generation
            data = snapshot._data
            touched: builtins.set[K] = builtins.set()
            clone = self._clone
            for key in reversed(self._entries):
                entry = self._entries[key]
                if entry.generation <= since:
                    break
                touched.add(key)
                if entry.value is _TOMBSTONE:
                    data.pop(key, None)
                else:
                    data[key] = clone(entry.value)
            if since < self._dropped_upto and len(data) > self._live:
                # Some deletions this snapshot never saw were forgotten: find them by a scan.
                for key in [k for k in data if k not in self]:
                    del data[key]
                    touched.add(key)
            snapshot._generation = self._generation
            return touched

    def __repr__(self) -> str:
        return f"GenerationalMap(generation={self._generation}, len={self._live})"

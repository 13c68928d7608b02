"""Concurrent maps: a copy-on-write port of Go's ``sync.Map`` (:class:`Map`, in
:mod:`goprims.maps.sync_map`) and an unboundedly nested map (:class:`NestedMap` and its errors,
in :mod:`goprims.maps.nested_map`), both re-exported here.

:class:`Map` follows Go's ``sync.Map`` (the Go 1.9-1.23 design) and adds the origin's
Update as :meth:`Map.compute` (a per-key read-modify-write), ``clear`` and ``copy_from``, plus
the :class:`~collections.abc.MutableMapping` face Python code expects (``update`` included, with
its standard meaning).

How :class:`Map` is built, and why it suits CPython:

* A **read snapshot**, a ``dict`` mapping each key to an entry cell, is published as one
  attribute and never mutated once published. A lookup reads the snapshot and the cell without
  taking a lock: under the GIL a ``dict`` lookup and an attribute read are atomic, and with a
  snapshot that nobody mutates the same holds on free-threaded builds.
* Every **write takes one lock**. Writes to keys already in the snapshot change the entry cell in
  place (readers see the change at once). New keys go to a **dirty** ``dict`` that holds every
  live key; after enough lookups had to fall back to it (``misses >= len(dirty)``) it is
  **promoted** to be the new snapshot.
* Deletes of snapshot keys are lazy: the cell becomes a tombstone. When a dirty map is rebuilt
  from the snapshot, tombstoned cells are marked **expunged** and left out of it; storing to such
  a key again puts the cell back into the dirty map first.
* Iteration (:meth:`Map.range`, ``iter(m)``) promotes a pending dirty map and then walks the
  snapshot, which nobody mutates: it never raises "dictionary changed size during iteration",
  never visits a key twice, and never blocks writers.

:class:`NestedMap` is a tree of :class:`Map` branches addressed by key paths. Its writes are
serialised by one lock (that is what makes pruning of empty branches safe against a concurrent
store into the branch being pruned); its reads and walks take no lock of their own.
"""

from __future__ import annotations

from goprims.maps.nested_map import NestedMap, NotBranch, NotExist, NotLeaf
from goprims.maps.nested_map import (
    _rebuild_nested as _rebuild_nested,  # pickles made before the split
)
from goprims.maps.sync_map import Map

__all__ = ["Map", "NestedMap", "NotBranch", "NotExist", "NotLeaf"]

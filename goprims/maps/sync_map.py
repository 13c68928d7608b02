"""``Map``: a copy-on-write port of Go's ``sync.Map``.

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
"""

from __future__ import annotations

import threading
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, TypeVar, cast, overload

__all__ = ["Map"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


# Entry states (the value held in _Entry.p):
# - a live value: the key maps to it;
# - _NIL: deleted, and either dirty is None or dirty[key] is this entry;
# - _EXPUNGED: deleted, dirty is not None, and the key is NOT in dirty.
_NIL: Any = _Sentinel("<deleted>")
_EXPUNGED: Any = _Sentinel("<expunged>")
_MISSING: Any = _Sentinel("<missing>")


class _Entry:
    """The cell one key maps to, shared by the read snapshot and the dirty map.

    ``p`` is read without the lock (an atomic attribute read) and written only under the lock.
    """

    __slots__ = ("p",)

    def __init__(self, p: Any) -> None:
        self.p = p


class Map(MutableMapping[K, V]):
    """A concurrent map with lock-free reads: Go's ``sync.Map``, copy-on-write.

    ``Map()`` is empty; ``Map(initial)`` starts with the pairs of a mapping or of an iterable of
    ``(key, value)`` pairs, like ``dict(initial)``. Keys must be hashable. ``None`` is a valid
    value; methods that report absence return ``(None, False)`` and the flag tells the two apart.

    Reads (:meth:`load`, ``m[k]``, ``k in m``, :meth:`get`, the fast path of
    :meth:`load_or_store` on a present key) take no lock when the key is in the read snapshot.
    Every write takes the map's lock for a few dictionary operations; user code never runs under
    that lock, except the keys' own ``__hash__``/``__eq__`` (which must not use the map).

    Every operation is atomic (linearizable), except ``update(other)``, the standard
    :class:`~collections.abc.MutableMapping` merge, which stores ``other``'s pairs one at a time
    (use :meth:`copy_from` for an atomic replace). :meth:`range` and iteration are weakly consistent
    (see :meth:`range`); :meth:`snapshot`, ``keys()``, ``values()``, ``items()`` and ``repr``
    are consistent point-in-time copies. ``len(m)`` is exact and O(1).

    A ``Map`` beats a ``dict`` guarded by a lock when many threads mostly read a stable set of
    keys; on a single thread or under write-heavy or insert-heavy load a locked ``dict`` is as
    fast or faster (each new key may copy the snapshot, O(n)). See ``docs/maps.md``.

    A ``Map`` can be pickled and copied (``copy.copy`` gives an independent map with the same
    pairs); equality with any mapping compares contents, like ``dict``.
    """

    __slots__ = ("_dirty", "_len", "_lock", "_misses", "_read")

    def __init__(self, initial: Mapping[K, V] | Iterable[tuple[K, V]] = (), /) -> None:
        # Guards every write and every field below except the lock-free reads of _read and of
        # entries' p. Never held while user code runs (keys' __hash__/__eq__ excepted). Hot
        # paths use acquire()/try/finally: measurably cheaper than ``with`` on CPython 3.11.
        self._lock = threading.Lock()
        # (m, amended). m: key -> entry; never mutated once published, replaced wholesale under
        # _lock. amended <=> dirty is not None (dirty may hold keys that m lacks).
        self._read: tuple[dict[K, _Entry], bool] = ({}, False)
        # None, or key -> entry holding every non-expunged key of read.m (same entry objects)
        # plus the keys added since; an entry present only here is live.
        self._dirty: dict[K, _Entry] | None = None
        # Locked lookups that had to consult dirty since the last promotion; dirty is promoted
        # to read once misses >= len(dirty).
        self._misses = 0
        # Number of live entries; exact, changed only under _lock.
        self._len = 0
        if initial:
            self.copy_from(initial)

    # ---- internals (names ending in _locked require _lock held) ----

    def _miss_locked(self) -> None:
        self._misses += 1
        dirty = self._dirty
        assert dirty is not None
        if self._misses < len(dirty):
            return
        self._read = (dirty, False)
        self._dirty = None
        self._misses = 0

    def _dirty_locked(self) -> dict[K, _Entry]:
        """Build dirty from read (O(n)), expunging tombstones, and mark read amended."""
        m = self._read[0]
        dirty: dict[K, _Entry] = {}
        for k, e in m.items():
            if e.p is _NIL:
                e.p = _EXPUNGED  # deleted and, from now on, absent from dirty
            elif e.p is not _EXPUNGED:
                dirty[k] = e
        self._dirty = dirty
        self._read = (m, True)
        return dirty

    def _locate_locked(self, key: K) -> _Entry | None:
        """The entry currently holding ``key`` (live or not), without counting a miss."""
        m, amended = self._read
        e = m.get(key)
        if e is None and amended:
            assert self._dirty is not None
            e = self._dirty.get(key)
        return e

    def _swap_locked(self, key: K, value: V) -> tuple[V | None, bool]:
        m, amended = self._read
        e = m.get(key)
        if e is not None:
            p = e.p
            if p is _EXPUNGED:
                # In read but not in dirty: put the cell back into dirty before reviving it.
                assert self._dirty is not None
                self._dirty[key] = e
            e.p = value
            if p is _NIL or p is _EXPUNGED:
                self._len += 1
                return None, False
            return cast(V, p), True
        if amended:
            assert self._dirty is not None
            dirty = self._dirty
            e = dirty.get(key)
            if e is not None:
                p = e.p
                e.p = value
                if p is _NIL:
                    self._len += 1
                    return None, False
                return cast(V, p), True
        else:
            dirty = self._dirty_locked()
        dirty[key] = _Entry(value)
        self._len += 1
        return None, False

    def _delete_locked(self, key: K) -> tuple[V | None, bool]:
        m, amended = self._read
        e = m.get(key)
        if e is None and amended:
            assert self._dirty is not None
            e = self._dirty.pop(key, None)
            self._miss_locked()
        if e is None:
            return None, False
        p = e.p
        if p is _NIL or p is _EXPUNGED:
            return None, False
        e.p = _NIL
        self._len -= 1
        return cast(V, p), True

    def _load_entry(self, key: K) -> _Entry | None:
        """The entry for ``key``: lock-free from read, else from dirty under the lock (a miss)."""
        m, amended = self._read
        e = m.get(key)
        if e is None and amended:
            self._lock.acquire()
            try:
                m, amended = self._read
                e = m.get(key)
                if e is None and amended:
                    assert self._dirty is not None
                    e = self._dirty.get(key)
                    self._miss_locked()
            finally:
                self._lock.release()
        return e

    def _promoted(self) -> dict[K, _Entry]:
        """The read snapshot after promoting any pending dirty map (Go's Range does the same)."""
        m, amended = self._read
        if amended:
            with self._lock:
                m, amended = self._read
                if amended:
                    assert self._dirty is not None
                    m = self._dirty
                    self._read = (m, False)
                    self._dirty = None
                    self._misses = 0
        return m

    # ---- the Go method set ----

    def load(self, key: K) -> tuple[V | None, bool]:
        """Return ``(value, True)`` if ``key`` is present, else ``(None, False)``.

        Lock-free when ``key`` is in the read snapshot. A lookup that has to consult the dirty
        map takes the lock and counts a miss towards promoting it.
        """
        m, amended = self._read
        e = m.get(key)
        if e is None:
            if not amended:
                return None, False
            e = self._load_entry(key)
            if e is None:
                return None, False
        p = e.p
        if p is _NIL or p is _EXPUNGED:
            return None, False
        return p, True

    def store(self, key: K, value: V) -> None:
        """Set the value for ``key``.

        O(1) for a key in the read snapshot. The first store of a key missing from the snapshot
        after each promotion copies the snapshot into a new dirty map (O(n), as in Go); further
        new keys go to that dirty map in O(1) until it is promoted, which happens once
        ``len(dirty)`` lookups have missed the snapshot (or at the next :meth:`range`).
        """
        self._lock.acquire()
        try:
            e = self._read[0].get(key)
            if e is not None:
                p = e.p
                if p is not _NIL and p is not _EXPUNGED:
                    e.p = value  # live -> live: no bookkeeping to do
                    return
            self._swap_locked(key, value)
        finally:
            self._lock.release()

    def swap(self, key: K, value: V) -> tuple[V | None, bool]:
        """Store ``value`` and return ``(previous, True)``, or ``(None, False)`` if absent."""
        self._lock.acquire()
        try:
            return self._swap_locked(key, value)
        finally:
            self._lock.release()

    def load_or_store(self, key: K, value: V) -> tuple[V, bool]:
        """Return ``(existing, True)`` if ``key`` is present, else store ``value``.

        When the key is absent, ``value`` is stored and ``(value, False)`` is returned. Exactly
        one of several racing callers for an absent key stores; all others get its value with
        ``loaded=True``. Lock-free when the key is present in the read snapshot. The value is
        always built by the caller, even when it is not stored (Go's contract); use
        :meth:`compute` to compute a value only when it is needed.
        """
        m, _ = self._read
        e = m.get(key)
        if e is not None:
            p = e.p
            if p is not _NIL and p is not _EXPUNGED:
                return p, True
        self._lock.acquire()
        try:
            m, amended = self._read
            e = m.get(key)
            if e is not None:
                p = e.p
                if p is not _NIL and p is not _EXPUNGED:
                    return p, True
                if p is _EXPUNGED:
                    assert self._dirty is not None
                    self._dirty[key] = e
                e.p = value
                self._len += 1
                return value, False
            if amended:
                assert self._dirty is not None
                e = self._dirty.get(key)
                if e is not None:
                    self._miss_locked()
                    return e.p, True  # an entry only in dirty is live
                dirty = self._dirty
            else:
                dirty = self._dirty_locked()
            dirty[key] = _Entry(value)
            self._len += 1
            return value, False
        finally:
            self._lock.release()

    def load_and_delete(self, key: K) -> tuple[V | None, bool]:
        """Delete ``key``, returning ``(previous, True)``, or ``(None, False)`` if it was absent.

        An absent key that is not pending in the dirty map is reported without taking the lock.
        """
        m, amended = self._read
        e = m.get(key)
        if e is None and not amended:
            return None, False
        if e is not None:
            p = e.p
            if p is _NIL or p is _EXPUNGED:
                return None, False
        self._lock.acquire()
        try:
            return self._delete_locked(key)
        finally:
            self._lock.release()

    def delete(self, key: K) -> None:
        """Delete ``key``; deleting an absent key is a no-op (Go's ``delete``)."""
        self.load_and_delete(key)

    def compare_and_swap(self, key: K, old: V, new: V) -> bool:
        """Store ``new`` if ``key`` currently maps to a value equal to ``old``; return whether.

        Equality is ``current is old or current == old`` and is evaluated outside the map's
        lock; the swap then happens only if the current value is still that same object
        (otherwise the comparison is redone on the new value). An absent key gives False,
        whatever ``old`` is. If ``==`` raises, the exception propagates and nothing changes.
        """

        def swap(cur: Any) -> None:
            cur.p = new

        return self._compare_and_apply(key, old, swap)

    def compare_and_delete(self, key: K, old: V) -> bool:
        """Delete ``key`` if it currently maps to a value equal to ``old``; return whether.

        Equality as in :meth:`compare_and_swap`. An absent key gives False, even when ``old``
        is None (Go: "even if the old value is the nil interface value").
        """
        return self._compare_and_apply(key, old, lambda _: self._delete_locked(key))

    def _compare_and_apply(self, key: K, old: V, apply: Callable[[Any], object]) -> bool:
        """The compare-and-X loop: compare outside the lock, then ``apply(entry)`` under it
        only if the entry still holds the very value that compared equal (else compare again)."""
        while True:
            e = self._load_entry(key)
            if e is None:
                return False
            p = e.p
            if p is _NIL or p is _EXPUNGED:
                return False
            if not (p is old or p == old):
                return False
            self._lock.acquire()
            try:
                cur = self._locate_locked(key)
                if cur is not None and cur.p is p:
                    apply(cur)
                    return True
            finally:
                self._lock.release()

    def range(self, f: Callable[[K, V], bool | None]) -> None:
        """Call ``f(key, value)`` for each present pair until ``f`` returns a false value.

        ``f`` stops the walk by returning False (any false value except None: a callback with
        no ``return`` visits everything). Go's contract holds: no key is visited twice, even
        while other threads store and delete; each value seen is the key's value at some moment
        during the call, and no consistent snapshot is implied (use :meth:`snapshot` for that).
        A key present for the whole walk is visited; a key stored after the walk started may or
        may not be; a key deleted before the walk reaches it is skipped, but :meth:`clear` and
        :meth:`copy_from` leave a walk already under way on the contents it started with. The
        walk takes no lock while ``f`` runs, so ``f`` may call any method of the map. A pending
        dirty map is promoted first (O(n)), so the walk may cost O(n) even if ``f`` stops at once.

        Raises TypeError if ``f`` is not callable.
        """
        if not callable(f):
            raise TypeError(f"Map.range needs a callable f(key, value), got {type(f).__name__}")
        for k, e in self._promoted().items():
            p = e.p
            if p is _NIL or p is _EXPUNGED:
                continue
            r = f(k, p)
            if r is not None and not r:
                return

    def clear(self) -> None:
        """Delete every key (Go 1.23 ``Clear``). Walks already under way keep their snapshot."""
        with self._lock:
            self._read = ({}, False)
            self._dirty = None
            self._misses = 0
            self._len = 0

    # ---- the origin's extensions ----

    def compute(self, key: K, fn: Callable[[V | None, bool], tuple[V | None, int]]) -> bool:
        """Atomically read-modify-write one key; return True if a change was applied.

        ``fn(old, loaded)`` gets the current value and whether the key is present (``(None,
        False)`` when absent) and returns ``(new, op)``: ``op`` is ``1`` to store ``new``, ``0``
        to abort (compute returns False) or ``-1`` to delete the key (``new`` is then ignored).
        Deleting an absent key is a no-op returning False.

        ``fn`` runs outside the map's lock and **may be called more than once**: if another
        writer changed the key between the read and the write, the result is discarded and
        ``fn`` is called again with the new current value (an optimistic loop, like the
        origin's and Kubernetes' ``GuaranteedUpdate``). So ``fn`` must be free of side effects;
        it may read the map. The write happens only if the key still holds the very object
        ``fn`` saw (or is still absent).

        Raises ValueError if ``op`` is not 1, 0 or -1; an exception raised by ``fn`` propagates
        and nothing is changed.

        This is the origin's ``Map.Update``, named ``compute`` (as Java's ``Map.compute``) so that
        ``update`` keeps the standard mapping meaning: ``m.update(other)`` stores each pair of
        ``other`` (and of keyword arguments) in turn, each store atomic but not the whole merge;
        :meth:`copy_from` replaces the contents atomically.
        """
        while True:
            m, amended = self._read
            e = m.get(key)
            if e is None and amended:
                e = self._load_entry(key)
            old: Any = e.p if e is not None else _NIL
            loaded = old is not _NIL and old is not _EXPUNGED
            new, op = fn(old if loaded else None, loaded)
            if op == 1:
                self._lock.acquire()
                try:
                    if loaded:
                        # Apply only if e still holds ``old`` and is still the key's entry (a
                        # clear() or copy_from() may have replaced the snapshot meanwhile).
                        assert e is not None
                        if e.p is not old or (
                            self._read[0].get(key) is not e and self._locate_locked(key) is not e
                        ):
                            continue
                        e.p = new  # live -> live: no bookkeeping to do
                        return True
                    cur = self._locate_locked(key)
                    if cur is not None and cur.p is not _NIL and cur.p is not _EXPUNGED:
                        continue  # the key appeared meanwhile
                    self._swap_locked(key, cast(V, new))
                    return True
                finally:
                    self._lock.release()
            if op == 0:
                return False
            if op != -1:
                raise ValueError(
                    f"Map.compute: op must be 1 (store), 0 (abort) or -1 (delete), got {op!r}"
                )
            if not loaded:
                return False
            self._lock.acquire()
            try:
                assert e is not None
                if e.p is not old or self._locate_locked(key) is not e:
                    continue
                self._delete_locked(key)
                return True
            finally:
                self._lock.release()

    def copy_from(self, source: Mapping[K, V] | Iterable[tuple[K, V]]) -> None:
        """Replace the whole contents with ``source`` (replace-all, not merge).

        ``source`` is a mapping (another :class:`Map` is read through :meth:`snapshot`) or an
        iterable of ``(key, value)`` pairs. It is read before the map's lock is taken, so
        ``m.copy_from(m)`` is a no-op; other threads see either all old or all new contents.
        """
        if isinstance(source, Map):
            pairs: dict[K, V] = source.snapshot()
        else:
            pairs = dict(source)
        m = {k: _Entry(v) for k, v in pairs.items()}
        with self._lock:
            self._read = (m, False)
            self._dirty = None
            self._misses = 0
            self._len = len(m)

    def snapshot(self) -> dict[K, V]:
        """Return a consistent point-in-time copy as a new ``dict`` (O(n), blocks writers)."""
        with self._lock:
            m, amended = self._read
            out: dict[K, V] = {}
            for k, e in m.items():
                p = e.p
                if p is not _NIL and p is not _EXPUNGED:
                    out[k] = p
            if amended:
                assert self._dirty is not None
                for k, e in self._dirty.items():
                    p = e.p
                    if p is not _NIL and p is not _EXPUNGED:
                        out[k] = p
            return out

    # ---- the MutableMapping face ----

    def __getitem__(self, key: K) -> V:
        e = self._read[0].get(key)
        if e is not None:
            p = e.p
            if p is not _NIL and p is not _EXPUNGED:
                return cast(V, p)
        v, ok = self.load(key)
        if not ok:
            raise KeyError(key)
        return cast(V, v)

    def __setitem__(self, key: K, value: V) -> None:
        self.store(key, value)

    def __delitem__(self, key: K) -> None:
        _, ok = self.load_and_delete(key)
        if not ok:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self.load(cast(K, key))[1]

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[K]:
        """Iterate over the keys, weakly consistent like :meth:`range` (never twice)."""
        for k, e in self._promoted().items():
            p = e.p
            if p is not _NIL and p is not _EXPUNGED:
                yield k

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V, /) -> V: ...
    @overload
    def get(self, key: K, default: T, /) -> V | T: ...
    def get(self, key: K, default: Any = None, /) -> Any:
        """Return the value for ``key``, or ``default`` (None) if it is absent."""
        e = self._read[0].get(key)
        if e is not None:
            p = e.p
            if p is not _NIL and p is not _EXPUNGED:
                return p
        v, ok = self.load(key)
        return v if ok else default

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, default: V, /) -> V: ...
    @overload
    def pop(self, key: K, default: T, /) -> V | T: ...
    def pop(self, key: K, default: Any = _MISSING, /) -> Any:
        """Atomically remove ``key`` and return its value (:meth:`load_and_delete`).

        An absent key returns ``default``, or raises KeyError if no default was given.
        """
        v, ok = self.load_and_delete(key)
        if ok:
            return v
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[K, V]:
        """Atomically remove and return some ``(key, value)`` pair; KeyError if empty."""
        with self._lock:
            m, amended = self._read
            sources = (m, self._dirty) if amended and self._dirty is not None else (m,)
            for src in sources:
                for k, e in src.items():
                    p = e.p
                    if p is not _NIL and p is not _EXPUNGED:
                        self._delete_locked(k)
                        return k, p
        raise KeyError("popitem(): Map is empty")

    @overload
    def setdefault(self: Map[K, T | None], key: K, default: None = None, /) -> T | None: ...
    @overload
    def setdefault(self, key: K, default: V, /) -> V: ...
    def setdefault(self, key: K, default: Any = None, /) -> Any:
        """Atomically return the value for ``key``, storing ``default`` first if absent."""
        return self.load_or_store(key, default)[0]

    def keys(self) -> KeysView[K]:
        """A view of the keys of a point-in-time copy (:meth:`snapshot`)."""
        return self.snapshot().keys()

    def values(self) -> ValuesView[V]:
        """A view of the values of a point-in-time copy (:meth:`snapshot`)."""
        return self.snapshot().values()

    def items(self) -> ItemsView[K, V]:
        """A view of the pairs of a point-in-time copy (:meth:`snapshot`)."""
        return self.snapshot().items()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.snapshot()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.snapshot(),))

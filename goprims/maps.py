"""Concurrent maps: a copy-on-write port of Go's ``sync.Map`` and an unboundedly nested map.

:class:`Map` follows Go's ``sync.Map`` (the Go 1.9-1.23 design) and adds the origin's
``update`` (a per-key read-modify-write), ``clear`` and ``copy_from``, plus the
:class:`~collections.abc.MutableMapping` face Python code expects.

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

__all__ = ["Map", "NestedMap", "NotBranch", "NotExist", "NotLeaf"]

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

    Every operation is atomic (linearizable). :meth:`range` and iteration are weakly consistent
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
        :meth:`update` to compute a value only when it is needed.
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

    def update(  # type: ignore[override]
        self, key: K, fn: Callable[[V | None, bool], tuple[V | None, int]]
    ) -> bool:
        """Atomically read-modify-write one key; return True if a change was applied.

        ``fn(old, loaded)`` gets the current value and whether the key is present (``(None,
        False)`` when absent) and returns ``(new, op)``: ``op`` is ``1`` to store ``new``, ``0``
        to abort (update returns False) or ``-1`` to delete the key (``new`` is then ignored).
        Deleting an absent key is a no-op returning False.

        ``fn`` runs outside the map's lock and **may be called more than once**: if another
        writer changed the key between the read and the write, the result is discarded and
        ``fn`` is called again with the new current value (an optimistic loop, like the
        origin's and Kubernetes' ``GuaranteedUpdate``). So ``fn`` must be free of side effects;
        it may read the map. The write happens only if the key still holds the very object
        ``fn`` saw (or is still absent).

        Raises ValueError if ``op`` is not 1, 0 or -1; an exception raised by ``fn`` propagates
        and nothing is changed.

        This is ``Map.update``; it is not ``dict.update`` (use :meth:`copy_from` to replace the
        contents, or a loop of :meth:`store` to merge).
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
                    f"Map.update: op must be 1 (store), 0 (abort) or -1 (delete), got {op!r}"
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


# ---------------------------------------------------------------------------------------------
# NestedMap


class NotExist(KeyError):
    """Nothing is stored at a :class:`NestedMap` path.

    ``path`` is the path the call was given; ``at`` is its shortest prefix that is absent.
    A :class:`KeyError`, so ``except KeyError`` catches it.
    """

    def __init__(self, path: tuple[Any, ...], at: tuple[Any, ...]) -> None:
        super().__init__(path)
        self.path = path
        self.at = at

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.at))

    def __str__(self) -> str:
        if self.at == self.path:
            return f"nothing stored at {self.path!r}"
        return f"nothing stored at {self.path!r}: {self.at!r} does not exist"


class NotBranch(LookupError):
    """A :class:`NestedMap` path needs a branch where a leaf (a plain value) is stored.

    ``path`` is the path the call was given; ``at`` is the prefix of it that holds a leaf.
    """

    def __init__(self, path: tuple[Any, ...], at: tuple[Any, ...]) -> None:
        super().__init__(path, at)
        self.path = path
        self.at = at

    def __str__(self) -> str:
        return f"{self.at!r} holds a leaf, not a branch (path {self.path!r})"


class NotLeaf(LookupError):
    """A :class:`NestedMap` path names a branch where a leaf is needed.

    Raised when loading a branch as a value, and when storing a leaf over a subtree (which the
    origin silently allowed). ``path`` is the path the call was given (it is also ``at``).
    """

    def __init__(self, path: tuple[Any, ...]) -> None:
        super().__init__(path)
        self.path = path
        self.at = path

    def __str__(self) -> str:
        return f"{self.path!r} holds a branch, not a leaf"


class _Branch:
    """An inner node of a NestedMap: a Map of children plus the count of leaves below it."""

    __slots__ = ("count", "m")

    def __init__(self) -> None:
        self.m: Map[Any, Any] = Map()
        # Leaves in this subtree. Written only under the NestedMap's lock, read without it.
        # Invariant (outside a write): count > 0 for every branch except the root, i.e. empty
        # branches are pruned.
        self.count = 0


class NestedMap:
    """A concurrent map nested without bound: keys are paths, inner nodes are branches.

    ``nm.store(v, "a", "b")`` creates the branch ``"a"`` if needed and stores the leaf ``v`` at
    key ``"b"`` in it; ``nm.load("a", "b")`` returns ``v``; ``nm["a", "b"]`` does the same
    (indexing with a tuple is a path, indexing with anything else is a one-key path). Keys of any
    hashable type may be mixed; a tuple passed as one argument to a method is one key.

    Rules (the origin's bugs are not carried over):

    * every method that addresses a leaf needs at least one key: zero keys raise ValueError;
    * a missing path raises :class:`NotExist` (a KeyError); a path that runs through a leaf
      raises :class:`NotBranch`; a path that ends on a branch where a leaf is needed raises
      :class:`NotLeaf`, including storing a leaf over a subtree (it is never replaced silently);
    * deleting the last leaf of a branch prunes that branch (and any ancestor left empty), so
      "empty branch" and "no branch" are the same thing: an empty branch never exists;
    * :meth:`range` passes a fresh path tuple to each call, and False stops the whole walk.

    Concurrency: writes (:meth:`store`, :meth:`load_or_store`, :meth:`delete`, :meth:`clear`)
    are serialised by one lock per NestedMap and are atomic. Reads (:meth:`load`, :meth:`len`,
    the fast path of :meth:`load_or_store`) and walks (:meth:`range`, iteration) take no lock of
    their own; a walk is weakly consistent like :meth:`Map.range` (no leaf visited twice).
    :meth:`snapshot` is a consistent copy. ``len(nm)`` is the number of leaves, exact and O(1).
    """

    __slots__ = ("_lock", "_root")

    def __init__(self) -> None:
        # Serialises every write; makes a write's walk from the root and its pruning atomic.
        # Lock order: this lock, then a branch Map's internal lock (never the reverse).
        self._lock = threading.Lock()
        # Never replaced, never pruned; root.count is the number of leaves in the whole tree.
        self._root = _Branch()

    # ---- internals ----

    @staticmethod
    def _need_keys(op: str, keys: tuple[Any, ...]) -> None:
        if not keys:
            raise ValueError(f"NestedMap.{op} needs at least one key")

    def _branch_at(self, keys: tuple[Any, ...], path: tuple[Any, ...]) -> _Branch:
        """The branch at ``keys`` (root for no keys); NotExist/NotBranch otherwise. Lock-free."""
        b = self._root
        for i, k in enumerate(keys):
            v, ok = b.m.load(k)
            if not ok:
                raise NotExist(path, keys[: i + 1])
            if type(v) is not _Branch:
                raise NotBranch(path, keys[: i + 1])
            b = v
        return b

    def _put_locked(
        self, value: Any, keys: tuple[Any, ...], only_if_absent: bool
    ) -> tuple[Any, bool]:
        """Store (or load-or-store) a leaf. Checks the whole path before changing anything."""
        chain = [self._root]  # existing branches along keys[:-1], root first
        b = self._root
        for i in range(len(keys) - 1):
            v, ok = b.m.load(keys[i])
            if not ok:
                break
            if type(v) is not _Branch:
                raise NotBranch(keys, keys[: i + 1])
            b = v
            chain.append(b)
        depth = len(chain) - 1  # keys[:depth] exist as branches
        if depth == len(keys) - 1:
            last = keys[-1]
            old, ok = b.m.load(last)
            if ok:
                if type(old) is _Branch:
                    raise NotLeaf(keys)
                if only_if_absent:
                    return old, True
            b.m.store(last, value)
        else:
            # Build the missing part bottom-up and publish it with one store, so that readers
            # never see an empty branch.
            node = _Branch()
            node.m.store(keys[-1], value)
            node.count = 1
            for k in reversed(keys[depth + 1 : -1]):
                parent = _Branch()
                parent.m.store(k, node)
                parent.count = 1
                node = parent
            b.m.store(keys[depth], node)
            ok = False
        if not ok:
            for c in chain:
                c.count += 1
        return value, False

    def _leaves(self, b: _Branch, prefix: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
        """Depth-first ``(path, leaf)`` pairs below ``b``; iterative, so depth is unbounded."""
        stack = [(prefix, iter(b.m._promoted().items()))]
        while stack:
            pre, it = stack[-1]
            for k, e in it:
                v = e.p
                if v is _NIL or v is _EXPUNGED:
                    continue
                path = (*pre, k)
                if type(v) is _Branch:
                    stack.append((path, iter(v.m._promoted().items())))
                    break
                yield path, v
            else:
                stack.pop()

    # ---- public API ----

    def load(self, *keys: Any) -> Any:
        """Return the leaf stored at the path ``keys``.

        Raises ValueError for zero keys, :class:`NotExist` if the path is absent,
        :class:`NotBranch` if it runs through a leaf, :class:`NotLeaf` if it ends on a branch.
        Lock-free.
        """
        self._need_keys("load", keys)
        b = self._branch_at(keys[:-1], keys)
        v, ok = b.m.load(keys[-1])
        if not ok:
            raise NotExist(keys, keys)
        if type(v) is _Branch:
            raise NotLeaf(keys)
        return v

    def store(self, value: Any, *keys: Any) -> None:
        """Store the leaf ``value`` at the path ``keys``, creating missing branches.

        Replaces an existing leaf. Raises ValueError for zero keys, :class:`NotBranch` if the
        path runs through a leaf, and :class:`NotLeaf` if ``keys`` names a branch (a subtree is
        never replaced by a leaf; delete it first). On error nothing is changed.
        """
        self._need_keys("store", keys)
        with self._lock:
            self._put_locked(value, keys, only_if_absent=False)

    def load_or_store(self, value: Any, *keys: Any) -> tuple[Any, bool]:
        """Return ``(leaf, True)`` if a leaf is at ``keys``, else store ``value``.

        When nothing is stored at ``keys`` it stores ``value`` and returns ``(value, False)``.
        Exactly one of several racing callers stores. Errors as for :meth:`store`; a branch at
        ``keys`` raises :class:`NotLeaf` (the origin returned its internal map). Lock-free when
        the leaf is present.
        """
        self._need_keys("load_or_store", keys)
        try:
            return self.load(*keys), True
        except NotExist:
            pass
        with self._lock:
            return self._put_locked(value, keys, only_if_absent=True)

    def delete(self, *keys: Any) -> bool:
        """Delete the leaf, or the whole subtree, at ``keys``; return whether anything was there.

        Deleting an absent path is a no-op returning False. Branches left empty are pruned, up
        to (not including) the root. Raises ValueError for zero keys and :class:`NotBranch` if
        the path runs through a leaf. ``del nm[path]`` raises :class:`NotExist` instead of
        returning False.
        """
        self._need_keys("delete", keys)
        with self._lock:
            chain = [self._root]
            b = self._root
            for i in range(len(keys) - 1):
                v, ok = b.m.load(keys[i])
                if not ok:
                    return False
                if type(v) is not _Branch:
                    raise NotBranch(keys, keys[: i + 1])
                b = v
                chain.append(b)
            old, ok = b.m.load_and_delete(keys[-1])
            if not ok:
                return False
            removed = old.count if type(old) is _Branch else 1
            for c in chain:
                c.count -= removed
            # Prune: detach the highest non-root branch on the path that is now empty (all the
            # branches below it on the path are then empty too).
            for i in range(1, len(chain)):
                if chain[i].count == 0:
                    chain[i - 1].m.delete(keys[i - 1])
                    break
            return True

    def range(self, f: Callable[[tuple[Any, ...], Any], bool | None], *keys: Any) -> None:
        """Call ``f(path, leaf)`` for each leaf below ``keys`` (the whole tree for no keys).

        ``path`` is a new tuple holding the full path from the root, ``keys`` included. ``f``
        stops the whole walk by returning False (any false value except None). The walk is
        depth-first, takes no lock while ``f`` runs (``f`` may use the map) and is weakly
        consistent: no leaf is visited twice, concurrent changes may or may not be seen.

        Raises :class:`NotExist` if ``keys`` is absent, :class:`NotBranch` if it runs through or
        ends on a leaf, TypeError if ``f`` is not callable.
        """
        if not callable(f):
            raise TypeError(
                f"NestedMap.range needs a callable f(path, value), got {type(f).__name__}"
            )
        for path, v in self._leaves(self._branch_at(keys, keys), keys):
            r = f(path, v)
            if r is not None and not r:
                return

    def len(self, *keys: Any) -> int:
        """Return the number of leaves below ``keys`` (the whole tree for no keys). O(depth).

        Raises :class:`NotExist` if ``keys`` is absent (empty branches are pruned, so a branch
        whose last leaf was deleted is absent) and :class:`NotBranch` if it runs through or ends
        on a leaf.
        """
        return self._branch_at(keys, keys).count

    def clear(self) -> None:
        """Delete every leaf and branch."""
        with self._lock:
            self._root.m.clear()
            self._root.count = 0

    def snapshot(self, *keys: Any) -> dict[Any, Any]:
        """A consistent copy of the subtree at ``keys`` as nested ``dict`` s (branches as dicts).

        Leaves that are themselves dicts are indistinguishable from branches in the result; use
        :meth:`range` or iteration when that matters. Errors as for :meth:`range`.
        """
        with self._lock:
            b = self._branch_at(keys, keys)
            out: dict[Any, Any] = {}
            n = len(keys)
            for path, v in self._leaves(b, keys):
                d = out
                for k in path[n:-1]:
                    d = d.setdefault(k, {})
                d[path[-1]] = v
            return out

    def __len__(self) -> int:
        return self._root.count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """Iterate over the paths of all leaves, weakly consistent like :meth:`range`."""
        for path, _ in self._leaves(self._root, ()):
            yield path

    @staticmethod
    def _path(key: Any) -> tuple[Any, ...]:
        return key if type(key) is tuple else (key,)

    def __getitem__(self, key: Any) -> Any:
        return self.load(*self._path(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        self.store(value, *self._path(key))

    def __delitem__(self, key: Any) -> None:
        path = self._path(key)
        if not self.delete(*path):
            raise NotExist(path, path)

    def __contains__(self, key: object) -> bool:
        """Whether a leaf is stored at the path ``key`` (False for a branch or a bad path)."""
        path = self._path(key)
        if not path:
            return False
        try:
            self.load(*path)
        except LookupError:
            return False
        return True

    def __repr__(self) -> str:
        return f"NestedMap({self.snapshot()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        with self._lock:
            leaves = list(self._leaves(self._root, ()))
        return (_rebuild_nested, (leaves,))


def _rebuild_nested(leaves: list[tuple[tuple[Any, ...], Any]]) -> NestedMap:
    nm = NestedMap()
    for path, v in leaves:
        nm.store(v, *path)
    return nm

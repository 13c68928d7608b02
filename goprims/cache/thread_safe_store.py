"""ThreadSafeStore: the keyed, indexed map beneath every Store and Indexer (client-go's
``threadSafeMap``).

Three kinds of string meet here: the *key* under which an object is stored, the *name* of an
index, and the *values* an index function gives for an object. An index maps each value to the set
of keys whose objects gave it; an index function may give several values (or none), so one object
can sit under several values of the same index.

Differences from client-go, all deliberate:

* The values each index gave for each stored object are remembered, so an update or delete
  un-files the old object with exactly the values it was filed under, even if the caller mutated
  the stored object in place (which corrupts a Go indexer) or the index function is impure.
* An index function that raises (Go panics) or returns something that is not an iterable of
  strings leaves the store unchanged: every value is computed before anything is modified.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from goprims.cache.keys import IndexFunc

__all__ = ["IndexNotFound", "IndexerConflict", "Indexers", "ThreadSafeStore"]

Indexers = Mapping[str, IndexFunc]
"""Index name -> index function."""


class IndexNotFound(KeyError):
    """A query named an index that was never registered (``get_indexers()`` lacks it)."""

    def __init__(self, index_name: str) -> None:
        super().__init__(index_name)
        self.index_name = index_name

    def __str__(self) -> str:
        return f"index with name {self.index_name!r} does not exist"


class IndexerConflict(ValueError):
    """``add_indexers`` was given index names that already exist (``names``, sorted)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__(f"indexer conflict: {self.names}")


def _values_of(name: str, raw: Any) -> tuple[str, ...]:
    """The distinct values in ``raw``, what index ``name``'s function returned for an object.

    Raises ``TypeError`` unless ``raw`` is an iterable of strings (a bare ``str`` is refused).
    """
    # Fast path: the common single-valued index function returning ``[value]``.
    if type(raw) is list and len(raw) == 1 and type(raw[0]) is str:
        return (raw[0],)
    if isinstance(raw, (str, bytes)):
        raise TypeError(
            f"index function {name!r} returned {type(raw).__name__} {raw!r}; "
            "it must return a list of str"
        )
    try:
        vals = tuple(dict.fromkeys(raw))
    except TypeError as e:
        raise TypeError(
            f"index function {name!r} must return a list of str, got {type(raw).__name__}: {e}"
        ) from e
    for v in vals:
        if not isinstance(v, str):
            raise TypeError(f"index function {name!r} returned a non-str value {v!r}")
    return vals


class _Index:
    """One named index. Owned by a ThreadSafeStore and guarded by its lock.

    Invariants (``items`` being the owning store's items):

    * ``filed`` has exactly the keys of ``items``; ``filed[k]`` is the tuple of distinct values
      ``fn`` gave for ``items[k]`` when it was stored;
    * ``by_value[v][k] is items[k]`` <=> ``v in filed[k]`` (objects are kept next to their keys
      so that a query copies one dict instead of looking every key up);
    * no dict in ``by_value`` is empty: a value whose last key leaves is deleted (k8s #84959).
    """

    __slots__ = ("by_value", "filed", "fn")

    def __init__(self, fn: IndexFunc) -> None:
        self.fn = fn
        self.filed: dict[str, tuple[str, ...]] = {}
        self.by_value: dict[str, dict[str, Any]] = {}

    def file(self, key: str, vals: tuple[str, ...], obj: Any) -> None:
        """File ``obj`` under ``key`` and exactly ``vals``, un-filing it from its old values.

        Cannot fail.
        """
        by_value = self.by_value
        old = self.filed.get(key)
        if old == vals:  # the common update: the indexed values did not change
            for v in vals:
                by_value[v][key] = obj
            return
        self.filed[key] = vals
        if old:
            for v in old:
                if v not in vals:
                    entries = by_value[v]
                    del entries[key]
                    if not entries:
                        del by_value[v]
        for v in vals:
            present = by_value.get(v)
            if present is None:
                by_value[v] = {key: obj}
            else:
                present[key] = obj

    def unfile(self, key: str) -> None:
        """Remove ``key`` from the index. Cannot fail."""
        by_value = self.by_value
        for v in self.filed.pop(key, ()):
            entries = by_value[v]
            del entries[key]
            if not entries:
                del by_value[v]


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"a cache key is a str, not {type(key).__name__}")


class ThreadSafeStore:
    """A thread-safe map from key to object, with any number of indices kept up to date.

    ``ThreadSafeStore(indexers=None)`` starts empty with the given ``{name: index_function}``.
    Every method may be called from any thread. Objects are stored and returned as they are, not
    copied: treat what :meth:`get`, :meth:`list` and the index queries return as read-only.
    Index functions run under the store's lock, so they must not call back into the store.
    Results of :meth:`list`, :meth:`list_keys` and the index queries come in no particular order.
    """

    def __init__(self, indexers: Indexers | None = None) -> None:
        # _lock guards _items and _indexes (and every _Index inside).
        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}
        # index name -> _Index; every _Index's invariants hold whenever _lock is free.
        self._indexes: dict[str, _Index] = {}
        if indexers:
            self.add_indexers(indexers)

    # ---------------------------------------------------------------------------------- writes

    def add(self, key: str, obj: Any) -> None:
        """Store ``obj`` under ``key`` (replacing any previous object) and index it.

        Identical to :meth:`update`. If an index function raises, or returns something other
        than an iterable of strings, the exception propagates and nothing changed.
        """
        self.update(key, obj)

    def update(self, key: str, obj: Any) -> None:
        """Store ``obj`` under ``key``, replacing any previous object, and re-index it.

        If an index function raises, or returns something other than an iterable of strings, the
        exception propagates and nothing changed. Raises ``TypeError`` if ``key`` is not a str.
        """
        if type(key) is not str:
            _check_key(key)
        with self._lock:
            indexes = self._indexes
            if not indexes:
                self._items[key] = obj
                return
            # Compute every value first: a failure here leaves the store untouched.
            computed: list[tuple[_Index, tuple[str, ...]]] = []
            for name, ix in indexes.items():
                raw = ix.fn(obj)
                if type(raw) is list and len(raw) == 1 and type(raw[0]) is str:
                    computed.append((ix, (raw[0],)))  # inlined fast path of _values_of
                else:
                    computed.append((ix, _values_of(name, raw)))
            self._items[key] = obj
            for ix, vals in computed:
                ix.file(key, vals, obj)

    def delete(self, key: str) -> None:
        """Remove ``key`` and un-index its object. Deleting a missing key does nothing."""
        with self._lock:
            if key not in self._items:
                return
            del self._items[key]
            for ix in self._indexes.values():
                ix.unfile(key)

    def replace(self, items: Mapping[str, Any], resource_version: str = "") -> None:
        """Atomically replace the whole content with ``items`` (key -> object) and rebuild every
        index from it.

        ``resource_version`` is accepted for client-go compatibility and ignored (as in v0.32).
        If a key is not a string or an index function fails, the exception propagates and the
        store keeps its previous content.
        """
        new_items = dict(items)
        for key in new_items:
            if type(key) is not str:
                _check_key(key)
        with self._lock:
            new_indexes: dict[str, _Index] = {}
            for name, ix in self._indexes.items():
                fn = ix.fn
                nix = _Index(fn)
                for key, obj in new_items.items():
                    nix.file(key, _values_of(name, fn(obj)), obj)
                new_indexes[name] = nix
            self._items = new_items
            self._indexes = new_indexes

    def add_indexers(self, indexers: Indexers) -> None:
        """Register more indices and index every object already stored under them.

        Raises :class:`IndexerConflict` if a name is already registered, ``TypeError`` if a
        function is not callable; if an index function fails on a stored object its exception
        propagates. In every failure case no indexer is added.
        """
        with self._lock:
            conflict = set(indexers) & set(self._indexes)
            if conflict:
                raise IndexerConflict(conflict)
            built: dict[str, _Index] = {}
            for name, fn in indexers.items():
                if not isinstance(name, str):
                    raise TypeError(f"an index name is a str, not {type(name).__name__}")
                if not callable(fn):
                    raise TypeError(f"index function {name!r} is not callable")
                ix = _Index(fn)
                for key, obj in self._items.items():
                    ix.file(key, _values_of(name, fn(obj)), obj)
                built[name] = ix
            self._indexes = {**self._indexes, **built}

    def resync(self) -> None:
        """Does nothing (client-go's ``Resync`` on a store is a deprecated no-op)."""

    # --------------------------------------------------------------------------------- queries

    def get(self, key: str) -> tuple[Any, bool]:
        """``(object, True)`` for a stored key, else ``(None, False)``."""
        with self._lock:
            try:
                return self._items[key], True
            except KeyError:
                return None, False

    def list(self) -> builtins.list[Any]:
        """Every stored object."""
        with self._lock:
            return list(self._items.values())

    def list_keys(self) -> builtins.list[str]:
        """Every stored key."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        """The number of stored objects."""
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        """True if ``key`` is stored."""
        with self._lock:
            return key in self._items

    def index(self, index_name: str, obj: Any) -> builtins.list[Any]:
        """Every stored object sharing at least one value of index ``index_name`` with ``obj``.

        ``obj`` is a probe: the index function is applied to it, and the objects filed under any
        of the values it gives are returned, each once. Raises :class:`IndexNotFound` for an
        unknown index name; an exception from the index function propagates.
        """
        with self._lock:
            ix = self._index(index_name)
            vals = _values_of(index_name, ix.fn(obj))
            by_value = ix.by_value
            if len(vals) == 1:
                entries = by_value.get(vals[0])
                return [] if entries is None else list(entries.values())
            union: dict[str, Any] = {}
            for v in vals:
                entries = by_value.get(v)
                if entries is not None:
                    union.update(entries)
            return list(union.values())

    def by_index(self, index_name: str, indexed_value: str) -> builtins.list[Any]:
        """Every stored object that index ``index_name`` files under ``indexed_value``.

        An unknown value gives ``[]``; an unknown index name raises :class:`IndexNotFound`.
        """
        with self._lock:
            entries = self._index(index_name).by_value.get(indexed_value)
            return [] if entries is None else list(entries.values())

    def index_keys(self, index_name: str, indexed_value: str) -> builtins.list[str]:
        """The keys of the objects :meth:`by_index` would return."""
        with self._lock:
            entries = self._index(index_name).by_value.get(indexed_value)
            return [] if entries is None else list(entries)

    def list_index_func_values(self, index_name: str) -> builtins.list[str]:
        """Every value index ``index_name`` currently files at least one object under.

        An unknown index name gives ``[]`` (as in client-go), not an error.
        """
        with self._lock:
            ix = self._indexes.get(index_name)
            return [] if ix is None else list(ix.by_value)

    def get_indexers(self) -> dict[str, IndexFunc]:
        """A copy of the registered ``{index name: index function}``."""
        with self._lock:
            return {name: ix.fn for name, ix in self._indexes.items()}

    def _index(self, index_name: str) -> _Index:
        """The named index, or raise IndexNotFound. Lock held."""
        try:
            return self._indexes[index_name]
        except (KeyError, TypeError):
            raise IndexNotFound(index_name) from None

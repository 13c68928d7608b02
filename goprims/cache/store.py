"""Store and Indexer: a ThreadSafeStore that keys objects itself (client-go's ``cache`` type).

A :class:`Store` computes each object's key with its key function and keeps the object in a
:class:`~goprims.cache.thread_safe_store.ThreadSafeStore`; an :class:`Indexer` is a Store with
indices. Reflectors write into a Store (``add/update/delete/replace``); informers hand their Indexer
to a FIFO as *known objects* (:class:`KeyListerGetter`) and to listers.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from goprims.cache.keys import CacheKeyError, IndexFunc, KeyFunc, meta_namespace_key_func
from goprims.cache.thread_safe_store import Indexers, ThreadSafeStore

__all__ = ["Indexer", "KeyListerGetter", "Store", "compute_key"]


@runtime_checkable
class KeyListerGetter(Protocol):
    """What a FIFO needs from the cache it feeds (its ``known_objects``): keys and lookups."""

    def list_keys(self) -> builtins.list[str]:
        """Every key currently known."""
        ...

    def get_by_key(self, key: str) -> tuple[Any, bool]:
        """``(object, True)`` for a known key, else ``(None, False)``."""
        ...


def compute_key(key_func: KeyFunc, obj: Any) -> str:
    """``key_func(obj)``, with every failure reported as :class:`CacheKeyError`.

    A ``CacheKeyError`` from the key function propagates unchanged; any other exception is wrapped
    (and chained as ``__cause__``); a result that is not a ``str`` is a ``CacheKeyError`` too.
    """
    try:
        key = key_func(obj)
    except CacheKeyError:
        raise
    except Exception as e:
        raise CacheKeyError(obj, e) from e
    if type(key) is not str and not isinstance(key, str):
        raise CacheKeyError(obj, f"key function returned {type(key).__name__}, not str")
    return key


class Store:
    """A thread-safe object cache keyed by ``key_func`` (default :func:`meta_namespace_key_func`).

    Every method may be called from any thread. Objects are stored as given, not copied: treat
    what the store returns as read-only. A key function failure raises :class:`CacheKeyError` and
    changes nothing.

    A Store has the index queries of client-go's cache too, but starts with no index (until
    :meth:`add_indexers`); :class:`Indexer` starts with some. Index queries name an index; an
    unknown name raises :class:`~goprims.cache.thread_safe_store.IndexNotFound` (except
    :meth:`list_index_func_values`, which gives ``[]``).
    """

    def __init__(self, key_func: KeyFunc = meta_namespace_key_func) -> None:
        self._key_func = key_func
        self._store = ThreadSafeStore()

    def key_of(self, obj: Any) -> str:
        """The key this store files ``obj`` under. Raises :class:`CacheKeyError`."""
        return compute_key(self._key_func, obj)

    def add(self, obj: Any) -> None:
        """Insert ``obj`` (replacing any object with the same key)."""
        self._store.update(compute_key(self._key_func, obj), obj)

    def update(self, obj: Any) -> None:
        """Replace the object with ``obj``'s key by ``obj`` (inserting it if absent)."""
        self._store.update(compute_key(self._key_func, obj), obj)

    def delete(self, obj: Any) -> None:
        """Remove the object with ``obj``'s key; a missing key is not an error."""
        self._store.delete(compute_key(self._key_func, obj))

    def get(self, obj: Any) -> tuple[Any, bool]:
        """``(stored object, True)`` for the object with ``obj``'s key, else ``(None, False)``."""
        return self._store.get(compute_key(self._key_func, obj))

    def get_by_key(self, key: str) -> tuple[Any, bool]:
        """``(object, True)`` if ``key`` is stored, else ``(None, False)``. Never raises."""
        return self._store.get(key)

    def list(self) -> builtins.list[Any]:
        """Every stored object, in no particular order."""
        return self._store.list()

    def list_keys(self) -> builtins.list[str]:
        """Every stored key, in no particular order."""
        return self._store.list_keys()

    def replace(self, items: Iterable[Any], resource_version: str = "") -> None:
        """Atomically make ``items`` the whole content (a later item wins over an earlier one with
        the same key). ``resource_version`` is accepted for client-go compatibility and ignored.

        Every item is keyed first: on a :class:`CacheKeyError` (or an index failure) nothing
        changed.
        """
        key_func = self._key_func
        self._store.replace({compute_key(key_func, obj): obj for obj in items}, resource_version)

    def resync(self) -> None:
        """Does nothing: a store has nothing to resync (client-go semantics)."""

    def __len__(self) -> int:
        """The number of stored objects."""
        return len(self._store)

    # ---------------------------------------------------------------------------------- indices

    def index(self, index_name: str, obj: Any) -> builtins.list[Any]:
        """Stored objects sharing at least one value of index ``index_name`` with probe ``obj``."""
        return self._store.index(index_name, obj)

    def by_index(self, index_name: str, indexed_value: str) -> builtins.list[Any]:
        """Stored objects that index ``index_name`` files under ``indexed_value``."""
        return self._store.by_index(index_name, indexed_value)

    def index_keys(self, index_name: str, indexed_value: str) -> builtins.list[str]:
        """Keys of the objects :meth:`by_index` would return."""
        return self._store.index_keys(index_name, indexed_value)

    def list_index_func_values(self, index_name: str) -> builtins.list[str]:
        """Values index ``index_name`` currently files something under (``[]`` if unknown)."""
        return self._store.list_index_func_values(index_name)

    def get_indexers(self) -> dict[str, IndexFunc]:
        """A copy of the registered ``{index name: index function}``."""
        return self._store.get_indexers()

    def add_indexers(self, indexers: Indexers) -> None:
        """Register more indices and index every stored object under them (all or nothing).

        Raises :class:`~goprims.cache.thread_safe_store.IndexerConflict` for a name already
        registered.
        """
        self._store.add_indexers(indexers)


class Indexer(Store):
    """A :class:`Store` created with named indices: ``Indexer(key_func, indexers)``.

    ``indexers`` maps an index name to an index function (``obj -> list[str]``); more can be
    added later with :meth:`add_indexers`, even once objects are stored.
    """

    def __init__(
        self, key_func: KeyFunc = meta_namespace_key_func, indexers: Indexers | None = None
    ) -> None:
        super().__init__(key_func)
        if indexers:
            self._store.add_indexers(indexers)

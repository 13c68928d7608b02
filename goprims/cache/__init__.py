"""Informers and caches: client-go ``tools/cache`` semantics (v0.32 baseline) for Python.

* keys -- :func:`meta_namespace_key_func` and friends, :class:`DeletedFinalStateUnknown` tombstones;
* :class:`ThreadSafeStore`, :class:`Store`, :class:`Indexer` -- the keyed, indexed cache;
* :class:`DeltaFIFO` (per-key change lists) and :class:`RealFIFO` (every change in order) -- the
  queues between a reflector and its consumer;
* :class:`Lister` -- read-only namespace-aware views;
* the watch protocol (:class:`WatchEvent`, :class:`ListerWatcher`, :class:`ResourceExpired` ...),
  defined in :mod:`goprims.watch` and re-exported here.

See ``docs/cache.md`` for the semantics with examples.
"""

from __future__ import annotations

from goprims.cache.delta_fifo import DeltaFIFO, TransformFunc
from goprims.cache.deltas import Delta, Deltas, DeltaType
from goprims.cache.factory import SharedInformerFactory
from goprims.cache.handlers import (
    FilteringResourceEventHandler,
    ResourceEventHandler,
    ResourceEventHandlerDetailedFuncs,
    ResourceEventHandlerFuncs,
    process_deltas,
)
from goprims.cache.keys import (
    NAMESPACE_INDEX,
    CacheKeyError,
    DeletedFinalStateUnknown,
    ExplicitKey,
    IndexFunc,
    KeyFunc,
    deletion_handling_meta_namespace_key_func,
    meta_namespace_index_func,
    meta_namespace_key_func,
    object_labels,
    object_namespace_and_name,
    object_resource_version,
    split_meta_namespace_key,
)
from goprims.cache.listers import Lister, ListerNotFound, NamespaceLister, Selector
from goprims.cache.queue import FIFOClosed, PopProcessFunc, Queue
from goprims.cache.real_fifo import RealFIFO
from goprims.cache.reflector import Reflector, WatchError
from goprims.cache.shared_informer import (
    InformerStarted,
    InformerStopped,
    SharedIndexInformer,
    SharedInformer,
    wait_for_cache_sync,
)
from goprims.cache.store import Indexer, KeyListerGetter, Store
from goprims.cache.thread_safe_store import (
    IndexerConflict,
    Indexers,
    IndexNotFound,
    ThreadSafeStore,
)
from goprims.watch import (
    EventType,
    ListerWatcher,
    ListResult,
    ListWatch,
    ResourceExpired,
    TooLargeResourceVersion,
    Watch,
    WatchEvent,
)
from goprims.watch.chan_watch import ChanWatch

__all__ = [
    "NAMESPACE_INDEX",
    "CacheKeyError",
    "ChanWatch",
    "DeletedFinalStateUnknown",
    "Delta",
    "DeltaFIFO",
    "DeltaType",
    "Deltas",
    "EventType",
    "ExplicitKey",
    "FIFOClosed",
    "FilteringResourceEventHandler",
    "IndexFunc",
    "IndexNotFound",
    "Indexer",
    "IndexerConflict",
    "Indexers",
    "InformerStarted",
    "InformerStopped",
    "KeyFunc",
    "KeyListerGetter",
    "ListResult",
    "ListWatch",
    "Lister",
    "ListerNotFound",
    "ListerWatcher",
    "NamespaceLister",
    "PopProcessFunc",
    "Queue",
    "RealFIFO",
    "Reflector",
    "ResourceEventHandler",
    "ResourceEventHandlerDetailedFuncs",
    "ResourceEventHandlerFuncs",
    "ResourceExpired",
    "Selector",
    "SharedIndexInformer",
    "SharedInformer",
    "SharedInformerFactory",
    "Store",
    "ThreadSafeStore",
    "TooLargeResourceVersion",
    "TransformFunc",
    "Watch",
    "WatchError",
    "WatchEvent",
    "deletion_handling_meta_namespace_key_func",
    "meta_namespace_index_func",
    "meta_namespace_key_func",
    "object_labels",
    "object_namespace_and_name",
    "object_resource_version",
    "process_deltas",
    "split_meta_namespace_key",
    "wait_for_cache_sync",
]

"""goprims: Go's concurrency idioms and client-go's controller machinery for Python.

One object, every world: each blocking primitive works from threads, asyncio tasks and trio
tasks, and they may share the same object. The top level re-exports the core primitives
(channels, clocks, synchronisation, context, the worker pool, maps) and every public exception
of the package, including those of the ``workqueue``, ``cache``, ``storage``,
``scheduling`` and ``controller`` layers.

``import goprims`` is light: it imports none of them. Each re-exported name (and each public
subpackage, ``goprims.cache`` ...) is imported on first access (PEP 562 module ``__getattr__``),
so a thread-only program never loads trio, asyncio, the client-go layers or prometheus, and
``import goprims`` costs about what ``import concurrent.futures`` does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Every top-level re-export: name -> the module that defines (or re-exports) it. This table IS the
# top-level API: ``__all__``, ``dir(goprims)`` and the lazy ``__getattr__`` below all come from it.
#
# To re-export a new name (e.g. a second-layer module's public exception, which the package rule
# says must be importable from ``goprims``): add ONE line here, ``"Name": "goprims.module"``, and
# the same name to the ``if TYPE_CHECKING:`` imports below (``from goprims.module import Name as
# Name``) so that mypy and IDEs see it. tests/test_package.py checks that the two agree, that every
# name resolves, and that ``import goprims`` still imports none of these modules.
_LAZY: dict[str, str] = {
    # core: channels and select
    "Chan": "goprims.chan",
    "ChanClosed": "goprims.chan",
    "Recv": "goprims.chan",
    "Selected": "goprims.chan",
    "Send": "goprims.chan",
    "async_select": "goprims.chan",
    "select": "goprims.chan",
    # core: Go's time package on channels
    "Ticker": "goprims.timers",
    "Timer": "goprims.timers",
    "after": "goprims.timers",
    # core: clocks
    "Clock": "goprims.clock",
    "FakeClock": "goprims.clock",
    "RealClock": "goprims.clock",
    # core: context
    "Canceled": "goprims.context",
    "CancelFunc": "goprims.context",
    "Context": "goprims.context",
    "DeadlineExceeded": "goprims.context",
    "after_func": "goprims.context",
    "background": "goprims.context",
    "cause": "goprims.context",
    "todo": "goprims.context",
    "with_cancel": "goprims.context",
    "with_cancel_cause": "goprims.context",
    "with_deadline": "goprims.context",
    "with_deadline_cause": "goprims.context",
    "with_timeout": "goprims.context",
    "with_timeout_cause": "goprims.context",
    "with_value": "goprims.context",
    "without_cancel": "goprims.context",
    # core: maps
    "Map": "goprims.maps",
    "NestedMap": "goprims.maps",
    "NotBranch": "goprims.maps",
    "NotExist": "goprims.maps",
    "NotLeaf": "goprims.maps",
    # core: the worker pool, and go() on its default pool
    "Pool": "goprims.pool",
    "PoolClosed": "goprims.pool",
    "PoolOverload": "goprims.pool",
    "go": "goprims.pool",
    # core: synchronisation
    "Barrier": "goprims.sync",
    "BrokenBarrierError": "goprims.sync",
    "CalledTwice": "goprims.sync",
    "Group": "goprims.sync",
    "Once": "goprims.sync",
    "Semaphore": "goprims.sync",
    "WaitGroup": "goprims.sync",
    "once_func": "goprims.sync",
    "once_only": "goprims.sync",
    "once_value": "goprims.sync",
    # the cache layer's public exceptions
    "CacheKeyError": "goprims.cache",
    "FIFOClosed": "goprims.cache",
    "IndexNotFound": "goprims.cache",
    "IndexerConflict": "goprims.cache",
    "InformerStarted": "goprims.cache",
    "InformerStopped": "goprims.cache",
    "ListerNotFound": "goprims.cache",
    "WatchError": "goprims.cache",
    # the watch protocol's errors (shared by the cache and storage layers)
    "ResourceExpired": "goprims.watch",
    "TooLargeResourceVersion": "goprims.watch",
    "WatchListUnsupported": "goprims.watch",
    # the storage layer's public exceptions
    "AlreadyExists": "goprims.storage",
    "AuthenticationFailed": "goprims.storage",
    "Conflict": "goprims.storage",
    "CorruptObject": "goprims.storage",
    "EtcdError": "goprims.storage",
    "InvalidObject": "goprims.storage",
    "InvalidResourceVersion": "goprims.storage",
    "NotFound": "goprims.storage",
    "StorageError": "goprims.storage",
    "StorageUnavailable": "goprims.storage",
    # (the workqueue layer has no public exception; second-layer modules add theirs here)
    # the scheduling layer's public exceptions
    "QueueClosed": "goprims.scheduling",
    # the controller toolkit's public exceptions
    "AdoptionRefused": "goprims.controller",
    # the discovery module's public exceptions
    "AggregatorStopped": "goprims.discovery",
    # the konfig module's public exceptions
    "KonfigValueError": "goprims.konfig",
    # the framing module's public exceptions
    "JSONSyntaxError": "goprims.framing",
    "MalformedStream": "goprims.framing",
    "NoMatch": "goprims.framing",
    "ObjectTooLarge": "goprims.framing",
    "YAMLSyntaxError": "goprims.framing",
    # the quorum module's public exception
    "InflightsFull": "goprims.quorum",
    # the Kubernetes wire's public exceptions
    "APIError": "goprims.kube",
    "InvalidSelector": "goprims.kube.selectors",
    "PatchError": "goprims.kube.patch",
}

# Public submodules reachable as attributes after a bare ``import goprims`` (``goprims.cache.X``).
_SUBMODULES = frozenset(
    (
        "cache",
        "chan",
        "clock",
        "context",
        "controller",
        "discovery",
        "framing",
        "konfig",
        "kube",
        "maps",
        "pool",
        "quorum",
        "scheduling",
        "storage",
        "sync",
        "timers",
        "watch",
        "workqueue",
    )
)

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a re-exported name (or a public subpackage) on first access, then cache it."""
    modname = _LAZY.get(name)
    if modname is not None:
        value = getattr(importlib.import_module(modname), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"goprims.{name}")
    else:
        raise AttributeError(f"module 'goprims' has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain module attribute reads
    return value


def __dir__() -> list[str]:
    """The module's attributes plus every lazily re-exported name."""
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


if TYPE_CHECKING:  # what mypy and IDEs see; keep in step with _LAZY (a test checks)
    from goprims.cache import CacheKeyError as CacheKeyError
    from goprims.cache import FIFOClosed as FIFOClosed
    from goprims.cache import IndexerConflict as IndexerConflict
    from goprims.cache import IndexNotFound as IndexNotFound
    from goprims.cache import InformerStarted as InformerStarted
    from goprims.cache import InformerStopped as InformerStopped
    from goprims.cache import ListerNotFound as ListerNotFound
    from goprims.cache import WatchError as WatchError
    from goprims.chan import Chan as Chan
    from goprims.chan import ChanClosed as ChanClosed
    from goprims.chan import Recv as Recv
    from goprims.chan import Selected as Selected
    from goprims.chan import Send as Send
    from goprims.chan import async_select as async_select
    from goprims.chan import select as select
    from goprims.clock import Clock as Clock
    from goprims.clock import FakeClock as FakeClock
    from goprims.clock import RealClock as RealClock
    from goprims.context import Canceled as Canceled
    from goprims.context import CancelFunc as CancelFunc
    from goprims.context import Context as Context
    from goprims.context import DeadlineExceeded as DeadlineExceeded
    from goprims.context import after_func as after_func
    from goprims.context import background as background
    from goprims.context import cause as cause
    from goprims.context import todo as todo
    from goprims.context import with_cancel as with_cancel
    from goprims.context import with_cancel_cause as with_cancel_cause
    from goprims.context import with_deadline as with_deadline
    from goprims.context import with_deadline_cause as with_deadline_cause
    from goprims.context import with_timeout as with_timeout
    from goprims.context import with_timeout_cause as with_timeout_cause
    from goprims.context import with_value as with_value
    from goprims.context import without_cancel as without_cancel
    from goprims.controller import AdoptionRefused as AdoptionRefused
    from goprims.discovery import AggregatorStopped as AggregatorStopped
    from goprims.framing import JSONSyntaxError as JSONSyntaxError
    from goprims.framing import MalformedStream as MalformedStream
    from goprims.framing import NoMatch as NoMatch
    from goprims.framing import ObjectTooLarge as ObjectTooLarge
    from goprims.framing import YAMLSyntaxError as YAMLSyntaxError
    from goprims.konfig import KonfigValueError as KonfigValueError
    from goprims.kube import APIError as APIError
    from goprims.kube.patch import PatchError as PatchError
    from goprims.kube.selectors import InvalidSelector as InvalidSelector
    from goprims.maps import Map as Map
    from goprims.maps import NestedMap as NestedMap
    from goprims.maps import NotBranch as NotBranch
    from goprims.maps import NotExist as NotExist
    from goprims.maps import NotLeaf as NotLeaf
    from goprims.pool import Pool as Pool
    from goprims.pool import PoolClosed as PoolClosed
    from goprims.pool import PoolOverload as PoolOverload
    from goprims.pool import go as go
    from goprims.quorum import InflightsFull as InflightsFull
    from goprims.scheduling import QueueClosed as QueueClosed
    from goprims.storage import AlreadyExists as AlreadyExists
    from goprims.storage import AuthenticationFailed as AuthenticationFailed
    from goprims.storage import Conflict as Conflict
    from goprims.storage import CorruptObject as CorruptObject
    from goprims.storage import EtcdError as EtcdError
    from goprims.storage import InvalidObject as InvalidObject
    from goprims.storage import InvalidResourceVersion as InvalidResourceVersion
    from goprims.storage import NotFound as NotFound
    from goprims.storage import StorageError as StorageError
    from goprims.storage import StorageUnavailable as StorageUnavailable
    from goprims.sync import Barrier as Barrier
    from goprims.sync import BrokenBarrierError as BrokenBarrierError
    from goprims.sync import CalledTwice as CalledTwice
    from goprims.sync import Group as Group
    from goprims.sync import Once as Once
    from goprims.sync import Semaphore as Semaphore
    from goprims.sync import WaitGroup as WaitGroup
    from goprims.sync import once_func as once_func
    from goprims.sync import once_only as once_only
    from goprims.sync import once_value as once_value
    from goprims.timers import Ticker as Ticker
    from goprims.timers import Timer as Timer
    from goprims.timers import after as after
    from goprims.watch import ResourceExpired as ResourceExpired
    from goprims.watch import TooLargeResourceVersion as TooLargeResourceVersion
    from goprims.watch import WatchListUnsupported as WatchListUnsupported

"""goprims: Go's concurrency idioms and client-go's controller machinery for Python.

One object, every world: each blocking primitive works from threads, asyncio tasks and trio
tasks, and they may share the same object. The top level re-exports the core primitives
(channels, clocks, synchronisation, context, the worker pool, maps) and every public exception
of the package, including those of the ``workqueue``, ``cache``, ``storage`` and
``scheduling`` layers.
"""

from __future__ import annotations

from goprims.cache import (
    CacheKeyError,
    FIFOClosed,
    IndexerConflict,
    IndexNotFound,
    InformerStarted,
    InformerStopped,
    ListerNotFound,
    ResourceExpired,
    WatchError,
)
from goprims.cache.listwatch import TooLargeResourceVersion
from goprims.chan import (
    Chan,
    ChanClosed,
    Recv,
    Selected,
    Send,
    Ticker,
    Timer,
    after,
    async_select,
    go,
    select,
)
from goprims.clock import Clock, FakeClock, RealClock
from goprims.context import (
    Canceled,
    CancelFunc,
    Context,
    DeadlineExceeded,
    after_func,
    background,
    cause,
    todo,
    with_cancel,
    with_cancel_cause,
    with_deadline,
    with_timeout,
    with_value,
    without_cancel,
)
from goprims.maps import Map, NestedMap, NotBranch, NotExist, NotLeaf
from goprims.pool import Pool, PoolClosed, PoolOverload
from goprims.scheduling.errors import QueueClosed
from goprims.storage import (
    AlreadyExists,
    Conflict,
    CorruptObject,
    EtcdError,
    InvalidObject,
    InvalidResourceVersion,
    NotFound,
    StorageError,
    StorageUnavailable,
)
from goprims.sync import (
    Barrier,
    CalledTwice,
    Group,
    Once,
    Semaphore,
    WaitGroup,
    once_func,
    once_only,
    once_value,
)

__all__ = [
    "AlreadyExists",
    "Barrier",
    "CacheKeyError",
    "CalledTwice",
    "CancelFunc",
    "Canceled",
    "Chan",
    "ChanClosed",
    "Clock",
    "Conflict",
    "Context",
    "CorruptObject",
    "DeadlineExceeded",
    "EtcdError",
    "FIFOClosed",
    "FakeClock",
    "Group",
    "IndexNotFound",
    "IndexerConflict",
    "InformerStarted",
    "InformerStopped",
    "InvalidObject",
    "InvalidResourceVersion",
    "ListerNotFound",
    "Map",
    "NestedMap",
    "NotBranch",
    "NotExist",
    "NotFound",
    "NotLeaf",
    "Once",
    "Pool",
    "PoolClosed",
    "PoolOverload",
    "QueueClosed",
    "RealClock",
    "Recv",
    "ResourceExpired",
    "Selected",
    "Semaphore",
    "Send",
    "StorageError",
    "StorageUnavailable",
    "Ticker",
    "Timer",
    "TooLargeResourceVersion",
    "WaitGroup",
    "WatchError",
    "after",
    "after_func",
    "async_select",
    "background",
    "cause",
    "go",
    "once_func",
    "once_only",
    "once_value",
    "select",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_timeout",
    "with_value",
    "without_cancel",
]

__version__ = "0.1.0"

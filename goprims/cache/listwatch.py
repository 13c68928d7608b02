"""The ListerWatcher side of the informer machinery, as the cache layer sees it.

The types are defined in :mod:`goprims.watch` (below both this layer and :mod:`goprims.storage`);
this module re-exports them so that ``goprims.cache.listwatch`` imports keep working:
:class:`ListResult`, :class:`WatchEvent`, :class:`EventType`, :class:`Watch`,
:class:`ListerWatcher`, :class:`ListWatch`, :class:`ChanWatch`, :class:`ResourceExpired` and
:class:`TooLargeResourceVersion`.
"""

from __future__ import annotations

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
    "ChanWatch",
    "EventType",
    "ListResult",
    "ListWatch",
    "ListerWatcher",
    "ResourceExpired",
    "TooLargeResourceVersion",
    "Watch",
    "WatchEvent",
]

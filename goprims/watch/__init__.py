"""The watch protocol, below both :mod:`goprims.cache` and :mod:`goprims.storage` (as
apimachinery's ``pkg/watch`` sits below client-go and the apiserver).

* :class:`WatchEvent` ``(type, object)`` with :class:`EventType` ``ADDED/MODIFIED/DELETED/
  BOOKMARK/ERROR`` (a ``str`` enum, so ``EventType.ADDED == "ADDED"``);
* :class:`ListResult` ``(items, resource_version)``: one list response;
* :class:`Watch`: the protocol of a running watch: iterating it blocks for the next event and ends
  when the watch closes; :meth:`Watch.stop` closes it from the consumer side;
* :class:`ListerWatcher`: ``list(resource_version="")`` and ``watch(resource_version)``;
  :class:`ListWatch` adapts two callables to it;
* :class:`ResourceExpired` (HTTP 410 Gone) and :class:`TooLargeResourceVersion`: the two errors a
  reflector answers by relisting;
* :class:`ChanWatch`: a ready-made :class:`Watch` over an unbounded channel, for producers.

Producers (storages, API clients, stream decoders) import from here; consumers (the reflector,
informers) too. ``import goprims.watch`` loads nothing else of goprims: :class:`ChanWatch`, the only
part that needs channels, is imported on first access (:mod:`goprims.watch.chan_watch`).
``goprims.cache`` and ``goprims.cache.listwatch`` re-export every name, so older import paths keep
working.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from goprims.watch.errors import ResourceExpired, TooLargeResourceVersion, WatchListUnsupported
from goprims.watch.interface import (
    EventType,
    ListerWatcher,
    ListResult,
    ListWatch,
    Watch,
    WatchEvent,
)

if TYPE_CHECKING:
    from goprims.watch.chan_watch import ChanWatch as ChanWatch

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
    "WatchListUnsupported",
]


def __getattr__(name: str) -> Any:
    """Import :class:`ChanWatch` (and with it :mod:`goprims.chan`) on first access."""
    if name == "ChanWatch":
        value = importlib.import_module("goprims.watch.chan_watch").ChanWatch
        globals()[name] = value
        return value
    raise AttributeError(f"module 'goprims.watch' has no attribute {name!r}")

"""The watch protocol's types (apimachinery's ``pkg/watch`` and client-go's ``ListerWatcher``):
what a storage or an API client produces and what a reflector consumes.

* :class:`EventType` and :class:`WatchEvent` ``(type, object)``;
* :class:`ListResult` ``(items, resource_version)``: one list response;
* :class:`Watch`: a running watch (iterate it; :meth:`Watch.stop` closes it);
* :class:`ListerWatcher`: ``list(resource_version="")`` and ``watch(resource_version)``;
  :class:`ListWatch` adapts two callables to it.

This module imports nothing of goprims, so light modules (stream decoders, API clients) can
speak the protocol without loading channels, caches or storages.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = ["EventType", "ListResult", "ListWatch", "ListerWatcher", "Watch", "WatchEvent"]


class EventType(str, enum.Enum):
    """The type of a :class:`WatchEvent` (Go's ``watch.EventType``). A ``str`` enum: each member
    equals its name as a plain string (``EventType.ADDED == "ADDED"``) and ``str()`` gives it."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


class WatchEvent(NamedTuple):
    """One change seen by a watch (Go's ``watch.Event``).

    ``object`` is the object after the change; for ``DELETED`` it is the object's last state
    (its ``resourceVersion`` being the deletion's revision when the source is a goprims storage);
    for ``BOOKMARK`` an object whose only meaningful field is ``metadata.resourceVersion``; for
    ``ERROR`` an error description (a status object or an exception).
    """

    type: EventType
    object: Any


class ListResult(NamedTuple):
    """One list response: the ``items`` and the ``resource_version`` (a decimal string) of the
    state they were read at. A reflector replaces its store with ``items`` and starts its watch
    from ``resource_version``."""

    items: list[Any]
    resource_version: str


# ------------------------------------------------------------------------------------ protocols


@runtime_checkable
class Watch(Protocol):
    """A running watch (Go's ``watch.Interface``).

    Iterating it yields :class:`WatchEvent` s in order, blocking while none is available, and
    ends when the watch closes: after :meth:`stop`, or when the source ends the stream. When the
    stream ends because its resource version expired (the events it still had to deliver were
    compacted away), the iteration raises :class:`ResourceExpired` instead of ending quietly.
    """

    def __iter__(self) -> Iterator[WatchEvent]:
        """Yield events until the watch closes (raises :class:`ResourceExpired` on expiry)."""
        ...

    def stop(self) -> None:
        """Close the watch: a blocked or later iteration ends, undelivered events are dropped,
        resources are released. Idempotent; callable from any thread."""
        ...


@runtime_checkable
class ListerWatcher(Protocol):
    """What a reflector lists and watches (client-go's ``cache.ListerWatcher``).

    ``resource_version`` follows the Kubernetes rules: ``""`` asks for the most recent state (a
    consistent read), ``"0"`` for any state (a cache may serve it), ``"N"`` for a state not older
    than N. A reflector lists at ``"0"`` first, at its last version on a relist and at ``""``
    after :class:`ResourceExpired` or :class:`TooLargeResourceVersion`; a source without a cache
    may treat all three as a consistent read.
    """

    def list(self, resource_version: str = "") -> ListResult:
        """The current items and the resource version they were read at."""
        ...

    def watch(self, resource_version: str) -> Watch:
        """A watch delivering every change after ``resource_version``, in order. Raises
        :class:`ResourceExpired` if that version is too old to replay from."""
        ...


class ListWatch:
    """A :class:`ListerWatcher` made of two callables (client-go's ``cache.ListWatch``).

    ``list_func(resource_version)`` returns a :class:`ListResult` (any ``(items,
    resource_version)`` pair is accepted and converted); ``watch_func(resource_version)`` returns
    a :class:`Watch`. Errors from either propagate unchanged.
    """

    __slots__ = ("list_func", "watch_func")

    def __init__(
        self,
        list_func: Callable[[str], ListResult | tuple[list[Any], str]],
        watch_func: Callable[[str], Watch],
    ) -> None:
        self.list_func = list_func
        self.watch_func = watch_func

    def list(self, resource_version: str = "") -> ListResult:
        """Call ``list_func(resource_version)`` and return its result as a :class:`ListResult`."""
        res = self.list_func(resource_version)
        if isinstance(res, ListResult):
            return res
        items, rv = res
        return ListResult(list(items), rv)

    def watch(self, resource_version: str) -> Watch:
        """Call ``watch_func(resource_version)``."""
        return self.watch_func(resource_version)

    def __repr__(self) -> str:
        return f"ListWatch({self.list_func!r}, {self.watch_func!r})"

"""``MemoryStorage``: the embedded, in-process :class:`~goprims.storage.Storage` (an MVCC store in
the manner of etcd, as kube-apiserver uses it).

State, all guarded by one lock (``MemoryStorage._lock``), held only for short, non-blocking steps:

* ``_rev``: the current revision. It starts at 1 (as etcd: a version is never ``"0"``, which
  means "any") and every write adds exactly one.
* ``_objects``: key -> the stored record ``(obj, rev)``, sorted by key. A stored object is a
  private copy stamped with its revision and is **never mutated afterwards** (a write stores a
  new copy), so it may be shared with the history, with watch buffers and copied outside the lock.
* ``_history``: the changes after the compaction point ``_compacted``, in order:
  ``_history[i].rev == _compacted + 1 + i`` and ``len(_history) == _rev - _compacted``.
* ``_watchers``: the running watches. Each has been sent, in revision order, every change after
  its start whose key matches its prefix: a write appends to the history and sends to the
  matching watches under the same lock hold, so replay and live events never gap or overlap.

The one access made without the lock is a single-key lookup, ``_objects.get(key)`` (in ``get``
and as the optimistic first read of ``guaranteed_update`` and ``delete``): one dict lookup is
atomic and returns an immutable record, and ``_commit`` updates ``_objects`` before it publishes
the change's event, so a reader never sees an object older than an event it has received.
Whatever a write depends on is checked again under the lock (the record's identity is the CAS).

Copies are made outside the lock wherever possible: on the way in before locking, on the way out
after unlocking, and for watch events by the consuming thread when it takes the event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

from sortedcontainers import SortedDict

from goprims.storage.errors import AlreadyExists, Conflict, InvalidObject, NotFound
from goprims.storage.objects import (
    check_key,
    copy_object,
    parse_resource_version,
    resource_version_of,
    set_resource_version,
)
from goprims.watch import (
    EventType,
    ListResult,
    ResourceExpired,
    TooLargeResourceVersion,
    WatchEvent,
)
from goprims.watch.chan_watch import ChanWatch

__all__ = ["DEFAULT_HISTORY_LIMIT", "MemoryStorage"]

ObjT = TypeVar("ObjT")

DEFAULT_HISTORY_LIMIT = 10_000
"""``MemoryStorage``'s default ``history_limit``."""

_ADDED = EventType.ADDED
_MODIFIED = EventType.MODIFIED
_DELETED = EventType.DELETED


class _Record(NamedTuple):
    obj: Any  # the stored copy, stamped with rev; never mutated
    rev: int  # revision of the object's last change


class _Change(NamedTuple):
    rev: int  # the change's revision (a synthetic ADDED or a BOOKMARK: the watch position)
    type: EventType
    key: str
    obj: Any  # shared, never mutated; each consumer receives its own copy


class MemoryStorage:
    """The embedded default :class:`~goprims.storage.Storage`: everything in process memory.

    It implements the protocol exactly (see :class:`goprims.storage.Storage` for each method's
    contract), plus :attr:`compacted_revision`, :attr:`watch_count` and
    :meth:`request_progress` (BOOKMARK events). Thread-safe; no method blocks beyond a short
    internal lock, and no thread is ever started.

    ``history_limit`` bounds the change history automatically: the history always keeps at
    least the last ``history_limit`` changes, and once it holds ``2 * history_limit`` it is
    compacted back to the last ``history_limit`` (exactly as ``compact(revision -
    history_limit)``, with the same effect on old versions and lagging watches). ``None``
    keeps everything until :meth:`compact` is called.
    """

    def __init__(self, *, history_limit: int | None = DEFAULT_HISTORY_LIMIT) -> None:
        if history_limit is not None and (
            isinstance(history_limit, bool)
            or not isinstance(history_limit, int)
            or history_limit < 1
        ):
            raise ValueError(f"history_limit must be a positive int or None, got {history_limit!r}")
        self._history_limit = history_limit
        self._lock = threading.Lock()
        # --- guarded by _lock (see the module docstring for the invariants) ---
        self._rev = 1
        self._compacted = 1
        self._objects: SortedDict = SortedDict()  # str -> _Record
        self._history: list[_Change] = []
        self._watchers: set[_MemoryWatch] = set()

    def __repr__(self) -> str:
        return (
            f"<MemoryStorage revision={self._rev} objects={len(self._objects)} "
            f"history={len(self._history)} watches={len(self._watchers)}>"
        )

    # ------------------------------------------------------------------ introspection

    def revision(self) -> int:
        """The current revision: that of the last write (1 before any write)."""
        with self._lock:  # ordered after every write (and event) that finished before
            return self._rev

    @property
    def compacted_revision(self) -> int:
        """The compaction point: versions older than this are expired (1 before any)."""
        with self._lock:  # ordered after a compaction whose expiries a watcher already saw
            return self._compacted

    @property
    def watch_count(self) -> int:
        """The number of running watches (stopped and expired ones are not counted)."""
        with self._lock:
            return len(self._watchers)

    # ------------------------------------------------------------------ reads

    def get(self, key: str) -> Any:
        """A copy of the object under ``key``. Raises :class:`NotFound`."""
        check_key(key)
        rec = self._objects.get(key)  # a single lookup: atomic, needs no lock
        if rec is None:
            raise NotFound(f"{key!r} not found", key)
        return copy_object(rec.obj)

    def _scan(self, prefix: str) -> Iterator[tuple[str, _Record]]:
        """(key, record) for the keys starting with ``prefix``, in key order. Lock held."""
        objects = self._objects
        for key in objects.irange(minimum=prefix):
            if not key.startswith(prefix):
                return
            yield key, objects[key]

    def _check_version(self, rv: int, asked: str, what: str) -> None:
        """Reject a version newer than the current revision or older than the compaction
        point (0, "any", always passes). Lock held."""
        if rv > self._rev:
            raise TooLargeResourceVersion(
                f"Too large resource version: {rv}, current: {self._rev}", asked, str(self._rev)
            )
        if rv and rv < self._compacted:
            raise ResourceExpired(
                f"The resourceVersion for the provided {what} is too old "
                f"(compacted at {self._compacted}).",
                asked,
            )

    def list(self, prefix: str = "", resource_version: str = "") -> ListResult:
        """Copies of the objects whose key starts with ``prefix``, sorted by key, and the current
        revision. ``resource_version`` ``"N"`` must be neither newer than the current revision
        (:class:`TooLargeResourceVersion`) nor older than the compaction point
        (:class:`ResourceExpired`); the current state is returned either way."""
        rv = parse_resource_version(resource_version)
        with self._lock:
            self._check_version(rv, str(resource_version), "list")
            snapshot = [rec.obj for _, rec in self._scan(prefix)]
            rev = self._rev
        return ListResult([copy_object(o) for o in snapshot], str(rev))

    # ------------------------------------------------------------------ writes

    def _commit(self, key: str, type_: EventType, obj: Any, rev: int) -> None:
        """Apply one change stamped ``rev == _rev + 1``: objects, history, watches. Lock held;
        nothing here can fail, so a write is all or nothing."""
        self._rev = rev
        if type_ is _DELETED:
            del self._objects[key]
        else:
            self._objects[key] = _Record(obj, rev)
        change = _Change(rev, type_, key, obj)
        self._history.append(change)
        dead = None
        for w in self._watchers:
            if key.startswith(w.prefix) and not w.send(change):
                dead = [w] if dead is None else [*dead, w]
        if dead is not None:
            self._watchers.difference_update(dead)
        limit = self._history_limit
        if limit is not None and len(self._history) >= 2 * limit:
            self._compact_locked(rev - limit)

    def create(self, key: str, obj: ObjT) -> ObjT:
        """Store ``obj`` under ``key`` if absent; return the stored copy (``ADDED``). Raises
        :class:`AlreadyExists`, or :class:`InvalidObject` if ``obj`` has no metadata or carries
        a ``resourceVersion`` other than ``""``/``"0"``."""
        check_key(key)
        if resource_version_of(obj) not in ("", "0"):
            raise InvalidObject("resourceVersion should not be set on objects to be created", key)
        new = copy_object(obj)
        with self._lock:
            if key in self._objects:
                raise AlreadyExists(f"{key!r} already exists", key)
            rev = self._rev + 1
            set_resource_version(new, str(rev))
            self._commit(key, _ADDED, new, rev)
        return copy_object(new)

    def update(self, key: str, obj: ObjT) -> ObjT:
        """Compare-and-swap on ``obj``'s ``resourceVersion``; return the stored copy
        (``MODIFIED``). Raises :class:`NotFound`, :class:`Conflict` (also for an empty version),
        :class:`InvalidObject`. An unchanged object writes nothing and is returned as stored."""
        check_key(key)
        asked = resource_version_of(obj)
        expected = parse_resource_version(asked)
        new = copy_object(obj)
        with self._lock:
            rec = self._objects.get(key)
            if rec is None:
                raise NotFound(f"{key!r} not found", key)
            if expected != rec.rev:
                raise Conflict(
                    f"{key!r}: the object has been modified (resourceVersion {asked!r}, "
                    f"stored {rec.rev}); read it again and retry",
                    key,
                    asked,
                    str(rec.rev),
                )
            stored: ObjT = self._write_locked(key, rec, new)
        return copy_object(stored)

    def _write_locked(self, key: str, rec: _Record, new: Any) -> Any:
        """Replace ``rec`` (the current record of ``key``) with ``new``, a private copy; return
        what is stored afterwards. Lock held."""
        set_resource_version(new, str(rec.rev))
        if new == rec.obj:
            return rec.obj  # no change: no revision, no event
        rev = self._rev + 1
        set_resource_version(new, str(rev))
        self._commit(key, _MODIFIED, new, rev)
        return new

    def guaranteed_update(self, key: str, fn: Callable[[Any], ObjT]) -> ObjT:
        """Optimistic read-modify-write: ``fn(copy of current)`` is retried until the object did
        not change between the read and the write. Returns the stored copy (``MODIFIED``).
        Raises :class:`NotFound`, :class:`InvalidObject`, or whatever ``fn`` raises."""
        check_key(key)
        while True:
            rec = self._objects.get(key)  # atomic lookup; validated again under the lock
            if rec is None:
                raise NotFound(f"{key!r} not found", key)
            result = fn(copy_object(rec.obj))
            resource_version_of(result)  # raises InvalidObject early, outside the lock
            new = copy_object(result)
            with self._lock:
                now = self._objects.get(key)
                if now is None:
                    raise NotFound(f"{key!r} not found", key)
                if now is not rec:
                    continue  # changed since the read: retry on the fresh state
                stored: ObjT = self._write_locked(key, rec, new)
            return copy_object(stored)

    def delete(self, key: str, resource_version: str | None = None) -> Any:
        """Remove the object under ``key``; return its last state stamped with the deletion's
        revision (``DELETED``). ``resource_version`` is an optional precondition
        (:class:`Conflict`). Raises :class:`NotFound`."""
        check_key(key)
        asked = resource_version or ""
        expected = parse_resource_version(asked) if asked else None
        while True:
            rec = self._objects.get(key)  # atomic lookup; validated again under the lock
            if rec is None:
                raise NotFound(f"{key!r} not found", key)
            if expected is not None and expected != rec.rev:
                raise Conflict(
                    f"{key!r}: precondition failed: resourceVersion {asked!r}, stored {rec.rev}",
                    key,
                    asked,
                    str(rec.rev),
                )
            last = copy_object(rec.obj)
            with self._lock:
                if self._objects.get(key) is not rec:
                    continue  # changed meanwhile: check again on the fresh state
                rev = self._rev + 1
                set_resource_version(last, str(rev))
                self._commit(key, _DELETED, last, rev)
            return copy_object(last)

    # ------------------------------------------------------------------ history

    def compact(self, revision: int | str) -> None:
        """Forget the history up to and including ``revision`` (see the protocol). Raises
        :class:`TooLargeResourceVersion` past the current revision; a no-op at or below the
        current compaction point."""
        rev = parse_resource_version(revision)
        with self._lock:
            if rev > self._rev:
                raise TooLargeResourceVersion(
                    f"cannot compact at {rev}: current revision is {self._rev}",
                    str(revision),
                    str(self._rev),
                )
            self._compact_locked(rev)

    def _compact_locked(self, rev: int) -> None:
        old = self._compacted
        if rev <= old:
            return
        history = self._history
        expired = [w for w in self._watchers if w._expire_if_behind(history, old, rev)]
        self._watchers.difference_update(expired)
        del history[: rev - old]
        self._compacted = rev

    # ------------------------------------------------------------------ watch

    def watch(self, prefix: str = "", resource_version: str = "") -> _MemoryWatch:
        """Watch the keys starting with ``prefix`` from ``resource_version`` (see the protocol):
        a replay of the history after it, or for ``""``/``"0"`` a synthetic ``ADDED`` per
        current object, then live changes. Raises :class:`TooLargeResourceVersion`,
        :class:`ResourceExpired`."""
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        rv = parse_resource_version(resource_version)
        with self._lock:
            self._check_version(rv, str(resource_version), "watch")
            if rv == 0:
                w = _MemoryWatch(self, prefix, self._rev)
                for key, rec in self._scan(prefix):
                    w.send(_Change(self._rev, _ADDED, key, rec.obj))
            else:
                w = _MemoryWatch(self, prefix, rv)
                for change in self._history[rv - self._compacted :]:
                    if change.key.startswith(prefix):
                        w.send(change)
            self._watchers.add(w)
        return w

    def request_progress(self) -> None:
        """Send every running watch a ``BOOKMARK`` event whose object is
        ``{"metadata": {"resourceVersion": <current revision>}}`` (etcd's progress notification):
        the watch has seen every change up to that revision. MemoryStorage sends bookmarks only
        when asked, never on its own."""
        with self._lock:
            rev = self._rev
            bookmark = _Change(
                rev, EventType.BOOKMARK, "", {"metadata": {"resourceVersion": str(rev)}}
            )
            dead = [w for w in self._watchers if not w.send(bookmark)]
            self._watchers.difference_update(dead)

    def _forget(self, w: _MemoryWatch) -> None:
        """A watch was stopped: stop sending to it."""
        with self._lock:
            self._watchers.discard(w)


class _MemoryWatch(ChanWatch):
    """A watch on a :class:`MemoryStorage`: its buffer holds the storage's shared, immutable
    changes; the consumer copies each object as it takes it."""

    def __init__(self, storage: MemoryStorage, prefix: str, position: int) -> None:
        super().__init__(on_stop=lambda: storage._forget(self))
        self.prefix = prefix
        # Guarded by _lock: the revision up to which this watch has delivered every change (its
        # start revision until the first event is taken).
        self._position = position

    def _accept(self, item: Any) -> None:
        if item.rev > self._position:
            self._position = item.rev

    def _convert(self, item: Any) -> WatchEvent:
        return WatchEvent(item.type, copy_object(item.obj))

    def _expire_if_behind(self, history: list[_Change], compacted: int, upto: int) -> bool:
        """Called by a compaction to ``upto`` (storage lock held; ``history[i].rev ==
        compacted + 1 + i``): if a change at or below ``upto`` is still undelivered, abort
        with :class:`ResourceExpired` and return True (also True if already stopped)."""
        with self._lock:
            if self._stopped:
                return True
            lo = max(self._position, compacted)
            prefix = self.prefix
            if not any(
                history[i].key.startswith(prefix) for i in range(lo - compacted, upto - compacted)
            ):
                return False
            err = ResourceExpired(
                "The resourceVersion for the provided watch is too old: changes after "
                f"{self._position} were compacted (compaction at {upto}).",
                str(self._position),
            )
            self._abort_locked(err)
        self._drain()
        return True

"""The :class:`Storage` protocol: how kube-apiserver keeps objects (its ``storage.Interface``),
with explicit keys, one global revision and a replayable change history.

Every backend (:class:`~goprims.storage.memory.MemoryStorage`, the etcd backend) implements
exactly these semantics; the conformance tests hold each backend to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from goprims.watch import ListResult, Watch

__all__ = ["Storage"]

ObjT = TypeVar("ObjT")


@runtime_checkable
class Storage(Protocol):
    """A versioned object store.

    **Revisions.** The store has one global revision counter. Every successful write (create,
    update, delete) increments it by one and is stamped with the new value, so each revision
    names exactly one change. A returned object's ``metadata.resourceVersion`` is the revision
    of its last change, as a decimal string. A resource version argument is a decimal string;
    ``""`` and ``"0"`` mean "none"/"any"; other strings raise ``InvalidResourceVersion``.

    **Copies.** Objects are copied on the way in and on the way out: the arguments are never
    modified, and mutating a returned object (or an event's object) never changes stored state.

    **Objects** need metadata (see :mod:`goprims.storage.objects`); one without raises
    ``InvalidObject``, as does any error found before a write: nothing is ever half-applied.

    **History.** Changes are remembered, in order, back to the *compaction point*: the revision
    set by :meth:`compact` (a backend may also compact on its own, e.g. to bound memory, and
    documents when). A resource version older than the compaction point is *expired*.
    """

    def create(self, key: str, obj: ObjT) -> ObjT:
        """Store ``obj`` under ``key`` if the key is absent; return the stored copy with its new
        ``resourceVersion``; watchers see ``ADDED``.

        Raises ``AlreadyExists`` if the key holds an object, ``InvalidObject`` if ``obj`` has no
        metadata or already carries a ``resourceVersion`` other than ``""``/``"0"`` (as the
        apiserver: a create is not an update).
        """
        ...

    def get(self, key: str) -> Any:
        """A copy of the object under ``key``. Raises ``NotFound``."""
        ...

    def update(self, key: str, obj: ObjT) -> ObjT:
        """Compare-and-swap: replace the object under ``key`` with ``obj`` if ``obj``'s
        ``metadata.resourceVersion`` is the stored one; return the stored copy with its new
        ``resourceVersion``; watchers see ``MODIFIED``.

        Raises ``NotFound`` if the key is empty and ``Conflict`` if the version differs (an
        empty version never matches). An update that changes nothing (``obj`` equals the stored
        object apart from ``resourceVersion``) writes nothing: no new revision, no event; the
        stored object is returned.
        """
        ...

    def guaranteed_update(self, key: str, fn: Callable[[Any], ObjT]) -> ObjT:
        """Read-modify-write with optimistic concurrency: call ``fn(current)`` on a private copy
        of the current object and store what it returns if the object did not change meanwhile;
        otherwise call ``fn`` again on the fresh state, until it succeeds. Returns the stored
        copy; watchers see ``MODIFIED``.

        ``fn`` may run several times and must not have side effects; the ``resourceVersion`` of
        what it returns is ignored. An exception from ``fn`` propagates and nothing is written.
        A result equal to the current object (apart from ``resourceVersion``) writes nothing.
        Raises ``NotFound`` if the key is (or becomes) empty, ``InvalidObject`` if ``fn``
        returns an object without metadata.
        """
        ...

    def delete(self, key: str, resource_version: str | None = None) -> Any:
        """Remove the object under ``key`` and return its last state stamped with the
        deletion's revision (the same object watchers see in ``DELETED``).

        ``resource_version`` (``None`` or ``""``: unconditional) is a precondition: if it is not
        the stored object's version, raises ``Conflict`` and deletes nothing. Raises
        ``NotFound`` if the key is empty.
        """
        ...

    def list(self, prefix: str = "", resource_version: str = "") -> ListResult:
        """Copies of every object whose key starts with ``prefix`` (a plain string prefix;
        ``""`` lists everything), sorted by key, and the current revision as the list's
        resource version.

        ``resource_version`` ``""``/``"0"`` reads the current state; ``"N"`` asks for a state not
        older than N, which the current state is, but raises ``TooLargeResourceVersion`` if N
        is newer than the current revision and ``ResourceExpired`` if N is older than the
        compaction point.
        """
        ...

    def watch(self, prefix: str = "", resource_version: str = "") -> Watch:
        """Watch the keys starting with ``prefix``.

        ``resource_version`` ``"N"``: every change made after revision N, in revision order
        (replayed from the history, then live), each event's object carrying the change's
        revision; ``""``/``"0"``: first a synthetic ``ADDED`` for every current object (sorted
        by key, each with its own version), then every later change.

        Raises ``TooLargeResourceVersion`` if N is newer than the current revision and
        ``ResourceExpired`` if it is older than the compaction point. A running watch whose
        next undelivered change is compacted away ends: its iteration raises ``ResourceExpired``.
        Events are buffered without bound per watch: a slow consumer never blocks writers.
        """
        ...

    def revision(self) -> int:
        """The current revision: that of the last write (a consistent read)."""
        ...

    def compact(self, revision: int | str) -> None:
        """Forget the history up to and including ``revision``: afterwards a resource version
        older than ``revision`` is expired (see :meth:`list`, :meth:`watch`), and every running
        watch with an undelivered change at or below ``revision`` ends with
        ``ResourceExpired``. Compacting at or below the current compaction point does nothing;
        a revision newer than the current one raises ``TooLargeResourceVersion``.
        """
        ...

"""Deltas: the change records a FIFO hands to its consumer (client-go's ``Delta``/``Deltas``)."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

__all__ = ["Delta", "DeltaType", "Deltas"]


class DeltaType(str, enum.Enum):
    """What happened to an object. A ``str`` enum whose values are client-go's spellings."""

    ADDED = "Added"
    """The object was created (a watch ADDED event, or ``add``)."""
    UPDATED = "Updated"
    """The object changed (a watch MODIFIED event, or ``update``)."""
    DELETED = "Deleted"
    """The object was deleted. The object may be a ``DeletedFinalStateUnknown`` tombstone."""
    REPLACED = "Replaced"
    """The object was listed by a relist (``replace``), on a FIFO that emits REPLACED."""
    SYNC = "Sync"
    """A periodic resync re-delivered the object, or a relist did on a FIFO without REPLACED."""

    def __str__(self) -> str:
        return self.value


class Delta(NamedTuple):
    """One change: its ``type`` and the ``object`` after it (the last state for a delete)."""

    type: DeltaType
    object: Any


class Deltas(list[Delta]):
    """The changes of one object, oldest first. Never empty when a FIFO delivers it."""

    __slots__ = ()

    def oldest(self) -> Delta | None:
        """The first delta, or None if there is none."""
        return self[0] if self else None

    def newest(self) -> Delta | None:
        """The last delta, or None if there is none."""
        return self[-1] if self else None

"""The one heap of delays: items each due at a time, earliest first, one entry per item.

:class:`~goprims.workqueue.delaying_queue.DelayingQueue` keeps its waiting items here, and so
does the backoff tier of :class:`goprims.scheduling.BackoffPriorityQueue`. It is a plain
:mod:`heapq` min-heap of ``(due, seq, item)`` tuples (``seq`` is unique, so items are never
compared) plus a dict from each item to its live tuple. Replacing or removing an item only
updates the dict: the old tuple stays in the heap, dead, until it reaches the top and is
dropped, or until dead tuples outnumber live ones and the heap is rebuilt.

Not thread-safe: the owner guards it with its own lock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["DelayHeap"]

T = TypeVar("T", bound=Hashable)

_Entry = tuple[float, int, Any]

# Rebuild the heap once it holds more than this many dead tuples and more dead than live ones.
_MIN_DEAD_TO_COMPACT = 64


class DelayHeap(Generic[T]):
    """Hashable items, each due at a time; the earliest first. See the module docstring."""

    __slots__ = ("_due", "_heap", "_seq")

    def __init__(self) -> None:
        # Min-heap of entries; the live ones are exactly the values of _due.
        self._heap: list[_Entry] = []
        # item -> its live entry. Invariant: an item is due at most once.
        self._due: dict[T, _Entry] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._due)

    def __bool__(self) -> bool:
        return bool(self._due)

    def __contains__(self, item: object) -> bool:
        return item in self._due

    def __iter__(self) -> Iterator[T]:
        """The items, in no particular order."""
        return iter(self._due)

    def due_at(self, item: T) -> float | None:
        """When ``item`` is due, or None if it is not here."""
        entry = self._due.get(item)
        return None if entry is None else entry[0]

    def push(self, item: T, due: float) -> None:
        """Make ``item`` due at ``due``, replacing the time it had (if any). Ties: FIFO."""
        entry = (due, next(self._seq), item)
        heapq.heappush(self._heap, entry)
        replaced = self._due.get(item) is not None
        self._due[item] = entry
        if replaced:
            self._compact_if_sparse()

    def remove(self, item: T) -> bool:
        """Take ``item`` out; True if it was here."""
        if self._due.pop(item, None) is None:
            return False
        self._compact_if_sparse()
        return True

    def earliest(self) -> float | None:
        """The earliest due time, or None when empty."""
        head = self._live_head()
        return None if head is None else head[0]

    def peek(self) -> tuple[T, float] | None:
        """The earliest item and its due time, left in place; None when empty."""
        head = self._live_head()
        return None if head is None else (head[2], head[0])

    def _live_head(self) -> _Entry | None:
        """The earliest live entry, after dropping the dead ones above it."""
        heap = self._heap
        due = self._due
        while heap:
            head = heap[0]
            if due.get(head[2]) is head:
                return head
            heapq.heappop(heap)  # dead
        return None

    def in_order(self) -> list[T]:
        """Every item, earliest first (ties in push order). O(n log n)."""
        return [entry[2] for entry in sorted(self._due.values())]

    def pop_due(self, now: float) -> list[T]:
        """Take out every item due at or before ``now``, earliest first."""
        heap = self._heap
        due = self._due
        out: list[T] = []
        while heap:
            head = heap[0]
            item = head[2]
            if due.get(item) is head:
                if head[0] > now:
                    break
                del due[item]
                out.append(item)
            heapq.heappop(heap)
        return out

    def clear(self) -> None:
        """Remove everything."""
        self._heap.clear()
        self._due.clear()

    def _compact_if_sparse(self) -> None:
        dead = len(self._heap) - len(self._due)
        if dead > _MIN_DEAD_TO_COMPACT and dead > len(self._due):
            self._heap = list(self._due.values())
            heapq.heapify(self._heap)

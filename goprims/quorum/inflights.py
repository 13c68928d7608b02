"""A sliding window of messages sent and not yet acknowledged, capped by count and (softly) by
bytes (etcd raft's ``tracker.Inflights``: how a raft leader limits what it has in flight to one
follower)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

__all__ = ["Inflights", "InflightsFull"]


class InflightsFull(RuntimeError):
    """:meth:`Inflights.add` was called while the window was :attr:`~Inflights.full` (etcd raft
    panics: "cannot add into a Full inflights"). Check ``full`` before sending."""


class Inflights:
    """The messages in flight, oldest first: each is the index of the last entry it carries and
    its size in bytes.

    * ``add(index, nbytes)`` records a sent message; indexes must not decrease while messages are
      in flight. Adding to a full window raises :class:`InflightsFull`.
    * ``free_le(index)`` releases every message whose index is ``<= index`` (an acknowledgement
      covers everything before it); an index below the oldest frees nothing.
    * ``full`` is true when ``count == size``, or when ``max_bytes`` is not 0 and ``bytes >=
      max_bytes``. The byte budget is **soft**: a message is accepted whenever the window is not
      full, even one that takes ``bytes`` past ``max_bytes`` (so a message larger than the budget
      can still be sent alone); after it, ``full`` is true until enough is freed.
    * ``size=0`` is a window that is always full.

    Not thread-safe (as upstream): it belongs to the one loop that sends to a follower.
    """

    __slots__ = ("_bytes", "_max_bytes", "_queue", "_size")

    def __init__(self, size: int, max_bytes: int = 0) -> None:
        for name, value in (("size", size), ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self._size = size
        self._max_bytes = max_bytes
        # Invariants: _queue holds (index, nbytes) oldest first with non-decreasing indexes,
        # len(_queue) <= _size, _bytes == sum of the nbytes in _queue.
        self._queue: deque[tuple[int, int]] = deque()
        self._bytes = 0

    def add(self, index: int, nbytes: int = 0) -> None:
        """Record a message whose last entry is ``index`` and whose size is ``nbytes``.

        Raises :class:`InflightsFull` when :attr:`full`; :class:`ValueError` for a negative
        ``index`` or ``nbytes``, or an ``index`` below the newest one in flight."""
        if self.full:
            raise InflightsFull(
                f"cannot add into a full inflights window "
                f"({len(self._queue)}/{self._size} messages, {self._bytes}/{self._max_bytes} bytes)"
            )
        if index < 0 or nbytes < 0:
            raise ValueError(f"index and nbytes must be >= 0, got {index}, {nbytes}")
        if self._queue and index < self._queue[-1][0]:
            raise ValueError(
                f"index {index} is below the newest index in flight {self._queue[-1][0]}"
            )
        self._queue.append((index, nbytes))
        self._bytes += nbytes

    def free_le(self, index: int) -> None:
        """Release every message whose index is ``<= index``, oldest first."""
        queue = self._queue
        freed = 0
        while queue and queue[0][0] <= index:
            freed += queue.popleft()[1]
        self._bytes -= freed

    def reset(self) -> None:
        """Release every message."""
        self._queue.clear()
        self._bytes = 0

    @property
    def full(self) -> bool:
        """True when no more messages may be added: ``count == size``, or the byte budget
        (``max_bytes``, when not 0) is reached or crossed."""
        return len(self._queue) >= self._size or (
            self._max_bytes != 0 and self._bytes >= self._max_bytes
        )

    @property
    def count(self) -> int:
        """The number of messages in flight."""
        return len(self._queue)

    @property
    def bytes(self) -> int:
        """The total size of the messages in flight."""
        return self._bytes

    @property
    def size(self) -> int:
        """The most messages that may be in flight."""
        return self._size

    @property
    def max_bytes(self) -> int:
        """The soft byte budget (0: none)."""
        return self._max_bytes

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """The messages in flight as ``(index, nbytes)``, oldest first."""
        return iter(tuple(self._queue))

    def __len__(self) -> int:
        return len(self._queue)

    def __repr__(self) -> str:
        return (
            f"Inflights(size={self._size}, max_bytes={self._max_bytes}, "
            f"count={len(self._queue)}, bytes={self._bytes})"
        )

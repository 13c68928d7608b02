"""The shape every frame reader shares: an iterator of ``bytes`` frames whose ``read_frame()``
can raise and be called again (the too-large-then-continue rule needs a reader that survives
its own exception, which a generator cannot)."""

from __future__ import annotations

import abc
from collections.abc import Iterator

__all__ = ["FrameReader"]


class FrameReader(abc.ABC, Iterator[bytes]):
    """An iterator of the frames of a binary stream.

    ``read_frame()`` returns the next frame, or ``None`` at the end of the stream; iterating
    gives the same frames and stops at the end. A reader built with ``max_bytes`` raises
    :class:`~goprims.framing.ObjectTooLarge` once for a frame longer than that, and the next
    call returns the frame after it (the oversized one is skipped, never kept in memory whole
    when its length is known early). A ``for`` loop ends on that exception; call
    ``read_frame()`` (or ``next()``) again to continue.
    """

    @abc.abstractmethod
    def read_frame(self) -> bytes | None:
        """The next frame, or ``None`` at the end of the stream."""

    def __iter__(self) -> FrameReader:
        return self

    def __next__(self) -> bytes:
        frame = self.read_frame()
        if frame is None:
            raise StopIteration
        return frame


class EndOfStream(EOFError):
    """The stream ended cleanly, between frames (a plain :class:`EOFError` means it ended
    inside one). Internal: callers see an :class:`EOFError`."""


def check_max_bytes(max_bytes: int | None) -> int | None:
    """Validate a ``max_bytes`` argument: ``None`` (no limit) or a positive int."""
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f"max_bytes must be an int or None, not {type(max_bytes).__name__}")
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    return max_bytes

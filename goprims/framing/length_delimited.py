"""Length-delimited frames (apimachinery's ``LengthDelimitedFrameReader/Writer``, the framing of
Kubernetes' protobuf streams): each frame is a 4-byte big-endian length, then that many bytes."""

from __future__ import annotations

from goprims.framing._io import CHUNK, Readable, Writable, read_exactly
from goprims.framing.errors import ObjectTooLarge
from goprims.framing.reader import FrameReader, check_max_bytes

__all__ = ["MAX_FRAME", "LengthDelimitedReader", "LengthDelimitedWriter", "iter_length_delimited"]

MAX_FRAME = 2**32 - 1
"""The longest frame a 4-byte length can announce."""


class LengthDelimitedReader(FrameReader):
    """The frames of a length-delimited stream (see :func:`iter_length_delimited`)."""

    def __init__(self, stream: Readable, *, max_bytes: int | None = None) -> None:
        self._stream = stream
        self._max_bytes = check_max_bytes(max_bytes)
        # Bytes of an oversized frame still to discard before the next header (the frame was
        # announced, reported as too large, and is skipped by the next call).
        self._skip = 0

    def read_frame(self) -> bytes | None:
        """The next frame; ``None`` at a clean end (between frames). A stream that ends inside a
        header or a frame raises :class:`EOFError` (Go's ``io.ErrUnexpectedEOF``); the call after
        that returns ``None``."""
        if self._skip:
            self._discard()
        header = read_exactly(self._stream, 4)
        if not header:
            return None
        if len(header) < 4:
            raise EOFError(f"stream ended inside a frame header ({len(header)} of 4 bytes)")
        size = int.from_bytes(header, "big")
        if self._max_bytes is not None and size > self._max_bytes:
            self._skip = size
            raise ObjectTooLarge(size, self._max_bytes)
        frame = read_exactly(self._stream, size)
        if len(frame) < size:
            raise EOFError(f"stream ended inside a frame ({len(frame)} of {size} bytes)")
        return frame

    def _discard(self) -> None:
        while self._skip:
            got = len(read_exactly(self._stream, min(self._skip, CHUNK)))
            if not got:
                self._skip = 0
                raise EOFError("stream ended inside an oversized frame")
            self._skip -= got


def iter_length_delimited(
    stream: Readable, *, max_bytes: int | None = None
) -> LengthDelimitedReader:
    """The frames of ``stream``: each a 4-byte big-endian length followed by that many bytes.

    An empty frame is a frame (``b""``). The iteration ends at a clean end of the stream; a
    stream that ends inside a header or a frame raises :class:`EOFError`. With ``max_bytes``, a
    longer frame raises :class:`~goprims.framing.ObjectTooLarge` once and is skipped (read and
    discarded in chunks) by the next call.
    """
    return LengthDelimitedReader(stream, max_bytes=max_bytes)


class LengthDelimitedWriter:
    """Writes length-delimited frames to ``stream`` (anything with ``write(bytes)``)."""

    def __init__(self, stream: Writable) -> None:
        self._stream = stream

    def write(self, frame: bytes) -> None:
        """Write ``frame`` with its 4-byte big-endian length in front, in one ``write`` call.
        A frame longer than :data:`MAX_FRAME` raises :class:`ValueError`; a ``str`` raises
        :class:`TypeError` (encode it first)."""
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise TypeError(f"a frame is bytes, not {type(frame).__name__}")
        data = bytes(frame)
        if len(data) > MAX_FRAME:
            raise ValueError(f"frame of {len(data)} bytes exceeds the 4-byte length limit")
        self._stream.write(len(data).to_bytes(4, "big") + data)

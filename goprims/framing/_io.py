"""What the frame readers need from a stream, and how they read from one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# How much a reader asks for at a time. With ``read1`` (any buffered binary stream, an
# ``http.client``/urllib3 response) a read returns what has arrived, up to this much, so a live
# stream's frames come out as soon as they are complete; with only ``read(n)`` a read may wait
# for ``n`` bytes, which is right for files and in-memory buffers.
CHUNK = 64 * 1024


class Readable(Protocol):
    """A binary stream: ``read(n)`` returns up to ``n`` bytes, ``b""`` at the end."""

    def read(self, n: int, /) -> bytes: ...


class Writable(Protocol):
    """A binary sink: ``write(data)`` writes all of ``data``."""

    def write(self, data: bytes, /) -> object: ...


def chunk_reader(stream: Readable) -> Callable[[], bytes]:
    """A function returning the stream's next chunk (``b""`` at the end): ``read1`` when the
    stream has it (returns what is available without waiting for a full chunk), else ``read``."""
    read1 = getattr(stream, "read1", None)
    if callable(read1):
        return lambda: read1(CHUNK)
    read = stream.read
    return lambda: read(CHUNK)


def read_exactly(stream: Readable, n: int) -> bytes:
    """Read ``n`` bytes, looping over short reads; fewer only when the stream ends first."""
    data = stream.read(n)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = stream.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)

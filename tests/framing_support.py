"""Streams for the framing tests: one that hands out bytes in chosen pieces, and a live pipe."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO


class Trickle:
    """A stream with only ``read(n)`` that returns at most the next piece's size per call
    (cycling through ``sizes``), so values straddle reads at chosen places."""

    def __init__(self, data: bytes, sizes: Sequence[int] = (1,)) -> None:
        self._data = data
        self._pos = 0
        self._sizes = list(sizes) or [1]
        self._turn = 0
        self.reads = 0

    def read(self, n: int) -> bytes:
        size = min(n, self._sizes[self._turn % len(self._sizes)])
        self._turn += 1
        self.reads += 1
        out = self._data[self._pos : self._pos + size]
        self._pos += len(out)
        return out


def stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


@contextmanager
def live_pipe() -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """A (reader, writer) pair over an OS pipe: the reader's ``read1`` returns what has been
    written so far, as an HTTP response body does, and blocks while nothing is there."""
    rfd, wfd = os.pipe()
    reader = open(rfd, "rb")  # noqa: SIM115 - closed below
    writer = open(wfd, "wb", buffering=0)  # noqa: SIM115
    try:
        yield reader, writer
    finally:
        if not writer.closed:
            writer.close()
        reader.close()


def read_in_thread(fn: object) -> tuple[threading.Thread, list[object], threading.Event]:
    """Run ``fn()`` on a thread; its result lands in the list and the event is set."""
    out: list[object] = []
    done = threading.Event()

    def run() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except BaseException as exc:  # the test inspects it
            out.append(exc)
        done.set()

    t = threading.Thread(target=run, name="framing-reader")
    t.start()
    return t, out, done

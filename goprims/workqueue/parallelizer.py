"""``parallelize_until``: client-go's ``workqueue.ParallelizeUntil`` (``parallelizer.go``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from goprims.sync import WaitGroup

__all__ = ["ContextLike", "parallelize_until"]


class ContextLike(Protocol):
    """What :func:`parallelize_until` needs from a context: a Go-style ``err()`` that is
    ``None`` until the context is cancelled or its deadline passes (:mod:`goprims.context`
    contexts qualify)."""

    def err(self) -> Any:
        """``None`` while the context is live."""
        ...


def parallelize_until(
    workers: int,
    pieces: int,
    fn: Callable[[int], object],
    *,
    chunk_size: int = 1,
    ctx: ContextLike | None = None,
) -> None:
    """Call ``fn(piece)`` for every ``piece`` in ``range(pieces)`` on up to ``workers`` threads.

    Pieces are grouped in chunks of ``chunk_size`` consecutive indices (``chunk_size < 1``
    means 1); workers take whole chunks in order, so at most ``min(workers,
    ceil(pieces / chunk_size))`` threads run: the calling thread and goroutines of the default
    pool (:func:`goprims.go`), as client-go starts goroutines under a ``WaitGroup``. Returns
    when every piece was processed, or once ``ctx`` is done: each worker checks ``ctx.err()``
    before each piece and stops if it is not ``None`` (pieces already running finish; the
    remaining ones are skipped silently, as in Go).

    An exception raised by ``fn`` stops the workers from starting further pieces and is
    re-raised here once every worker has stopped (client-go crashes the process instead); if
    several pieces raise, the first one wins. ``pieces == 0`` returns at once.
    ``workers < 1`` or ``pieces < 0`` raise :class:`ValueError`.
    """
    if workers < 1:
        raise ValueError(f"parallelize_until: workers must be >= 1, got {workers}")
    if pieces < 0:
        raise ValueError(f"parallelize_until: pieces must be >= 0, got {pieces}")
    if pieces == 0:
        return
    chunk_size = max(chunk_size, 1)
    chunks = -(-pieces // chunk_size)
    workers = min(workers, chunks)

    lock = threading.Lock()
    # Guarded by lock: the next chunk to hand out, and the first exception raised by fn.
    next_chunk = 0
    error: list[BaseException] = []

    def take() -> int:
        nonlocal next_chunk
        with lock:
            if error or next_chunk >= chunks:
                return -1
            c = next_chunk
            next_chunk += 1
            return c

    def work() -> None:
        try:
            while (chunk := take()) >= 0:
                start = chunk * chunk_size
                for p in range(start, min(start + chunk_size, pieces)):
                    if (ctx is not None and ctx.err() is not None) or error:
                        return
                    fn(p)
        except BaseException as exc:
            with lock:
                error.append(exc)

    wg = WaitGroup()  # the other workers run as goroutines on the default pool (goprims.go)
    for _ in range(1, workers):
        wg.go(work)
    try:
        work()
    finally:
        wg.wait()
    if error:
        raise error[0]

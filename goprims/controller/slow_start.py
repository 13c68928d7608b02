"""Slow-start batches (the ReplicaSet controller's ``slowStartBatch``).

A controller that must create 500 children should not fire 500 requests at once: if the first
one fails (a quota is exhausted, a webhook rejects the object), the other 499 fail the same way
and flood the API server and the event log. ``slow_start_batch`` issues the calls in concurrent
batches of growing size, 1, 2, 4, 8..., and stops after the first batch in which any call failed,
so a doomed sync costs about ``initial_batch_size`` calls, while a healthy one needs only
``log2(count)`` round trips.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Iterator

from goprims.pool import Pool, default_pool
from goprims.sync import WaitGroup

__all__ = ["async_slow_start_batch", "batch_sizes", "slow_start_batch"]


def batch_sizes(count: int, initial_batch_size: int = 1) -> Iterator[int]:
    """The batch sizes :func:`slow_start_batch` uses for ``count`` calls: ``k, 2k, 4k...`` (``k =
    initial_batch_size``), the last one cut to what remains. ``batch_sizes(10, 1)`` gives 1, 2, 4,
    3. Raises :class:`ValueError` for a negative ``count`` or an ``initial_batch_size`` below 1.
    """
    count = operator.index(count)
    size = operator.index(initial_batch_size)
    if count < 0:
        raise ValueError(f"slow_start_batch: count must be >= 0, not {count}")
    if size < 1:
        raise ValueError(f"slow_start_batch: initial_batch_size must be >= 1, not {size}")
    remaining = count
    size = min(size, remaining)
    while size > 0:
        yield size
        remaining -= size
        size = min(2 * size, remaining)


class _Batch:
    """One batch in flight: its calls report here, the caller waits on ``wg``."""

    __slots__ = ("errors", "fn", "lock", "wg")

    def __init__(self, fn: Callable[[], object], size: int) -> None:
        self.fn = fn
        self.wg = WaitGroup()
        self.wg.add(size)
        self.lock = threading.Lock()
        # (call index, exception) of every failed call; guarded by lock.
        self.errors: list[tuple[int, BaseException]] = []

    def call(self, index: int) -> None:
        try:
            self.fn()
        except BaseException as exc:  # the caller gets it back; the worker must survive
            with self.lock:
                self.errors.append((index, exc))
        finally:
            self.wg.done()

    def outcome(self, size: int) -> tuple[int, BaseException | None]:
        """(successes, the error of the lowest-numbered failed call, or None)."""
        if not self.errors:
            return size, None
        return size - len(self.errors), min(self.errors, key=lambda e: e[0])[1]


def slow_start_batch(
    count: int, initial_batch_size: int, fn: Callable[[], object], *, pool: Pool | None = None
) -> tuple[int, BaseException | None]:
    """Call ``fn()`` ``count`` times, in concurrent batches of ``k, 2k, 4k...`` calls
    (``k = initial_batch_size``; see :func:`batch_sizes`), on ``pool`` (default: the shared
    unlimited pool behind :func:`goprims.go`).

    Each batch runs all its calls at once and waits for all of them. After the first batch in
    which any call raised, no further batch starts. Returns ``(successes, error)``: how many
    calls returned normally, and the exception of the first failed call of that batch (by call
    order), or None if every call succeeded. ``count - successes`` calls either failed or never
    ran; a ReplicaSet-style controller lowers its expectations by the calls that never ran
    (they will produce no event).

    Blocks the calling thread (use :func:`async_slow_start_batch` from asyncio or trio). With a
    bounded ``pool`` a batch larger than the pool waits for workers; calling it from a worker of
    a full bounded pool raises :exc:`~goprims.pool.PoolOverload` (see :meth:`Pool.submit`).
    """
    submit = (default_pool() if pool is None else pool).go
    successes = 0
    done = 0
    for size in batch_sizes(count, initial_batch_size):
        batch = _Batch(fn, size)
        for i in range(size):
            submit(batch.call, done + i)
        batch.wg.wait()
        ok, err = batch.outcome(size)
        successes += ok
        done += size
        if err is not None:
            return successes, err
    return successes, None


async def async_slow_start_batch(
    count: int, initial_batch_size: int, fn: Callable[[], object], *, pool: Pool | None = None
) -> tuple[int, BaseException | None]:
    """:func:`slow_start_batch` for an asyncio or trio task: ``fn`` still runs on the pool's
    threads; the task waits for each batch without blocking its event loop. Cancelled while a
    batch runs, it raises the cancellation; the calls of that batch still finish on the pool and
    no further batch starts."""
    p = default_pool() if pool is None else pool
    successes = 0
    done = 0
    for size in batch_sizes(count, initial_batch_size):
        batch = _Batch(fn, size)
        for i in range(size):
            await p.async_go(batch.call, done + i)
        await batch.wg.async_wait()
        ok, err = batch.outcome(size)
        successes += ok
        done += size
        if err is not None:
            return successes, err
    return successes, None

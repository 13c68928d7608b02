"""goprims.pool against the stdlib: ``ThreadPoolExecutor`` and a plain ``threading.Thread``.

Each workload creates its executor and starts its threads *before* the clock starts (warm-up),
measures, then shuts the executor down outside the measured time.

* throughput: trivial tasks submitted by one thread to 8 workers, then every result collected.
  ``Pool(8)`` blocks the submitter while 8 tasks are in flight (no unbounded queue: the
  contract), whereas ``ThreadPoolExecutor`` queues without bound. The bounded-TPE row gives the
  anchor the same back-pressure (a semaphore of 8 released by a done-callback) to separate the
  cost of the semantics from the cost of the implementation.
* latency: one task at a time, submit then wait (``submit(...).result()``, or ``go()`` and a
  lock released by the task, against starting a ``threading.Thread`` per task).
* reclaim: how long idle workers live after a burst, against the origin's bound of 2 x expiry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from bench._harness import Comparison
from goprims.pool import Pool

_perf = time.perf_counter


def _noop() -> None:
    pass


def _warm(ex: Executor, n: int) -> None:
    """Make ``ex`` start ``n`` threads (n tasks held at a barrier together)."""
    barrier = threading.Barrier(n + 1)
    fs = [ex.submit(barrier.wait) for _ in range(n)]
    barrier.wait()
    for f in fs:
        f.result()


def bulk(make: Callable[[], Executor], n: int = 50_000, workers: int = 8) -> float:
    """Submit ``n`` trivial tasks from one thread, then wait for every result."""
    ex = make()
    try:
        _warm(ex, workers)
        submit = ex.submit
        t0 = _perf()
        fs = [submit(_noop) for _ in range(n)]
        for f in fs:
            f.result()
        return _perf() - t0
    finally:
        ex.shutdown(wait=True)


class BoundedTPE(ThreadPoolExecutor):
    """ThreadPoolExecutor whose submit blocks while ``max_workers`` tasks are in flight."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers)
        self._slots = threading.Semaphore(max_workers)
        self._free_slot: Callable[[Future[Any]], None] = lambda _: self._slots.release()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self._slots.acquire()
        f = super().submit(fn, *args, **kwargs)
        f.add_done_callback(self._free_slot)
        return f


def round_trips(make: Callable[[], Executor], n: int = 20_000) -> float:
    """``n`` times ``submit(noop).result()``: the latency of one task through the executor."""
    ex = make()
    try:
        _warm(ex, 1)
        submit = ex.submit
        t0 = _perf()
        for _ in range(n):
            submit(_noop).result()
        return _perf() - t0
    finally:
        ex.shutdown(wait=True)


def go_latency(n: int = 2000) -> float:
    """``n`` times ``Pool.go(fn)`` and wait until ``fn`` ran (fn releases a lock)."""
    pool = Pool(name="bench-go")
    done = threading.Lock()
    done.acquire()
    release = done.release
    try:
        pool.go(release)
        done.acquire()
        go = pool.go
        t0 = _perf()
        for _ in range(n):
            go(release)
            done.acquire()
        return _perf() - t0
    finally:
        pool.release()


def thread_latency(n: int = 2000) -> float:
    """``n`` times start a ``threading.Thread(target=fn)`` and wait until ``fn`` ran."""
    done = threading.Lock()
    done.acquire()
    release = done.release
    threads = []
    t0 = _perf()
    for _ in range(n):
        t = threading.Thread(target=release)
        t.start()
        done.acquire()
        threads.append(t)
    elapsed = _perf() - t0
    for t in threads:
        t.join()
    return elapsed


def reclaim_time(expiry: float = 0.2, burst: int = 16) -> float:
    """Seconds from the end of a burst of ``burst`` concurrent tasks until every worker ended.

    Measured by joining the worker threads (no polling).
    """
    pool = Pool(expiry=expiry, name="bench-reclaim")
    try:
        _warm(pool, burst)
        t0 = _perf()  # the burst's last task has finished: the workers are all idle
        threads = [t for t in threading.enumerate() if t.name.startswith("bench-reclaim-")]
        for t in threads:
            t.join()
        return _perf() - t0
    finally:
        pool.release()


def comparisons() -> list[Comparison]:
    """The pool rows of the benchmark report."""
    expiry = 0.2
    return [
        Comparison(
            area="pool",
            name="50k trivial tasks, submit all then result, 8 workers",
            anchor="ThreadPoolExecutor(8)",
            subject=lambda: bulk(lambda: Pool(8, name="bench-pool")),
            baseline=lambda: bulk(lambda: ThreadPoolExecutor(8)),
            goal=1.0,
            items=50_000,
        ),
        Comparison(
            area="pool",
            name="50k trivial tasks, submit blocks at 8 in flight",
            anchor="ThreadPoolExecutor(8) + Semaphore(8)",
            subject=lambda: bulk(lambda: Pool(8, name="bench-pool")),
            baseline=lambda: bulk(lambda: BoundedTPE(8)),
            items=50_000,
        ),
        Comparison(
            area="pool",
            name="20k x submit(noop).result(), 8 workers",
            anchor="ThreadPoolExecutor(8)",
            subject=lambda: round_trips(lambda: Pool(8, name="bench-pool")),
            baseline=lambda: round_trips(lambda: ThreadPoolExecutor(8)),
            items=20_000,
        ),
        Comparison(
            area="pool",
            name="go() latency, 2k x go(fn) and wait for fn",
            anchor="threading.Thread(target=fn).start()",
            subject=go_latency,
            baseline=thread_latency,
            items=2000,
        ),
        Comparison(
            area="pool",
            name=f"idle reclaim after a 16-task burst, expiry {expiry}s",
            anchor="2 x expiry (the origin's bound)",
            subject=lambda: reclaim_time(expiry),
            baseline=lambda: 2 * expiry,
            goal=1.0,
        ),
    ]

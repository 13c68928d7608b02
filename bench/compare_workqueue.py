"""goprims.workqueue against naive stdlib queues (``python -m bench --only workqueue``).

* add/get/done throughput, 1 producer and 4 worker threads: :class:`goprims.workqueue.Queue`
  against ``queue.Queue`` plus a de-duplication set under a lock (the usual hand-rolled
  "work queue", which does not even keep an item from two workers at once).
* ``add_after`` with 100k pending delays, then firing them all and draining: ``DelayingQueue``
  on a ``FakeClock`` against a ``heapq`` + dict under a lock feeding a ``queue.Queue``.

Each workload builds its objects and threads first and times only the measured part.
``bench/test_workqueue.py`` runs the same workloads, smaller.
"""

from __future__ import annotations

import heapq
import queue
import random
import threading
import time
from collections.abc import Hashable

from bench._harness import Comparison, time_with_threads
from goprims.clock import FakeClock
from goprims.workqueue import DelayingQueue, Queue

_perf = time.perf_counter
_STOP = object()


# ------------------------------------------------------------------ add/get/done throughput


def goprims_throughput(n: int = 100_000, workers: int = 4) -> float:
    """1 producer adds ``n`` distinct items, ``workers`` threads get and done them."""
    q: Queue[int] = Queue()

    def body() -> None:
        get, done = q.get, q.done
        while True:
            item, shutdown = get()
            if shutdown:
                return
            done(item)  # type: ignore[arg-type]  # an item (not shut down); no assert in the timed loop

    def produce() -> None:
        add = q.add
        for i in range(n):
            add(i)
        q.shut_down()

    return time_with_threads(workers, body, produce)


def naive_throughput(n: int = 100_000, workers: int = 4) -> float:
    """The same with ``queue.Queue`` and a pending set: de-duplicates queued items only."""
    q: queue.Queue[object] = queue.Queue()
    pending: set[Hashable] = set()
    lock = threading.Lock()

    def body() -> None:
        get = q.get
        while True:
            item = get()
            if item is _STOP:
                return
            with lock:
                pending.discard(item)  # taken: a later add queues it again

    def produce() -> None:
        put = q.put
        for i in range(n):
            with lock:
                if i in pending:
                    continue
                pending.add(i)
            put(i)
        for _ in range(workers):
            put(_STOP)

    return time_with_threads(workers, body, produce)


# ----------------------------------------------------------------------- add_after, 100k pending


def _delays(n: int) -> list[float]:
    rng = random.Random(42)
    return [rng.uniform(1.0, 600.0) for _ in range(n)]


def goprims_add_after(n: int = 100_000) -> float:
    """``n`` add_after calls with random delays, step the clock past all of them, drain."""
    delays = _delays(n)
    clock = FakeClock()
    q: DelayingQueue[int] = DelayingQueue(clock=clock)
    t0 = _perf()
    add_after = q.add_after
    for i, d in enumerate(delays):
        add_after(i, d)
    clock.step(601.0)
    get, done = q.get, q.done
    for _ in range(n):
        item, _ = get()
        done(item)  # type: ignore[arg-type]  # an item (not shut down); no assert in the timed loop
    return _perf() - t0


def naive_add_after(n: int = 100_000) -> float:
    """A heap of (ready, seq, item) and an earliest-time dict under a lock, fired into a
    ``queue.Queue`` (no timer, no metrics: the bookkeeping floor)."""
    delays = _delays(n)
    lock = threading.Lock()
    heap: list[tuple[float, int, int]] = []
    waiting: dict[int, float] = {}
    out: queue.Queue[int] = queue.Queue()
    now = 0.0
    t0 = _perf()
    for i, d in enumerate(delays):
        with lock:
            ready = now + d
            old = waiting.get(i)
            if old is not None and old <= ready:
                continue
            waiting[i] = ready
            heapq.heappush(heap, (ready, i, i))
    now = 601.0
    with lock:
        while heap and heap[0][0] <= now:
            ready, _, item = heapq.heappop(heap)
            if waiting.get(item) == ready:
                del waiting[item]
                out.put(item)
    get = out.get
    for _ in range(n):
        get()
    return _perf() - t0


def comparisons() -> list[Comparison]:
    """The workqueue rows of ``python -m bench``."""
    return [
        Comparison(
            "workqueue",
            "add/get/done 100k, 1 producer + 4 worker threads",
            "queue.Queue + dedup set",
            goprims_throughput,
            naive_throughput,
            goal=1.0,
            items=100_000,
        ),
        Comparison(
            "workqueue",
            "add_after 100k pending delays, fire, drain",
            "heapq + dict + queue.Queue",
            goprims_add_after,
            naive_add_after,
            items=100_000,
        ),
    ]

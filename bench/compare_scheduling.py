"""goprims.scheduling against what one would write by hand (``python -m bench --only scheduling``).

* ``BackoffPriorityQueue`` add + pop (+ done), single thread and 1 producer + 2 popper threads,
  against a ``heapq`` under a ``threading.Lock`` with a ``threading.Condition`` (no tiers, no
  keys, no in-flight tracking: the floor of a blocking priority queue).
* ``GenerationalMap.update_snapshot`` with 1 changed entry out of 10k, against a full
  ``copy.deepcopy`` of a dict of 10k entries (how a consistent snapshot is usually taken).

Each workload builds its objects and threads first and times only the measured part.
``bench/test_scheduling.py`` runs the same workloads, smaller.
"""

from __future__ import annotations

import copy
import heapq
import random
import threading
import time
from collections.abc import Callable

from bench._harness import Comparison, time_with_threads
from goprims.clock import FakeClock
from goprims.scheduling import BackoffPriorityQueue, GenerationalMap, Snapshot

_perf = time.perf_counter


def _priorities(n: int) -> list[int]:
    rng = random.Random(42)
    return [rng.randrange(1000) for _ in range(n)]


def _key(item: tuple[int, int]) -> int:
    return item[1]


def _less(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] > b[0]


def _neg_prio(a: tuple[int, int]) -> int:
    return -a[0]


def _new_queue(sort_key: bool) -> BackoffPriorityQueue[tuple[int, int]]:
    if sort_key:
        return BackoffPriorityQueue(_key, None, sort_key=_neg_prio, clock=FakeClock())
    return BackoffPriorityQueue(_key, _less, clock=FakeClock())


# ------------------------------------------------------------------------ queue, one thread


def goprims_add_pop(n: int = 50_000, sort_key: bool = False) -> float:
    """Add ``n`` items with random priorities, then pop (and done) them all."""
    prios = _priorities(n)
    q = _new_queue(sort_key)
    t0 = _perf()
    add = q.add
    for i, p in enumerate(prios):
        add((p, i))
    pop, done = q.pop, q.done
    for _ in range(n):
        done(pop())
    return _perf() - t0


class _CondHeap:
    """A blocking max-priority queue: heapq under a Lock with a Condition."""

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, tuple[int, int]]] = []
        self.cond = threading.Condition(threading.Lock())
        self.closed = False

    def add(self, item: tuple[int, int]) -> None:
        with self.cond:
            heapq.heappush(self.heap, (-item[0], item[1], item))
            self.cond.notify()

    def pop(self) -> tuple[int, int] | None:
        with self.cond:
            while not self.heap:
                if self.closed:
                    return None
                self.cond.wait()
            return heapq.heappop(self.heap)[2]

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


def heapq_add_pop(n: int = 50_000) -> float:
    prios = _priorities(n)
    q = _CondHeap()
    t0 = _perf()
    add = q.add
    for i, p in enumerate(prios):
        add((p, i))
    pop = q.pop
    for _ in range(n):
        pop()
    return _perf() - t0


# ------------------------------------------------------------- queue, 1 producer + 2 poppers


def _producer(
    q: BackoffPriorityQueue[tuple[int, int]] | _CondHeap, prios: list[int]
) -> Callable[[], None]:
    """The producer thread's part: add ``(priority, index)`` for each of ``prios``."""

    def produce() -> None:
        add = q.add
        for i, p in enumerate(prios):
            add((p, i))

    return produce


def goprims_threads(n: int = 50_000, poppers: int = 2, sort_key: bool = True) -> float:
    """1 producer adds ``n`` items; ``poppers`` threads pop and done them until closed."""
    prios = _priorities(n)
    q = _new_queue(sort_key)
    left = [n]
    lock = threading.Lock()

    def body() -> None:
        pop, done = q.pop, q.done
        while True:
            try:
                qi = pop()
            except Exception:  # QueueClosed
                return
            done(qi)
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    q.close()

    return time_with_threads(poppers, body, _producer(q, prios))


def heapq_threads(n: int = 50_000, poppers: int = 2) -> float:
    prios = _priorities(n)
    q = _CondHeap()
    left = [n]
    lock = threading.Lock()

    def body() -> None:
        pop = q.pop
        while True:
            if pop() is None:
                return
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    q.close()

    return time_with_threads(poppers, body, _producer(q, prios))


# ------------------------------------------------------------------------------ snapshots

_ENTRIES = 10_000
_ROUNDS = 20


def _worker(i: int) -> dict[str, object]:
    return {"name": f"w{i}", "free_cpu": 8, "free_mem": 32 << 30, "jobs": [f"j{i}"]}


def goprims_update_snapshot(entries: int = _ENTRIES, rounds: int = _ROUNDS) -> float:
    """``rounds`` times: change one entry of ``entries``, bring the snapshot up to date."""
    m: GenerationalMap[str, dict[str, object]] = GenerationalMap()
    for i in range(entries):
        m.set(f"w{i}", _worker(i))
    snap: Snapshot[str, dict[str, object]] = Snapshot()
    m.update_snapshot(snap)
    t0 = _perf()
    for r in range(rounds):
        m.mutate(f"w{r * 7 % entries}", lambda w: {**w, "free_cpu": 0})
        m.update_snapshot(snap)
    return _perf() - t0


def deepcopy_snapshot(entries: int = _ENTRIES, rounds: int = _ROUNDS) -> float:
    """The same with a dict under a lock and a full ``copy.deepcopy`` per snapshot."""
    data = {f"w{i}": _worker(i) for i in range(entries)}
    lock = threading.Lock()
    t0 = _perf()
    for r in range(rounds):
        with lock:
            key = f"w{r * 7 % entries}"
            data[key] = {**data[key], "free_cpu": 0}
            snap = copy.deepcopy(data)
    del snap
    return _perf() - t0


def comparisons() -> list[Comparison]:
    """The scheduling rows of ``python -m bench``."""
    return [
        Comparison(
            "scheduling",
            "BackoffPriorityQueue(less=) add+pop(+done) 50k, one thread",
            "heapq + Lock + Condition",
            goprims_add_pop,
            heapq_add_pop,
            items=50_000,
        ),
        Comparison(
            "scheduling",
            "BackoffPriorityQueue(sort_key=) add+pop(+done) 50k, one thread",
            "heapq + Lock + Condition",
            lambda: goprims_add_pop(sort_key=True),
            heapq_add_pop,
            items=50_000,
        ),
        Comparison(
            "scheduling",
            "BackoffPriorityQueue(sort_key=) add+pop(+done) 50k, 1 producer + 2 popper threads",
            "heapq + Lock + Condition",
            goprims_threads,
            heapq_threads,
            items=50_000,
        ),
        Comparison(
            "scheduling",
            "update_snapshot, 1 changed entry of 10k (x20)",
            "copy.deepcopy of 10k entries",
            goprims_update_snapshot,
            deepcopy_snapshot,
            goal=100.0,
            items=_ROUNDS,
        ),
    ]

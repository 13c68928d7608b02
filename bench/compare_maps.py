"""goprims.maps against the obvious alternative: a ``dict`` (guarded by a ``threading.Lock``).

Every workload is generated before the clock starts (keys and operation kinds are drawn from a
seeded RNG) and both sides replay the same operations. Threads are released together by a
barrier; the time runs from the release to the last join.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from bench._harness import Comparison
from goprims.maps import Map

N_KEYS = 1000


def _ops(n: int, store_ratio: float, seed: int) -> list[tuple[int, bool]]:
    rng = random.Random(seed)
    return [(rng.randrange(N_KEYS), rng.random() < store_ratio) for _ in range(n)]


def _threaded(n_threads: int, body: Callable[[int], None]) -> float:
    """Run ``body(i)`` in ``n_threads`` threads started together; return the elapsed seconds."""
    barrier = threading.Barrier(n_threads + 1)

    def run(i: int) -> None:
        barrier.wait()
        body(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def mixed_map(n_threads: int, per_thread: int, store_ratio: float) -> Callable[[], float]:
    plans = [_ops(per_thread, store_ratio, seed) for seed in range(n_threads)]

    def workload() -> float:
        m: Map[int, int] = Map({k: k for k in range(N_KEYS)})
        load, store = m.load, m.store

        def body(i: int) -> None:
            for k, is_store in plans[i]:
                if is_store:
                    store(k, k)
                else:
                    load(k)

        return _threaded(n_threads, body)

    return workload


def mixed_locked_dict(
    n_threads: int, per_thread: int, store_ratio: float, style: str = "with"
) -> Callable[[], float]:
    """The anchor: ``style`` "with" (``with lock:``), "acquire" (acquire/try/finally, the
    fastest way to hold a ``threading.Lock`` on CPython 3.11) or "bare" (no lock at all: single
    ``dict`` operations are atomic under the GIL, so this workload needs none there)."""
    plans = [_ops(per_thread, store_ratio, seed) for seed in range(n_threads)]

    def workload() -> float:
        d = {k: k for k in range(N_KEYS)}
        lock = threading.Lock()

        def body_with(i: int) -> None:
            get = d.get
            for k, is_store in plans[i]:
                if is_store:
                    with lock:
                        d[k] = k
                else:
                    with lock:
                        get(k)

        def body_acquire(i: int) -> None:
            get, acquire, release = d.get, lock.acquire, lock.release
            for k, is_store in plans[i]:
                if is_store:
                    acquire()
                    try:
                        d[k] = k
                    finally:
                        release()
                else:
                    acquire()
                    try:
                        get(k)
                    finally:
                        release()

        def body_bare(i: int) -> None:
            get = d.get
            for k, is_store in plans[i]:
                if is_store:
                    d[k] = k
                else:
                    get(k)

        body = {"with": body_with, "acquire": body_acquire, "bare": body_bare}[style]
        return _threaded(n_threads, body)

    return workload


def _load_hits(n: int, make: Callable[[], Callable[[int], object]]) -> Callable[[], float]:
    """A workload that times ``n`` hits of ``get = make()`` (made before the clock starts)."""
    keys = [k for k, _ in _ops(n, 0.0, 7)]

    def workload() -> float:
        get = make()
        t0 = time.perf_counter()
        for k in keys:
            get(k)
        return time.perf_counter() - t0

    return workload


def load_hit_map(n: int) -> Callable[[], float]:
    return _load_hits(n, lambda: Map({k: k for k in range(N_KEYS)}).load)


def load_hit_dict(n: int) -> Callable[[], float]:
    return _load_hits(n, lambda: {k: k for k in range(N_KEYS)}.get)


def load_hit_locked_dict(n: int) -> Callable[[], float]:
    keys = [k for k, _ in _ops(n, 0.0, 7)]

    def workload() -> float:
        d = {k: k for k in range(N_KEYS)}
        get = d.get
        lock = threading.Lock()
        t0 = time.perf_counter()
        for k in keys:
            with lock:
                get(k)
        return time.perf_counter() - t0

    return workload


def _visit(k: int, v: int) -> None:
    pass


def range_map(size: int, walks: int) -> Callable[[], float]:
    def workload() -> float:
        m: Map[int, int] = Map({k: k for k in range(size)})
        t0 = time.perf_counter()
        for _ in range(walks):
            m.range(_visit)
        return time.perf_counter() - t0

    return workload


def range_dict(size: int, walks: int) -> Callable[[], float]:
    def workload() -> float:
        d = {k: k for k in range(size)}
        t0 = time.perf_counter()
        for _ in range(walks):
            for k, v in d.items():
                _visit(k, v)
        return time.perf_counter() - t0

    return workload


def compute_map(n_threads: int, per_thread: int) -> Callable[[], float]:
    def workload() -> float:
        m: Map[int, int] = Map({k: 0 for k in range(N_KEYS)})
        compute = m.compute

        def incr(old: int | None, loaded: bool) -> tuple[int, int]:
            return (old or 0) + 1, 1

        def body(i: int) -> None:
            for j in range(per_thread):
                compute(j % N_KEYS, incr)

        return _threaded(n_threads, body)

    return workload


def update_locked_dict(n_threads: int, per_thread: int) -> Callable[[], float]:
    def workload() -> float:
        d = {k: 0 for k in range(N_KEYS)}
        lock = threading.Lock()

        def body(i: int) -> None:
            for j in range(per_thread):
                k = j % N_KEYS
                with lock:
                    d[k] = d.get(k, 0) + 1

        return _threaded(n_threads, body)

    return workload


def insert_then_load_map(n: int) -> Callable[[], float]:
    def workload() -> float:
        m: Map[int, int] = Map()
        t0 = time.perf_counter()
        for k in range(n):
            m.store(k, k)
            m.load(k)
        return time.perf_counter() - t0

    return workload


def insert_then_load_locked_dict(n: int) -> Callable[[], float]:
    def workload() -> float:
        d: dict[int, int] = {}
        lock = threading.Lock()
        t0 = time.perf_counter()
        for k in range(n):
            with lock:
                d[k] = k
            with lock:
                d.get(k)
        return time.perf_counter() - t0

    return workload


def comparisons() -> list[Comparison]:
    """The maps rows of ``python -m bench``."""
    per = 25_000
    return [
        Comparison(
            area="maps",
            name="8 threads, 90% load / 10% store, 1000 keys",
            anchor="dict + threading.Lock",
            subject=mixed_map(8, per, 0.1),
            baseline=mixed_locked_dict(8, per, 0.1),
            goal=1.0,
            items=8 * per,
        ),
        Comparison(
            area="maps",
            name="8 threads, 90% load / 10% store, 1000 keys",
            anchor="dict + Lock.acquire/try/finally",
            subject=mixed_map(8, per, 0.1),
            baseline=mixed_locked_dict(8, per, 0.1, style="acquire"),
            items=8 * per,
        ),
        Comparison(
            area="maps",
            name="8 threads, 90% load / 10% store, 1000 keys",
            anchor="bare dict, no lock (GIL-atomic get/set)",
            subject=mixed_map(8, per, 0.1),
            baseline=mixed_locked_dict(8, per, 0.1, style="bare"),
            items=8 * per,
        ),
        Comparison(
            area="maps",
            name="8 threads, 50% load / 50% store, 1000 keys",
            anchor="dict + threading.Lock",
            subject=mixed_map(8, per, 0.5),
            baseline=mixed_locked_dict(8, per, 0.5),
            items=8 * per,
        ),
        Comparison(
            area="maps",
            name="8 threads, 50% load / 50% store, 1000 keys",
            anchor="dict + Lock.acquire/try/finally",
            subject=mixed_map(8, per, 0.5),
            baseline=mixed_locked_dict(8, per, 0.5, style="acquire"),
            items=8 * per,
        ),
        Comparison(
            area="maps",
            name="8 threads, compute (read-modify-write), 1000 keys",
            anchor="dict + threading.Lock",
            subject=compute_map(8, per // 2),
            baseline=update_locked_dict(8, per // 2),
            items=8 * (per // 2),
        ),
        Comparison(
            area="maps",
            name="1 thread, load hit, 1000 keys",
            anchor="dict.get",
            subject=load_hit_map(200_000),
            baseline=load_hit_dict(200_000),
            items=200_000,
        ),
        Comparison(
            area="maps",
            name="1 thread, load hit, 1000 keys",
            anchor="dict.get under threading.Lock",
            subject=load_hit_map(200_000),
            baseline=load_hit_locked_dict(200_000),
            items=200_000,
        ),
        Comparison(
            area="maps",
            name="1 thread, range over 10k pairs",
            anchor="for k, v in dict.items()",
            subject=range_map(10_000, 10),
            baseline=range_dict(10_000, 10),
            items=100_000,
        ),
        Comparison(
            area="maps",
            name="1 thread, store a new key then load it, 50k keys",
            anchor="dict + threading.Lock",
            subject=insert_then_load_map(50_000),
            baseline=insert_then_load_locked_dict(50_000),
            items=50_000,
        ),
    ]

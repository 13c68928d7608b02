"""Parameter sweeps for the benchmark report (``python -m bench --report``).

Each sweep measures a goprims workload and its anchor side by side at several values of one
parameter, alternating subject and anchor within each repetition (as :mod:`bench._harness`
does), and keeps the median throughput and the spread of each point:

* ``capacity``: one producer thread, one consumer thread, 30k ints through ``Chan(cap)`` vs
  ``queue.Queue(cap)`` for cap in 1, 4, 16, 64, 256, 1024;
* ``producers``: 1, 2, 4, 8 producer threads and one consumer, 60k ints in all, ``Chan(128)``
  vs ``queue.Queue(128)``;
* ``pool``: ``Pool(8)`` vs ``ThreadPoolExecutor(8)``, one thread submits every task then waits
  for every result, for tasks of several sizes (a no-op, ~10 us and ~100 us of Python work, a
  1 ms sleep standing for I/O).

The workloads are self-contained (they do not import the ``compare_*`` modules), so the report's
plots keep their meaning when a comparison module changes.
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from goprims.chan import Chan
from goprims.pool import Pool

_perf = time.perf_counter

CAPACITIES = (1, 4, 16, 64, 256, 1024)
CAPACITY_ITEMS = 30_000
PRODUCERS = (1, 2, 4, 8)
PRODUCER_ITEMS = 60_000
PRODUCER_CAP = 128
POOL_WORKERS = 8


@dataclass
class Point:
    """One x value of a sweep: the seconds of every repetition, per series."""

    x: int | str
    items: int
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def rate(self, series: str) -> float:
        """Items per second at the median time."""
        return self.items / statistics.median(self.seconds[series])

    def rate_range(self, series: str) -> tuple[float, float]:
        """(slowest, fastest) items per second over the repetitions."""
        s = self.seconds[series]
        return self.items / max(s), self.items / min(s)

    def ratio(self, subject: str, anchor: str) -> float:
        """Median anchor time / median subject time: above 1 the subject is faster."""
        return statistics.median(self.seconds[anchor]) / statistics.median(self.seconds[subject])


@dataclass
class Sweep:
    """A sweep's description and its measured points."""

    key: str  # file-name friendly id: "capacity", "producers", "pool"
    title: str
    xlabel: str
    subject: str  # series label of goprims
    anchor: str  # series label of the anchor
    what: str  # one sentence: the workload
    points: list[Point] = field(default_factory=list)
    log_x: bool = False


Workload = Callable[[], float]


def _measure(
    sweep: Sweep, x: int | str, items: int, subject: Workload, anchor: Workload, reps: int
) -> None:
    subject()  # warm-up
    anchor()
    p = Point(x, items, {sweep.subject: [], sweep.anchor: []})
    for _ in range(reps):
        p.seconds[sweep.subject].append(subject())
        p.seconds[sweep.anchor].append(anchor())
    sweep.points.append(p)


# ------------------------------------------------------------------------------ channel sweeps


def _transfer(
    put: Callable[[int], object], get: Callable[[], int], producers: int, n: int
) -> float:
    """``producers`` threads send ``n`` ints in all through put; this thread gets them all.

    The clock starts when the producers' start gate opens and stops when the last item was
    received (and the sum checked), so thread start-up is not measured.
    """
    gate = threading.Event()
    share = n // producers

    def produce(lo: int) -> None:
        gate.wait()
        for i in range(lo, lo + share):
            put(i)

    threads = [threading.Thread(target=produce, args=(k * share,)) for k in range(producers)]
    for t in threads:
        t.start()
    total = share * producers
    t0 = _perf()
    gate.set()
    s = 0
    for _ in range(total):
        s += get()
    elapsed = _perf() - t0
    for t in threads:
        t.join()
    assert s == total * (total - 1) // 2, "lost or duplicated items"
    return elapsed


def chan_transfer(cap: int, producers: int, n: int) -> float:
    """:func:`_transfer` through ``Chan(cap)``."""
    ch: Chan[int] = Chan(cap)
    return _transfer(ch.send, ch.recv, producers, n)


def queue_transfer(cap: int, producers: int, n: int) -> float:
    """:func:`_transfer` through ``queue.Queue(cap)``."""
    q: queue.Queue[int] = queue.Queue(cap)
    return _transfer(q.put, q.get, producers, n)


def capacity_sweep(reps: int = 3) -> Sweep:
    """Throughput against channel capacity, one producer, one consumer."""
    sw = Sweep(
        "capacity",
        "Throughput vs channel capacity (1 producer thread, 1 consumer thread)",
        "capacity",
        "goprims Chan(cap)",
        "queue.Queue(cap)",
        f"{CAPACITY_ITEMS // 1000}k ints from one producer thread to one consumer thread",
        log_x=True,
    )
    n = CAPACITY_ITEMS
    for cap in CAPACITIES:
        _measure(
            sw,
            cap,
            n,
            lambda cap=cap: chan_transfer(cap, 1, n),  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
            lambda cap=cap: queue_transfer(cap, 1, n),  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
            reps,
        )
    return sw


def producers_sweep(reps: int = 3) -> Sweep:
    """Throughput against the number of producer threads, one consumer."""
    sw = Sweep(
        "producers",
        f"Throughput vs producer threads (1 consumer, capacity {PRODUCER_CAP})",
        "producer threads",
        f"goprims Chan({PRODUCER_CAP})",
        f"queue.Queue({PRODUCER_CAP})",
        f"{PRODUCER_ITEMS // 1000}k ints in all, split between the producers, one consumer",
    )
    n = PRODUCER_ITEMS
    for p in PRODUCERS:
        _measure(
            sw,
            p,
            n,
            lambda p=p: chan_transfer(PRODUCER_CAP, p, n),  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
            lambda p=p: queue_transfer(PRODUCER_CAP, p, n),  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
            reps,
        )
    return sw


# --------------------------------------------------------------------------------- pool sweep


def _noop() -> None:
    pass


def _work(loops: int) -> Callable[[], int]:
    def task() -> int:
        s = 0
        for i in range(loops):
            s += i
        return s

    return task


def _sleep_1ms() -> None:
    time.sleep(0.001)


def _calibrate(target_s: float) -> int:
    """Loop count of :func:`_work` that takes about ``target_s`` seconds on this machine."""
    loops = 1000
    task = _work(loops)
    best = min(_timed(task) for _ in range(20))
    return max(1, round(loops * target_s / best))


def _timed(fn: Callable[[], object]) -> float:
    t0 = _perf()
    fn()
    return _perf() - t0


def executor_throughput(make: Callable[[], Executor], task: Callable[[], object], n: int) -> float:
    """Submit ``n`` tasks from this thread, then wait for every result; workers started first."""
    ex = make()
    try:
        for warm in [ex.submit(_sleep_1ms) for _ in range(POOL_WORKERS)]:
            warm.result()  # start the workers
        submit = ex.submit
        t0 = _perf()
        fs = [submit(task) for _ in range(n)]
        for f in fs:
            f.result()
        return _perf() - t0
    finally:
        ex.shutdown(wait=True)


def pool_sweep(reps: int = 3) -> Sweep:
    """Task throughput of ``Pool(8)`` and ``ThreadPoolExecutor(8)`` for several task sizes."""
    w = POOL_WORKERS
    sw = Sweep(
        "pool",
        f"Pool({w}) vs ThreadPoolExecutor({w}): task throughput by task size",
        "task",
        f"goprims Pool({w})",
        f"ThreadPoolExecutor({w})",
        "one thread submits every task, then waits for every result",
    )
    tasks: list[tuple[str, Callable[[], object], int]] = [
        ("no-op", _noop, 20_000),
        ("~10 us Python", _work(_calibrate(10e-6)), 10_000),
        ("~100 us Python", _work(_calibrate(100e-6)), 2_000),
        ("1 ms sleep (I/O)", _sleep_1ms, 2_000),
    ]
    for label, task, n in tasks:
        _measure(
            sw,
            label,
            n,
            # mypy cannot infer a lambda with a default argument
            lambda task=task, n=n: executor_throughput(  # type: ignore[misc]
                lambda: Pool(w, name="bench-sweep"), task, n
            ),
            lambda task=task, n=n: executor_throughput(  # type: ignore[misc]
                lambda: ThreadPoolExecutor(w), task, n
            ),
            reps,
        )
    return sw


def run_sweeps(reps: int = 3, progress: Callable[[str], object] | None = None) -> list[Sweep]:
    """Every sweep of the report, in order."""
    out = []
    for fn in (capacity_sweep, producers_sweep, pool_sweep):
        sw = fn(reps)
        out.append(sw)
        if progress is not None:
            for p in sw.points:
                progress(
                    f"  sweep {sw.key}: {p.x}: {sw.subject} {p.rate(sw.subject):,.0f}/s, "
                    f"{sw.anchor} {p.rate(sw.anchor):,.0f}/s, "
                    f"ratio {p.ratio(sw.subject, sw.anchor):.2f}x"
                )
    return out

"""goprims.sync against the stdlib: Barrier, Semaphore, Once (``python -m bench --only sync``).

Each workload builds its objects and threads first, then times only the measured part (threads
are released by a start gate). ``bench/test_sync.py`` runs the same workloads, smaller.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bench._harness import Comparison
from goprims.sync import Barrier, Once, Semaphore, once_value

_perf = time.perf_counter


def _timed_threads(n: int, body: Callable[[], None]) -> float:
    """Run ``body`` in ``n`` threads released together; seconds from release to last join."""
    gate = threading.Barrier(n + 1)

    def run() -> None:
        gate.wait()
        body()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = _perf()
    for t in threads:
        t.join()
    return _perf() - t0


# ----------------------------------------------------------------------------------------- Barrier


def barrier_rounds(make: Callable[[int], Any], parties: int = 4, rounds: int = 2000) -> float:
    """``parties`` threads pass ``rounds`` rounds of one barrier made by ``make(parties)``."""
    b = make(parties)

    def body() -> None:
        wait = b.wait
        for _ in range(rounds):
            wait()

    return _timed_threads(parties, body)


# --------------------------------------------------------------------------------------- Semaphore


def semaphore_uncontended(make: Callable[[int], Any], n: int = 200_000) -> float:
    """One thread: ``n`` acquire/release pairs on a free semaphore."""
    s = make(4)
    acquire, release = s.acquire, s.release
    t0 = _perf()
    for _ in range(n):
        acquire()
        release()
    return _perf() - t0


def semaphore_contended(
    make: Callable[[int], Any], threads: int = 4, size: int = 2, n: int = 20_000
) -> float:
    """``threads`` threads each do ``n`` acquire/release pairs on a semaphore of ``size``."""
    s = make(size)

    def body() -> None:
        acquire, release = s.acquire, s.release
        for _ in range(n):
            acquire()
            release()

    return _timed_threads(threads, body)


# -------------------------------------------------------------------------------------------- Once


def _noop() -> None:
    pass


def _do_fast_path(once: Any, n: int) -> float:
    """``n`` calls of ``once.do`` after it has run (the fast path)."""
    once.do(_noop)
    do = once.do
    t0 = _perf()
    for _ in range(n):
        do(_noop)
    return _perf() - t0


def once_fast_path(n: int = 500_000) -> float:
    """``n`` calls of ``Once.do`` after it has run."""
    return _do_fast_path(Once(), n)


class LockedFlagOnce:
    """The usual hand-written run-once: a lock-guarded flag (the anchor)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False

    def do(self, fn: Callable[[], object]) -> None:
        with self._lock:
            if not self._done:
                try:
                    fn()
                finally:
                    self._done = True


def locked_flag_fast_path(n: int = 500_000) -> float:
    """``n`` calls of the lock-guarded flag after it has run."""
    return _do_fast_path(LockedFlagOnce(), n)


class LockedValue:
    """The usual hand-written cached value: lock, test, compute once (the anchor)."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self._lock = threading.Lock()
        self._fn = fn
        self._set = False
        self._value: object = None

    def __call__(self) -> object:
        with self._lock:
            if not self._set:
                self._value = self._fn()
                self._set = True
            return self._value


def value_fast_path(make: Callable[[Callable[[], object]], Callable[[], object]], n: int) -> float:
    """``n`` calls of a run-once cached value after the first."""
    get = make(lambda: 42)
    get()
    t0 = _perf()
    for _ in range(n):
        get()
    return _perf() - t0


def comparisons() -> list[Comparison]:
    """The sync rows of the benchmark report."""
    return [
        Comparison(
            area="sync",
            name="Barrier round trip, 4 threads x 2000 rounds",
            anchor="threading.Barrier(4)",
            subject=lambda: barrier_rounds(Barrier),
            baseline=lambda: barrier_rounds(threading.Barrier),
            goal=1.0,
            items=2000,
        ),
        Comparison(
            area="sync",
            name="Semaphore acquire+release, 1 thread, 200k",
            anchor="threading.Semaphore",
            subject=lambda: semaphore_uncontended(Semaphore),
            baseline=lambda: semaphore_uncontended(threading.Semaphore),
            goal=1.0,
            items=200_000,
        ),
        Comparison(
            area="sync",
            # Reported, not a goal: once a queue forms, strict FIFO hands each released unit to
            # the queue head (one thread switch per acquire, a lock convoy), where the anchor
            # lets the releasing thread barge. The ratio swings with scheduling (0.8x - 4x).
            name="Semaphore(2) acquire+release, 4 threads x 20k (FIFO vs barging)",
            anchor="threading.Semaphore(2)",
            subject=lambda: semaphore_contended(Semaphore),
            baseline=lambda: semaphore_contended(threading.Semaphore),
            items=80_000,
        ),
        Comparison(
            area="sync",
            name="Once.do fast path, 500k calls",
            anchor="lock-guarded flag",
            subject=once_fast_path,
            baseline=locked_flag_fast_path,
            items=500_000,
        ),
        Comparison(
            area="sync",
            name="once_value fast path, 500k calls",
            anchor="lock-guarded cached value",
            subject=lambda: value_fast_path(once_value, 500_000),
            baseline=lambda: value_fast_path(LockedValue, 500_000),
            items=500_000,
        ),
    ]

"""The comparison harness behind ``python -m bench``.

A :class:`Comparison` pairs a goprims workload with an anchor workload (``queue.Queue``,
``ThreadPoolExecutor``, ...). Each workload is a zero-argument callable that runs the whole
workload once and returns the elapsed seconds it measured itself (so set-up is excluded).
The harness runs subject and anchor alternately ``reps`` times in the same process and reports
``ratio = median(anchor seconds) / median(subject seconds)``: above 1.0 goprims is faster; the
``spread`` is the lowest and highest ratio of a single repetition (subject and anchor run
back to back), a cheap measure of how noisy the row was.
Ratios, never absolute times, are what the project tracks: absolute numbers move with the machine.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Comparison:
    """One row of the report."""

    area: str  # "chan", "sync", "pool", ...
    name: str  # what is measured, e.g. "thread SPSC 200k, cap 128"
    anchor: str  # what goprims is compared with, e.g. "queue.Queue(128)"
    subject: Callable[[], float]
    baseline: Callable[[], float]
    goal: float | None = None  # the target ratio, None = reported only
    items: int | None = None  # work items per run, to print a rate


@dataclass
class Result:
    """Measured medians and the ratio for one comparison."""

    cmp: Comparison
    subject_s: list[float] = field(default_factory=list)
    anchor_s: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.anchor_s) / statistics.median(self.subject_s)

    @property
    def meets_goal(self) -> bool | None:
        return None if self.cmp.goal is None else self.ratio >= self.cmp.goal

    @property
    def paired_ratios(self) -> list[float]:
        """``anchor / subject`` of each repetition (the two runs of a repetition are adjacent)."""
        return [a / s for a, s in zip(self.anchor_s, self.subject_s, strict=True)]

    @property
    def spread(self) -> tuple[float, float]:
        """(lowest, highest) paired ratio: how much the ratio moved between repetitions."""
        r = self.paired_ratios
        return min(r), max(r)

    @property
    def subject_rate(self) -> float | None:
        """goprims items per second at the median time (None without ``items``)."""
        if self.cmp.items is None:
            return None
        return self.cmp.items / statistics.median(self.subject_s)

    @property
    def anchor_rate(self) -> float | None:
        """Anchor items per second at the median time (None without ``items``)."""
        if self.cmp.items is None:
            return None
        return self.cmp.items / statistics.median(self.anchor_s)


def run(cmp: Comparison, reps: int = 5) -> Result:
    """Measure subject and anchor alternately ``reps`` times (after one warm-up of each).

    A full garbage collection first, so that what earlier comparisons left for the cyclic
    collector is not scanned inside this one's timings.
    """
    gc.collect()
    cmp.subject()
    cmp.baseline()
    res = Result(cmp)
    for _ in range(reps):
        res.subject_s.append(cmp.subject())
        res.anchor_s.append(cmp.baseline())
    return res


def time_with_threads(threads: int, body: Callable[[], None], produce: Callable[[], None]) -> float:
    """A workload's timed part: start ``threads`` threads running ``body`` (untimed), then time
    ``produce()`` in the calling thread until every thread has ended; seconds."""
    workers = [threading.Thread(target=body) for _ in range(threads)]
    for t in workers:
        t.start()
    t0 = time.perf_counter()
    produce()
    for t in workers:
        t.join()
    return time.perf_counter() - t0

"""pytest-benchmark runs of the pool workloads (``--benchmark-disable`` runs each once, as a smoke
test in the suite). Ratios against the stdlib come from ``python -m bench --only pool``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import pytest

from bench.compare_pool import bulk, go_latency, reclaim_time, round_trips, thread_latency
from goprims.pool import Pool

EXECUTORS: list[Callable[[], Executor]] = [
    lambda: Pool(8, name="bench-pool"),
    lambda: ThreadPoolExecutor(8),
]
IDS = ["goprims.Pool(8)", "ThreadPoolExecutor(8)"]


@pytest.mark.parametrize("make", EXECUTORS, ids=IDS)
def test_bench_bulk_submit_then_result_5k(benchmark: Any, make: Callable[[], Executor]) -> None:
    benchmark(bulk, make, 5000)


@pytest.mark.parametrize("make", EXECUTORS, ids=IDS)
def test_bench_submit_result_round_trip_2k(benchmark: Any, make: Callable[[], Executor]) -> None:
    benchmark(round_trips, make, 2000)


def test_bench_go_latency_500(benchmark: Any) -> None:
    benchmark(go_latency, 500)


def test_bench_thread_start_latency_500(benchmark: Any) -> None:
    benchmark(thread_latency, 500)


def test_bench_idle_reclaim_after_burst(benchmark: Any) -> None:
    expiry = 0.05
    seconds = benchmark.pedantic(reclaim_time, args=(expiry, 8), rounds=1, iterations=1)
    assert expiry * 0.9 <= seconds < 2 * expiry + 1.0

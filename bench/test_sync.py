"""pytest-benchmark runs of the sync workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Ratios against the stdlib come from ``python -m bench --only sync``."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bench.compare_sync import (
    barrier_rounds,
    locked_flag_fast_path,
    once_fast_path,
    semaphore_contended,
    semaphore_uncontended,
    value_fast_path,
)
from goprims.context import background, with_cancel
from goprims.sync import Barrier, Semaphore, once_value


@pytest.mark.parametrize("impl", [Barrier, threading.Barrier], ids=["goprims", "threading"])
def test_bench_barrier_round_trip_4_threads(benchmark: Any, impl: Any) -> None:
    benchmark(barrier_rounds, impl, 4, 300)


@pytest.mark.parametrize("impl", [Semaphore, threading.Semaphore], ids=["goprims", "threading"])
def test_bench_semaphore_uncontended(benchmark: Any, impl: Any) -> None:
    benchmark(semaphore_uncontended, impl, 20_000)


@pytest.mark.parametrize("impl", [Semaphore, threading.Semaphore], ids=["goprims", "threading"])
def test_bench_semaphore_contended_4_threads(benchmark: Any, impl: Any) -> None:
    benchmark(semaphore_contended, impl, 4, 2, 2_000)


def test_bench_once_fast_path(benchmark: Any) -> None:
    benchmark(once_fast_path, 50_000)


def test_bench_locked_flag_fast_path(benchmark: Any) -> None:
    benchmark(locked_flag_fast_path, 50_000)


def test_bench_once_value_fast_path(benchmark: Any) -> None:
    benchmark(value_fast_path, once_value, 50_000)


def _context_tree(n: int) -> None:
    root, cancel = with_cancel(background())
    for _ in range(n):
        with_cancel(root)
    cancel()


def test_bench_context_derive_and_cancel_tree(benchmark: Any) -> None:
    benchmark(_context_tree, 2_000)

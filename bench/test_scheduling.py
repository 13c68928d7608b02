"""pytest-benchmark runs of the scheduling workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Ratios against the hand-written anchors come from
``python -m bench --only scheduling``."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare_scheduling import (
    deepcopy_snapshot,
    goprims_add_pop,
    goprims_threads,
    goprims_update_snapshot,
    heapq_add_pop,
    heapq_threads,
)


@pytest.mark.parametrize(
    "impl",
    [goprims_add_pop, lambda n: goprims_add_pop(n, sort_key=True), heapq_add_pop],
    ids=["goprims-less", "goprims-sort_key", "heapq"],
)
def test_bench_add_pop_one_thread(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 5_000)


@pytest.mark.parametrize("impl", [goprims_threads, heapq_threads], ids=["goprims", "heapq"])
def test_bench_add_pop_1_producer_2_poppers(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 5_000, 2)


@pytest.mark.parametrize(
    "impl", [goprims_update_snapshot, deepcopy_snapshot], ids=["goprims", "deepcopy"]
)
def test_bench_snapshot_one_changed_of_10k(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 1_000, 3)

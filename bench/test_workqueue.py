"""pytest-benchmark runs of the workqueue workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Ratios against the naive anchors come from
``python -m bench --only workqueue``."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare_workqueue import (
    goprims_add_after,
    goprims_throughput,
    naive_add_after,
    naive_throughput,
)


@pytest.mark.parametrize(
    "impl", [goprims_throughput, naive_throughput], ids=["goprims", "queue.Queue+set"]
)
def test_bench_add_get_done_1_producer_4_workers(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 10_000, 4)


@pytest.mark.parametrize(
    "impl", [goprims_add_after, naive_add_after], ids=["goprims", "heapq+dict"]
)
def test_bench_add_after_pending_delays(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 10_000)

"""pytest-benchmark runs of the controller workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Ratios against the hand-written anchors come from
``python -m bench --only controller``."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare_controller import (
    goprims_claim,
    goprims_observe,
    goprims_timed_queue,
    naive_claim,
    naive_observe,
    naive_timed_queue,
)


@pytest.mark.parametrize("impl", [goprims_observe, naive_observe], ids=["goprims", "dict+Lock"])
def test_bench_expectations_observe_8_threads(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 8_000, 8)


@pytest.mark.parametrize("impl", [goprims_claim, naive_claim], ids=["goprims", "inline"])
def test_bench_claim_objects(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 2_000)


@pytest.mark.parametrize(
    "impl", [goprims_timed_queue, naive_timed_queue], ids=["goprims", "heapq+set+Lock"]
)
def test_bench_timed_queue_add_and_process(benchmark: Any, impl: Any) -> None:
    benchmark(impl, 2_000)

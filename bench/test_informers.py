"""pytest-benchmark runs of the informer workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Figures come from ``python -m bench --only informers``."""

from __future__ import annotations

from typing import Any

from bench.compare_informers import bytes_per_object, events_per_s, sync_seconds


def test_bench_informer_sync(benchmark: Any) -> None:
    benchmark(sync_seconds, 2_000)


def test_bench_informer_event_throughput(benchmark: Any) -> None:
    benchmark(events_per_s, 2_000)


def test_bench_informer_memory_per_object(benchmark: Any) -> None:
    assert benchmark(bytes_per_object, 1_000) > 0

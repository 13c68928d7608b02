"""pytest-benchmark runs of the MemoryStorage workloads (``--benchmark-disable`` runs each once,
as a smoke test in the suite). Figures come from ``python -m bench --only storage``."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare_storage import buffered_writes, contended_guaranteed_updates, writes


@pytest.mark.parametrize("watchers", [0, 3])
def test_bench_memory_storage_writes(benchmark: Any, watchers: int) -> None:
    benchmark(writes, 2_000, watchers)


def test_bench_memory_storage_writes_with_3_buffering_watchers(benchmark: Any) -> None:
    benchmark(buffered_writes, 2_000, 3)


def test_bench_memory_storage_guaranteed_update_8_threads(benchmark: Any) -> None:
    benchmark(contended_guaranteed_updates, 8, 200)

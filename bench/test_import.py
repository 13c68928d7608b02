"""pytest-benchmark runs of the import workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). The comparison comes from ``python -m bench --only import``."""

from __future__ import annotations

from typing import Any

from bench.compare_import import import_futures, import_goprims


def test_bench_import_goprims_process(benchmark: Any) -> None:
    benchmark(import_goprims)


def test_bench_import_concurrent_futures_process(benchmark: Any) -> None:
    benchmark(import_futures)

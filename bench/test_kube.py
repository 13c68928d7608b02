"""pytest-benchmark runs of the HTTP informer workloads (``--benchmark-disable`` runs each once,
as a smoke test in the suite). Ratios come from ``python -m bench --only kube``."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare_kube import events_seconds, sync_seconds

pytest.importorskip("kubernetes")


@pytest.mark.parametrize("path", ["direct", "watch-list", "list"])
def test_bench_kube_informer_sync(benchmark: Any, path: str) -> None:
    benchmark(sync_seconds, 500, path)


@pytest.mark.parametrize("path", ["direct", "watch-list"])
def test_bench_kube_informer_events(benchmark: Any, path: str) -> None:
    benchmark(events_seconds, 500, path)

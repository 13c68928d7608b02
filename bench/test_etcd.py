"""pytest-benchmark runs of the EtcdStorage workloads against a real etcd (``--benchmark-disable``
runs each once, as a smoke test in the suite). Skipped, with the reason, only when the etcd binary
cannot run here. The reported figures (10,000-object list included) come from
``python -m bench --only etcd`` (:func:`bench.compare_etcd.figures`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.compare_etcd import (
    creates,
    informer_sync_seconds,
    list_seconds,
    seeded,
    updates,
    watch_latencies,
)
from goprims.storage.etcd import EtcdStorage

pytestmark = pytest.mark.etcd

LIST_N = 2_000  # kept small so the suite's smoke run stays fast; figures() lists 10,000


@pytest.fixture(scope="module")
def endpoints() -> Iterator[list[str]]:
    from tests.etcd_server import EtcdCluster, require_etcd

    require_etcd()
    with EtcdCluster(1) as cluster:
        yield cluster.endpoints


@pytest.fixture(scope="module")
def listed(endpoints: list[str]) -> Iterator[EtcdStorage]:
    with seeded(endpoints, LIST_N) as s:
        yield s


def test_bench_etcd_creates(benchmark: Any, endpoints: list[str]) -> None:
    benchmark(creates, endpoints, 300)


def test_bench_etcd_creates_8_threads(benchmark: Any, endpoints: list[str]) -> None:
    benchmark(creates, endpoints, 300, 8)


def test_bench_etcd_cas_updates(benchmark: Any, endpoints: list[str]) -> None:
    benchmark(updates, endpoints, 300)


def test_bench_etcd_watch_latency(benchmark: Any, endpoints: list[str]) -> None:
    lat = benchmark(watch_latencies, endpoints, 100)
    assert len(lat) == 100
    assert min(lat) > 0


def test_bench_etcd_list(benchmark: Any, listed: EtcdStorage) -> None:
    benchmark(list_seconds, listed, LIST_N)


def test_bench_etcd_informer_initial_sync(benchmark: Any, listed: EtcdStorage) -> None:
    benchmark(informer_sync_seconds, listed)

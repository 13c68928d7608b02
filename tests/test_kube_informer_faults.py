"""The informer fault-injection suite of tests/test_informer_faults.py, through HTTP: a
SharedIndexInformer over KubeListWatch against the embedded API server on a MemoryStorage.
Dropped streams (the watch's connection shut down mid-stream), injected list failures and
expiry, real compaction (410 ERROR events from the server) and relists; the informer's cache
and each handler's view end equal to the storage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from test_informer_faults import FlakyLW, converge_under_faults

from goprims.kube import APIServer, KubeListWatch
from goprims.storage import EtcdStorage, MemoryStorage

kubernetes = pytest.importorskip("kubernetes")
pytest_plugins = ["etcd_server"]

RESOURCE = "example.com/v1/widgets"
PREFIX = "/registry/example.com/widgets/"
TYPE_META = {"apiVersion": "example.com/v1", "kind": "Widget"}


class FlakyWatchListLW(FlakyLW):
    """FlakyLW plus the watch-list mode, its watches as flaky as the others."""

    def watch_list(self, resource_version: str) -> Any:
        return self.flaky_watch(
            self.inner.watch_list, resource_version, "injected watch-list expiry"
        )


@pytest.fixture(params=["memory", pytest.param("etcd", marks=pytest.mark.etcd)])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[Any, int]]:
    """(the storage, how many changes to churn): etcd writes are round trips, so fewer."""
    if request.param == "memory":
        yield MemoryStorage(), 10_000
        return
    cluster = request.getfixturevalue("etcd_server")
    storage = EtcdStorage(cluster.endpoints, f"/kube-informer/{uuid.uuid4().hex}/")
    try:
        yield storage, 2_000
    finally:
        storage.close()


@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list+watch"])
def test_informer_over_http_converges_exactly_under_injected_faults(
    backend: tuple[Any, int], watch_list: bool
) -> None:
    storage, changes = backend
    with APIServer(storage, [RESOURCE], watch_list=watch_list) as srv:
        client = kubernetes.config.new_client_from_config(srv.kubeconfig())
        inner = KubeListWatch(client, RESOURCE, page_size=40)
        flaky = FlakyWatchListLW if watch_list else FlakyLW
        lw = flaky(storage, seed=7, inner=inner)
        try:
            converge_under_faults(
                storage, lw, changes, writer_timeout=120, prefix=PREFIX, type_meta=TYPE_META
            )
        finally:
            client.close()

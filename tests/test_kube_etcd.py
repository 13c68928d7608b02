"""The embedded API server on EtcdStorage: kubectl, pagination, watches and 410 after a real
etcd compaction (the server uses only the Storage protocol, so etcd serves like memory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_support import CM, RESOURCES, call, cm, watching
from test_kube_kubectl import Kubectl, needs_kubectl

from goprims.kube import APIServer
from goprims.storage import EtcdStorage

pytest_plugins = ["etcd_server"]
pytestmark = pytest.mark.etcd


@pytest.fixture
def etcd_api(etcd_server) -> Iterator[tuple[APIServer, EtcdStorage]]:
    storage = EtcdStorage(etcd_server.endpoints, f"/kube-etcd/{uuid.uuid4().hex}/")
    try:
        with APIServer(storage, RESOURCES) as srv:
            yield srv, storage
    finally:
        storage.close()


@needs_kubectl
def test_kubectl_on_an_etcd_backed_server(etcd_api, tmp_path: Path) -> None:
    srv, storage = etcd_api
    k = Kubectl(srv, tmp_path)
    path = k.manifest("cm.json", cm("one", a="1"))
    assert "created" in k("apply", "-f", path).stdout
    path = k.manifest("cm.json", cm("one", a="2"))
    assert "configured" in k("apply", "-f", path).stdout
    assert k.json("get", "cm", "one")["data"] == {"a": "2"}
    assert storage.get("/registry/configmaps/default/one")["data"] == {"a": "2"}
    assert "deleted" in k("delete", "cm", "one").stdout
    assert "NotFound" in k("get", "cm", "one", check=False).stderr


def test_pages_and_watch_on_etcd(etcd_api) -> None:
    srv, storage = etcd_api
    for i in range(25):
        call(srv, "POST", CM, cm(f"c{i:02d}"))
    names: list[str] = []
    token = ""
    while True:
        _, page, _ = call(srv, "GET", f"{CM}?limit=10" + (f"&continue={token}" if token else ""))
        names += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == [f"c{i:02d}" for i in range(25)]
    rv = page["metadata"]["resourceVersion"]
    with watching(srv, f"{CM}?watch=1&resourceVersion={rv}") as w:
        call(srv, "PATCH", CM + "/c00", {"data": {"x": "1"}}, "application/merge-patch+json")
        call(srv, "DELETE", CM + "/c01")
        evs = [w.next() for _ in range(2)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [
        ("MODIFIED", "c00"),
        ("DELETED", "c01"),
    ]
    storage.compact(storage.revision())
    with watching(srv, f"{CM}?watch=1&resourceVersion={rv}") as w:
        ev = w.next()
        assert ev["type"] == "ERROR"
        assert ev["object"]["code"] == 410

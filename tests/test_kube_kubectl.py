"""The real kubectl (and the official Python client) against the embedded API server."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_support import CM, call, cm, server

from goprims.kube import APIServer
from goprims.storage import MemoryStorage

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


class Kubectl:
    def __init__(self, srv: APIServer, tmp: Path) -> None:
        self.base = [str(KUBECTL), "--kubeconfig", srv.kubeconfig(), "--cache-dir", str(tmp / "c")]
        self.tmp = tmp

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {p.stderr}")
        return p

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)

    def manifest(self, name: str, obj: dict[str, Any]) -> str:
        path = self.tmp / name
        path.write_text(json.dumps(obj))
        return str(path)


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[tuple[APIServer, Kubectl]]:
    with server() as srv:
        yield srv, Kubectl(srv, tmp_path)


@needs_kubectl
def test_kubectl_create_f_then_get(kube: tuple[APIServer, Kubectl]) -> None:
    _, k = kube
    path = k.manifest("cm.json", cm("one", a="1"))
    assert "configmap/one created" in k("create", "-f", path).stdout
    got = k.json("get", "configmap", "one")
    assert got["data"] == {"a": "1"}
    assert got["metadata"]["uid"]
    assert "one" in k("get", "configmaps").stdout
    assert "AlreadyExists" in k("create", "-f", path, check=False).stderr
    assert "NotFound" in k("get", "cm", "nope", check=False).stderr


@needs_kubectl
def test_kubectl_apply_of_a_changed_manifest(kube: tuple[APIServer, Kubectl]) -> None:
    _, k = kube
    w = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}}
    path = k.manifest("w.json", {**w, "spec": {"size": 1, "old": True}})
    assert "created" in k("apply", "-f", path).stdout
    path = k.manifest("w.json", {**w, "spec": {"size": 2}})
    assert "configured" in k("apply", "-f", path).stdout
    got = k.json("get", "widgets.example.com", "w1")
    assert got["spec"] == {"size": 2}  # the field dropped from the manifest is removed
    assert "unchanged" in k("apply", "-f", path).stdout
    cpath = k.manifest("cm.json", cm("c", a="1", b="2"))
    k("apply", "-f", cpath)
    cpath = k.manifest("cm.json", cm("c", a="9"))
    assert "configured" in k("apply", "-f", cpath).stdout
    assert k.json("get", "cm", "c")["data"] == {"a": "9"}


@needs_kubectl
def test_kubectl_delete(kube: tuple[APIServer, Kubectl]) -> None:
    srv, k = kube
    call(srv, "POST", CM, cm("a"))
    call(srv, "POST", CM, {"metadata": {"name": "b", "labels": {"x": "1"}}})
    call(srv, "POST", CM, {"metadata": {"name": "c", "labels": {"x": "1"}}})
    assert 'configmap "a" deleted' in k("delete", "configmap", "a").stdout
    assert call(srv, "GET", CM + "/a")[0] == 404
    k("delete", "configmaps", "-l", "x=1")
    assert call(srv, "GET", CM)[1]["items"] == []


@needs_kubectl
def test_kubectl_get_chunk_size_over_a_thousand_objects() -> None:
    st = MemoryStorage()
    for i in range(1005):
        st.create(
            f"/registry/configmaps/bulk/cm-{i:04d}",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i:04d}", "namespace": "bulk"},
            },
        )
    with server(st) as srv, _tmpdir() as tmp:
        k = Kubectl(srv, tmp)
        p = k("get", "cm", "-n", "bulk", "--chunk-size=100", "-o", "name", "-v=6")
        names = p.stdout.split()
        assert names == [f"configmap/cm-{i:04d}" for i in range(1005)]
        assert p.stderr.count("limit=100") == 11  # 11 pages


@needs_kubectl
def test_kubectl_get_watch_json_sees_changes_as_they_happen(
    kube: tuple[APIServer, Kubectl],
) -> None:
    srv, k = kube
    call(srv, "POST", CM, cm("first"))
    proc = subprocess.Popen(
        [*k.base, "get", "configmaps", "-w", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    objects: queue.Queue[Any] = queue.Queue()

    def read() -> None:
        dec = json.JSONDecoder()
        buf = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            buf += line
            try:
                obj, end = dec.raw_decode(buf.strip())
            except ValueError:
                continue
            objects.put(obj)
            buf = buf.strip()[end:]
        objects.put(None)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert objects.get(timeout=30)["metadata"]["name"] == "first"
        call(srv, "POST", CM, cm("second", v="1"))
        got = objects.get(timeout=30)
        assert got["metadata"]["name"] == "second"
        assert got["data"] == {"v": "1"}
        call(srv, "PATCH", CM + "/second", {"data": {"v": "2"}}, "application/merge-patch+json")
        assert objects.get(timeout=30)["data"] == {"v": "2"}
        call(srv, "DELETE", CM + "/first")
        assert objects.get(timeout=30)["metadata"]["name"] == "first"
    finally:
        proc.terminate()
        proc.wait(30)
        reader.join(30)
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def test_official_client_crud_and_watch_stream() -> None:
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import client, config, watch

    with server() as srv:
        api_client = config.new_client_from_config(srv.kubeconfig())
        try:
            v1 = client.CoreV1Api(api_client)
            v1.create_namespaced_config_map("default", cm("a", k="1"))  # type: ignore[arg-type]  # a dict body
            assert v1.read_namespaced_config_map("a", "default").data == {"k": "1"}
            with pytest.raises(kubernetes.client.ApiException) as info:
                v1.create_namespaced_config_map("default", cm("a"))  # type: ignore[arg-type]  # a dict body
            assert info.value.status == 409
            listed = v1.list_namespaced_config_map("default")
            assert listed.metadata is not None
            rv = listed.metadata.resource_version

            w = watch.Watch()

            def writer() -> None:
                v1.create_namespaced_config_map("default", cm("b"))  # type: ignore[arg-type]  # a dict body
                v1.patch_namespaced_config_map("b", "default", {"data": {"x": "y"}})
                v1.delete_namespaced_config_map("a", "default")

            seen = []
            t = threading.Thread(target=writer)
            t.start()
            for ev in w.stream(
                v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=30
            ):
                seen.append((ev["type"], ev["object"].metadata.name))
                if len(seen) == 3:
                    w.stop()
            t.join()
            assert seen == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "a")]
            custom = client.CustomObjectsApi(api_client)
            custom.create_namespaced_custom_object(
                "example.com", "v1", "default", "widgets", {"metadata": {"name": "w"}, "spec": {}}
            )
            got: Any = custom.list_namespaced_custom_object(
                "example.com", "v1", "default", "widgets"
            )
            assert [o["metadata"]["name"] for o in got["items"]] == ["w"]
        finally:
            api_client.close()


class _tmpdir:
    def __enter__(self) -> Path:
        import tempfile

        self._d = tempfile.TemporaryDirectory()
        return Path(self._d.name)

    def __exit__(self, *a: object) -> None:
        self._d.cleanup()


def test_official_client_watch_stream_reports_410_after_compaction() -> None:
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import client, config, watch

    st = MemoryStorage()
    with server(st) as srv:
        api_client = config.new_client_from_config(srv.kubeconfig())
        try:
            v1 = client.CoreV1Api(api_client)
            for i in range(3):
                v1.create_namespaced_config_map("default", cm(f"c{i}"))  # type: ignore[arg-type]  # a dict body
            st.compact(st.revision())
            stream = watch.Watch().stream(
                v1.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=5
            )
            with pytest.raises(kubernetes.client.ApiException) as info:
                next(stream)
            assert info.value.status == 410
        finally:
            api_client.close()

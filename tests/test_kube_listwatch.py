"""KubeListWatch: a ListerWatcher over the Kubernetes API through the official client, here
against the embedded server (pagination, watches, bookmarks, 410, too-large versions, the
watch-list mode and its fallback, informers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kube_support import CM, call, cm, server

from goprims.cache import SharedIndexInformer, wait_for_cache_sync
from goprims.chan import Chan
from goprims.kube import INITIAL_EVENTS_END_ANNOTATION, APIError, APIServer, KubeListWatch
from goprims.kube._pagination import Snapshots
from goprims.storage import MemoryStorage
from goprims.watch import (
    EventType,
    ResourceExpired,
    TooLargeResourceVersion,
    WatchListUnsupported,
)

kubernetes = pytest.importorskip("kubernetes")


@pytest.fixture
def api() -> Iterator[tuple[APIServer, MemoryStorage, Any]]:
    st = MemoryStorage()
    with server(st, bookmark_interval=0.05) as srv:
        client = kubernetes.config.new_client_from_config(srv.kubeconfig())
        try:
            yield srv, st, client
        finally:
            client.close()


def _names(items: list[Any]) -> list[str]:
    return [o["metadata"]["name"] for o in items]


def test_list_reads_every_page_with_kind_and_api_version(api) -> None:
    srv, st, client = api
    for i in range(10):
        call(srv, "POST", CM, cm(f"c{i}"))
    call(srv, "POST", "/api/v1/namespaces/other/configmaps", cm("x"))
    lw = KubeListWatch(client, "v1/configmaps", namespace="default", page_size=3)
    res = lw.list("")
    assert _names(res.items) == [f"c{i}" for i in range(10)]
    assert res.resource_version == str(st.revision())
    assert {(o["kind"], o["apiVersion"]) for o in res.items} == {("ConfigMap", "v1")}
    everywhere = KubeListWatch(client, "v1/configmaps", page_size=0).list()
    assert len(everywhere.items) == 11


def test_an_expired_continue_token_falls_back_to_one_full_list(api) -> None:
    srv, _, client = api
    srv._snapshots = Snapshots(capacity=0)  # every continue token is already expired
    for i in range(5):
        call(srv, "POST", CM, cm(f"c{i}"))
    res = KubeListWatch(client, "v1/configmaps", namespace="default", page_size=2).list("")
    assert _names(res.items) == [f"c{i}" for i in range(5)]


def test_selectors_filter_lists_and_watches(api) -> None:
    srv, _, client = api
    call(srv, "POST", CM, {"metadata": {"name": "a", "labels": {"app": "x"}}})
    call(srv, "POST", CM, {"metadata": {"name": "b"}})
    lw = KubeListWatch(client, "v1/configmaps", namespace="default", label_selector="app=x")
    assert _names(lw.list().items) == ["a"]
    by_name = KubeListWatch(client, "v1/configmaps", field_selector="metadata.name=b")
    assert _names(by_name.list().items) == ["b"]


def test_list_version_errors_map_to_the_informer_errors(api) -> None:
    srv, st, client = api
    for i in range(3):
        call(srv, "POST", CM, cm(f"c{i}"))
    lw = KubeListWatch(client, "v1/configmaps")
    with pytest.raises(TooLargeResourceVersion):
        lw.list(str(st.revision() + 100))
    st.compact(st.revision())
    with pytest.raises(ResourceExpired):
        lw.list("1")
    with pytest.raises(APIError) as info:
        KubeListWatch(client, "v1/configmaps", label_selector="a in (").list()
    assert info.value.code == 400


def test_watch_delivers_changes_as_dicts_and_bookmarks(api) -> None:
    srv, _, client = api
    _, a, _ = call(srv, "POST", CM, cm("a"))
    lw = KubeListWatch(client, "v1/configmaps", namespace="default")
    w = lw.watch(a["metadata"]["resourceVersion"])
    try:
        call(srv, "POST", CM, cm("b", k="v"))
        call(srv, "DELETE", CM + "/a")
        seen: list[Any] = []
        for ev in w:
            if ev.type == EventType.BOOKMARK:
                if len(seen) == 2:
                    break
                continue
            seen.append((ev.type, ev.object["metadata"]["name"]))
        assert seen == [(EventType.ADDED, "b"), (EventType.DELETED, "a")]
    finally:
        w.stop()


def test_a_compacted_version_raises_resource_expired_from_the_stream(api) -> None:
    srv, st, client = api
    for i in range(3):
        call(srv, "POST", CM, cm(f"c{i}"))
    st.compact(st.revision())
    w = KubeListWatch(client, "v1/configmaps").watch("1")
    with pytest.raises(ResourceExpired):
        list(w)
    w.stop()


def test_a_too_large_version_raises_at_watch(api) -> None:
    _, st, client = api
    with pytest.raises(TooLargeResourceVersion):
        KubeListWatch(client, "v1/configmaps").watch(str(st.revision() + 5))


def test_stop_from_another_thread_ends_a_blocked_iteration(api) -> None:
    _, st, client = api
    w = KubeListWatch(client, "v1/configmaps").watch(str(st.revision()))
    out: list[Any] = []
    it = threading.Thread(target=lambda: out.extend(e for e in w if e.type != "BOOKMARK"))
    it.start()
    w.stop()
    it.join(10)
    assert not it.is_alive()
    assert out == []
    w.stop()  # idempotent


def test_the_server_timeout_ends_the_watch_cleanly(api) -> None:
    _, st, client = api
    lw = KubeListWatch(client, "v1/configmaps", min_watch_timeout=0.5)
    w = lw.watch(str(st.revision()))
    assert all(ev.type == EventType.BOOKMARK for ev in w)  # ends without an error
    w.stop()


def test_watch_list_sends_the_state_then_the_end_bookmark(api) -> None:
    srv, st, client = api
    for i in range(3):
        call(srv, "POST", CM, cm(f"c{i}"))
    w = KubeListWatch(client, "v1/configmaps").watch_list("")
    try:
        evs = []
        for ev in w:
            evs.append(ev)
            if ev.type == EventType.BOOKMARK:
                break
        assert [e.type for e in evs] == [EventType.ADDED] * 3 + [EventType.BOOKMARK]
        md = evs[-1].object["metadata"]
        assert md["annotations"][INITIAL_EVENTS_END_ANNOTATION] == "true"
        assert md["resourceVersion"] == str(st.revision())
    finally:
        w.stop()


def test_a_server_without_watch_list_raises_watch_list_unsupported() -> None:
    with server(watch_list=False) as srv:
        client = kubernetes.config.new_client_from_config(srv.kubeconfig())
        try:
            with pytest.raises(WatchListUnsupported):
                KubeListWatch(client, "v1/configmaps").watch_list("")
        finally:
            client.close()


def test_bad_arguments_are_refused(api) -> None:
    _, _, client = api
    with pytest.raises(ValueError, match="page_size"):
        KubeListWatch(client, "v1/configmaps", page_size=-1)
    with pytest.raises(ValueError, match="cluster-scoped"):
        KubeListWatch(client, "v1/namespaces", namespace="x")
    with pytest.raises(ValueError, match="invalid resource"):
        KubeListWatch(client, "configmaps")


class _Recorder:
    def __init__(self) -> None:
        self.events: Chan[tuple[str, str]] = Chan(None)

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self.events.send(("add", obj["metadata"]["name"]))

    def on_update(self, old: Any, new: Any) -> None:
        self.events.send(("update", new["metadata"]["name"]))

    def on_delete(self, obj: Any) -> None:
        self.events.send(("delete", obj["metadata"]["name"]))


@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list+watch"])
def test_an_informer_syncs_and_follows_changes(watch_list: bool) -> None:
    st = MemoryStorage()
    with server(st, watch_list=watch_list) as srv:
        client = kubernetes.config.new_client_from_config(srv.kubeconfig())
        call(srv, "POST", CM, cm("a"))
        lw = KubeListWatch(client, "v1/configmaps", namespace="default")
        inf = SharedIndexInformer(lw)
        rec = _Recorder()
        inf.add_event_handler(rec)
        stop: Chan[None] = Chan()
        runner = threading.Thread(target=inf.run, args=(stop,))
        runner.start()
        try:
            assert wait_for_cache_sync(stop, inf.synced(), timeout=30)
            assert rec.events.recv(timeout=10) == ("add", "a")
            call(srv, "POST", CM, cm("b"))
            call(srv, "PATCH", CM + "/a", {"data": {"x": "1"}}, "application/merge-patch+json")
            call(srv, "DELETE", CM + "/b")
            got = [rec.events.recv(timeout=10) for _ in range(3)]
            # the DeltaFIFO keeps each object's deltas in order (not the order across objects)
            assert [e for e in got if e[1] == "b"] == [("add", "b"), ("delete", "b")]
            assert [e for e in got if e[1] == "a"] == [("update", "a")]
            assert inf._reflector is not None
            assert inf._reflector.use_watch_list is watch_list
        finally:
            stop.close()
            runner.join(10)
            client.close()
        assert not runner.is_alive()

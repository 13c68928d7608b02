"""The embedded API server's REST semantics, over HTTP (kube-apiserver's behaviour for the
resources it serves: discovery, CRUD, Status errors, selectors, pagination, watches)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kube_support import CM, WIDGETS, call, cm, server, watching

from goprims.cache.listwatch import ResourceExpired
from goprims.kube import INITIAL_EVENTS_END_ANNOTATION, APIServer, Resource
from goprims.storage import MemoryStorage

WATCH_LIST = "sendInitialEvents=true&resourceVersionMatch=NotOlderThan"

# --------------------------------------------------------------------------- discovery


def test_discovery_lists_core_and_group_resources() -> None:
    with server() as srv:
        code, api, _ = call(srv, "GET", "/api")
        assert code == 200
        assert api["kind"] == "APIVersions"
        assert api["versions"] == ["v1"]
        _, v1, _ = call(srv, "GET", "/api/v1")
        (res,) = v1["resources"]
        assert res["name"] == "configmaps"
        assert res["kind"] == "ConfigMap"
        assert res["namespaced"]
        assert "watch" in res["verbs"]
        assert res["shortNames"] == ["cm"]
        _, groups, _ = call(srv, "GET", "/apis")
        assert [g["name"] for g in groups["groups"]] == ["example.com"]
        assert groups["groups"][0]["preferredVersion"]["groupVersion"] == "example.com/v1"
        _, ex, _ = call(srv, "GET", "/apis/example.com/v1")
        assert ex["groupVersion"] == "example.com/v1"
        assert ex["resources"][0]["kind"] == "Widget"
        assert call(srv, "GET", "/apis/other.io/v1")[0] == 404
        assert call(srv, "GET", "/api/v1/namespaces/default/secrets")[0] == 404


def test_resource_parsing_derives_kind_scope_and_storage_keys() -> None:
    r = Resource.parse("example.com/v1/policies")
    assert (r.kind, r.namespaced, r.group_version) == ("Policy", True, "example.com/v1")
    assert r.storage_key("ns", "a") == "/registry/example.com/policies/ns/a"
    ns = Resource.parse("v1/namespaces")
    assert not ns.namespaced
    assert ns.storage_key(None, "x") == "/registry/namespaces/x"
    assert Resource.parse("v1/configmaps").storage_prefix("a") == "/registry/configmaps/a/"
    for bad in ("configmaps", "a/b/c/d", "v1/Config", "Ex.com/v1/w"):
        with pytest.raises(ValueError, match="invalid"):
            Resource.parse(bad)


def test_server_refuses_duplicate_or_no_resources() -> None:
    with pytest.raises(ValueError, match="twice"):
        APIServer(MemoryStorage(), ["v1/configmaps", "v1/configmaps"])
    with pytest.raises(ValueError, match="at least one"):
        APIServer(MemoryStorage(), [])


# --------------------------------------------------------------------------- create / get


def test_create_sets_uid_timestamp_version_namespace_and_type() -> None:
    st = MemoryStorage()
    with server(st) as srv:
        code, obj, _ = call(srv, "POST", CM, {"metadata": {"name": "a"}, "data": {"k": "v"}})
        assert code == 201
        md = obj["metadata"]
        assert md["namespace"] == "default"
        assert md["uid"]
        assert md["creationTimestamp"]
        assert md["resourceVersion"] == str(st.revision())
        assert (obj["kind"], obj["apiVersion"]) == ("ConfigMap", "v1")
        assert st.get("/registry/configmaps/default/a")["data"] == {"k": "v"}
        code, got, _ = call(srv, "GET", CM + "/a")
        assert code == 200
        assert got == obj


def test_create_twice_is_409_already_exists() -> None:
    with server() as srv:
        call(srv, "POST", CM, cm("a"))
        code, status, _ = call(srv, "POST", CM, cm("a"))
        assert code == 409
        assert status["kind"] == "Status"
        assert status["reason"] == "AlreadyExists"
        assert status["details"] == {"name": "a", "group": "", "kind": "configmaps"}


def test_generate_name_appends_five_characters() -> None:
    with server() as srv:
        names = set()
        for _ in range(5):
            code, obj, _ = call(srv, "POST", WIDGETS, {"metadata": {"generateName": "w-"}})
            assert code == 201
            name = obj["metadata"]["name"]
            assert name.startswith("w-")
            assert len(name) == 7
            names.add(name)
        assert len(names) == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": {}}, "metadata.name"),
        ({"metadata": {"name": "Bad_Name"}}, "metadata.name"),
        ({"metadata": {"name": "a", "labels": {"x": 1}}}, "metadata.labels"),
        ({"metadata": {"name": "a"}, "data": {"k": 1}}, "data"),
        ({"metadata": {"name": "a"}, "data": {"bad key": "v"}}, "data[bad key]"),
    ],
)
def test_invalid_objects_are_422_with_the_field(body: dict[str, Any], field: str) -> None:
    with server() as srv:
        code, status, _ = call(srv, "POST", CM, body)
        assert code == 422
        assert status["reason"] == "Invalid"
        assert field in [c["field"] for c in status["details"]["causes"]]
        assert call(srv, "GET", CM)[1]["items"] == []


def test_create_refuses_resource_version_wrong_namespace_and_kind() -> None:
    with server() as srv:
        bad_rv = {"metadata": {"name": "a", "resourceVersion": "5"}}
        assert call(srv, "POST", CM, bad_rv)[0] == 400
        other_ns = {"metadata": {"name": "a", "namespace": "other"}}
        assert call(srv, "POST", CM, other_ns)[0] == 400
        assert call(srv, "POST", CM, {"kind": "Widget", "metadata": {"name": "a"}})[0] == 400
        assert call(srv, "POST", CM, [1, 2])[0] == 400
        code, status, _ = call(srv, "POST", CM, b"x", content_type="application/yaml")
        assert code == 415
        assert status["reason"] == "UnsupportedMediaType"


def test_get_of_a_missing_object_is_404_status() -> None:
    with server() as srv:
        code, status, _ = call(srv, "GET", CM + "/nope")
        assert code == 404
        assert status["reason"] == "NotFound"
        assert status["message"] == 'configmaps "nope" not found'
        assert status["details"]["name"] == "nope"


# --------------------------------------------------------------------------- update / patch


def test_put_with_stale_version_is_409_conflict_and_without_is_unconditional() -> None:
    with server() as srv:
        _, a, _ = call(srv, "POST", CM, cm("a", k="1"))
        stale = json.loads(json.dumps(a))
        a["data"] = {"k": "2"}
        code, a2, _ = call(srv, "PUT", CM + "/a", a)
        assert code == 200
        assert a2["data"] == {"k": "2"}
        assert int(a2["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])
        assert a2["metadata"]["uid"] == a["metadata"]["uid"]
        code, status, _ = call(srv, "PUT", CM + "/a", stale)
        assert code == 409
        assert status["reason"] == "Conflict"
        unconditional = cm("a", k="3")
        code, a3, _ = call(srv, "PUT", CM + "/a", unconditional)
        assert code == 200
        assert a3["data"] == {"k": "3"}
        assert a3["metadata"]["creationTimestamp"] == a["metadata"]["creationTimestamp"]
        assert call(srv, "PUT", CM + "/b", cm("a"))[0] == 400
        assert call(srv, "PUT", CM + "/b", cm("b"))[0] == 404


def test_merge_strategic_and_json_patches() -> None:
    with server() as srv:
        call(srv, "POST", CM, cm("a", x="1", y="2"))
        merge = "application/merge-patch+json"
        code, obj, _ = call(srv, "PATCH", CM + "/a", {"data": {"x": None, "z": "3"}}, merge)
        assert code == 200
        assert obj["data"] == {"y": "2", "z": "3"}
        smp = "application/strategic-merge-patch+json"
        body = {"data": {"$patch": "replace", "only": "1"}, "$setElementOrder/x": []}
        code, obj, _ = call(srv, "PATCH", CM + "/a", body, smp)
        assert code == 200
        assert obj["data"] == {"only": "1"}
        ops = [
            {"op": "add", "path": "/data/n", "value": "v"},
            {"op": "remove", "path": "/data/only"},
        ]
        code, obj, _ = call(srv, "PATCH", CM + "/a", ops, "application/json-patch+json")
        assert code == 200
        assert obj["data"] == {"n": "v"}
        bad = [{"op": "remove", "path": "/data/missing"}]
        assert call(srv, "PATCH", CM + "/a", bad, "application/json-patch+json")[0] == 422
        assert call(srv, "PATCH", CM + "/a", {}, "application/apply-patch+yaml")[0] == 415
        stale = {"metadata": {"resourceVersion": "1"}, "data": {"q": "1"}}
        assert call(srv, "PATCH", CM + "/a", stale, merge)[1]["reason"] == "Conflict"
        assert call(srv, "PATCH", CM + "/a", {"data": {"k": 5}}, merge)[0] == 422
        assert call(srv, "PATCH", CM + "/zz", {"data": {}}, merge)[0] == 404


def test_a_patch_that_changes_nothing_writes_nothing() -> None:
    st = MemoryStorage()
    with server(st) as srv:
        call(srv, "POST", CM, cm("a", x="1"))
        rev = st.revision()
        code, _, _ = call(
            srv, "PATCH", CM + "/a", {"data": {"x": "1"}}, "application/merge-patch+json"
        )
        assert code == 200
        assert st.revision() == rev


# --------------------------------------------------------------------------- delete


def test_delete_returns_success_status_then_404_and_honours_preconditions() -> None:
    with server() as srv:
        _, a, _ = call(srv, "POST", CM, cm("a"))
        pre = {"preconditions": {"resourceVersion": "999"}}
        code, status, _ = call(srv, "DELETE", CM + "/a", pre)
        assert code == 409
        assert status["reason"] == "Conflict"
        assert call(srv, "DELETE", CM + "/a", {"preconditions": {"uid": "x"}})[0] == 409
        code, status, _ = call(
            srv, "DELETE", CM + "/a", {"preconditions": {"uid": a["metadata"]["uid"]}}
        )
        assert code == 200
        assert status["status"] == "Success"
        assert status["details"]["uid"] == a["metadata"]["uid"]
        assert call(srv, "DELETE", CM + "/a")[0] == 404


def test_delete_collection_honours_the_label_selector() -> None:
    with server() as srv:
        for i in range(4):
            call(srv, "POST", CM, {"metadata": {"name": f"c{i}", "labels": {"odd": str(i % 2)}}})
        assert call(srv, "DELETE", CM + "?labelSelector=odd%3D1")[0] == 200
        names = [o["metadata"]["name"] for o in call(srv, "GET", CM)[1]["items"]]
        assert names == ["c0", "c2"]


# --------------------------------------------------------------------------- list


def _names(lst: dict[str, Any]) -> list[str]:
    return [o["metadata"]["name"] for o in lst["items"]]


def test_lists_are_per_namespace_or_across_namespaces() -> None:
    with server() as srv:
        call(srv, "POST", CM, cm("a"))
        call(srv, "POST", "/api/v1/namespaces/def/configmaps", cm("b"))
        assert _names(call(srv, "GET", CM)[1]) == ["a"]
        _, lst, _ = call(srv, "GET", "/api/v1/configmaps")
        assert lst["kind"] == "ConfigMapList"
        assert sorted(_names(lst)) == ["a", "b"]
        assert lst["metadata"]["resourceVersion"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "c"]),
        ("app==web,tier=front", ["a"]),
        ("app!=web", ["b", "d"]),
        ("tier in (front,back)", ["a", "b", "c"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "b", "c"]),
        ("!tier", ["d"]),
    ],
)
def test_label_selectors(selector: str, expected: list[str]) -> None:
    labels = {
        "a": {"app": "web", "tier": "front"},
        "b": {"app": "db", "tier": "back"},
        "c": {"app": "web", "tier": "back"},
        "d": {},
    }
    with server() as srv:
        for name, lab in labels.items():
            call(srv, "POST", CM, {"metadata": {"name": name, "labels": lab}})
        from urllib.parse import quote

        _, lst, _ = call(srv, "GET", f"{CM}?labelSelector={quote(selector)}")
        assert _names(lst) == expected


def test_field_selector_on_name_and_bad_selectors_are_400() -> None:
    with server() as srv:
        for n in "abc":
            call(srv, "POST", CM, cm(n))
        assert _names(call(srv, "GET", CM + "?fieldSelector=metadata.name%3Db")[1]) == ["b"]
        assert _names(call(srv, "GET", CM + "?fieldSelector=metadata.name!%3Db")[1]) == ["a", "c"]
        assert call(srv, "GET", CM + "?fieldSelector=spec.x%3D1")[0] == 400
        assert call(srv, "GET", CM + "?labelSelector=a%20in%20(b")[0] == 400


def test_limit_and_continue_page_through_a_consistent_snapshot() -> None:
    with server() as srv:
        for i in range(7):
            call(srv, "POST", CM, cm(f"c{i}", v="0"))
        _, p1, _ = call(srv, "GET", CM + "?limit=3")
        assert _names(p1) == ["c0", "c1", "c2"]
        assert p1["metadata"]["remainingItemCount"] == 4
        rv = p1["metadata"]["resourceVersion"]
        # changes after the first page are not seen by the later pages
        call(srv, "DELETE", CM + "/c4")
        call(srv, "POST", CM, cm("c9"))
        seen = _names(p1)
        token = p1["metadata"]["continue"]
        while token:
            _, page, _ = call(srv, "GET", f"{CM}?limit=3&continue={token}")
            assert page["metadata"]["resourceVersion"] == rv
            seen += _names(page)
            token = page["metadata"].get("continue")
        assert seen == [f"c{i}" for i in range(7)]
        assert (
            call(
                srv, "GET", f"{CM}?limit=3&continue={p1['metadata']['continue']}&resourceVersion=5"
            )[0]
            == 400
        )
        assert call(srv, "GET", f"{CM}?limit=3&continue=%%%")[0] == 400


def test_a_continue_token_past_its_snapshot_is_410() -> None:
    with server() as srv:
        from goprims.kube._pagination import Snapshots

        srv._snapshots = Snapshots(capacity=1)
        for i in range(4):
            call(srv, "POST", CM, cm(f"c{i}"))
        _, first, _ = call(srv, "GET", CM + "?limit=2")
        call(srv, "GET", CM + "?limit=2")  # evicts the first list's snapshot
        code, status, _ = call(srv, "GET", f"{CM}?limit=2&continue={first['metadata']['continue']}")
        assert code == 410
        assert status["reason"] == "Expired"


def test_list_resource_version_rules() -> None:
    st = MemoryStorage()
    with server(st) as srv:
        for i in range(3):
            call(srv, "POST", CM, cm(f"c{i}"))
        rev = st.revision()
        code, status, headers = call(srv, "GET", f"{CM}?resourceVersion={rev + 10}")
        assert code == 504
        assert status["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
        assert headers["Retry-After"] == "1"
        assert _names(call(srv, "GET", f"{CM}?resourceVersion={rev}")[1]) == ["c0", "c1", "c2"]
        exact = f"{CM}?resourceVersion={rev - 1}&resourceVersionMatch=Exact"
        assert call(srv, "GET", exact)[0] == 410
        st.compact(rev)
        code, status, _ = call(srv, "GET", f"{CM}?resourceVersion={rev - 1}")
        assert code == 410
        assert status["reason"] == "Expired"
        # "0" is served as from a cache: the limit is ignored
        _, lst, _ = call(srv, "GET", f"{CM}?resourceVersion=0&limit=1")
        assert len(lst["items"]) == 3
        assert "continue" not in lst["metadata"]
        assert call(srv, "GET", f"{CM}?resourceVersionMatch=NotOlderThan")[0] == 422


# --------------------------------------------------------------------------- watch


def test_watch_streams_added_modified_deleted_as_lines() -> None:
    with server() as srv:
        _, a, _ = call(srv, "POST", CM, cm("a"))
        rv = a["metadata"]["resourceVersion"]
        with watching(srv, f"{CM}?watch=1&resourceVersion={rv}") as w:
            assert w.status == 200
            call(srv, "POST", CM, cm("b"))
            call(srv, "PATCH", CM + "/a", {"data": {"x": "1"}}, "application/merge-patch+json")
            call(srv, "DELETE", CM + "/b")
            evs = [w.next() for _ in range(3)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [
            ("ADDED", "b"),
            ("MODIFIED", "a"),
            ("DELETED", "b"),
        ]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        assert rvs == sorted(rvs)
        assert rvs[0] > int(rv)


def test_watch_without_version_starts_with_the_current_state() -> None:
    with server() as srv:
        call(srv, "POST", CM, cm("a"))
        with watching(srv, f"{CM}?watch=true") as w:
            ev = w.next()
            assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "a")
            call(srv, "POST", CM, cm("b"))
            assert w.next()["object"]["metadata"]["name"] == "b"


def test_watch_sends_bookmarks_when_allowed() -> None:
    with server(bookmark_interval=0.05) as srv:
        _, a, _ = call(srv, "POST", CM, cm("a"))
        rv = a["metadata"]["resourceVersion"]
        with watching(srv, f"{CM}?watch=1&allowWatchBookmarks=true&resourceVersion={rv}") as w:
            ev = w.next()
            assert ev["type"] == "BOOKMARK"
            assert ev["object"]["metadata"]["resourceVersion"] == rv
            assert ev["object"]["kind"] == "ConfigMap"


def test_watch_from_a_compacted_version_is_an_error_event_410() -> None:
    st = MemoryStorage()
    with server(st) as srv:
        for i in range(3):
            call(srv, "POST", CM, cm(f"c{i}"))
        st.compact(st.revision())
        with watching(srv, f"{CM}?watch=1&resourceVersion=1") as w:
            assert w.status == 200
            ev = w.next()
            assert ev["type"] == "ERROR"
            assert ev["object"]["code"] == 410
            assert ev["object"]["reason"] == "Expired"
            assert w.next() is None


class _RecordingStorage(MemoryStorage):
    """A MemoryStorage that hands out the watches it opens, so a test can end one."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[Any] = []

    def watch(self, prefix: str = "", resource_version: str = ""):
        w = super().watch(prefix, resource_version)
        self.opened.append(w)
        return w


def test_a_running_watch_that_expires_ends_with_an_error_event_410() -> None:
    st = _RecordingStorage()
    with server(st) as srv:
        _, a, _ = call(srv, "POST", CM, cm("a"))
        with watching(srv, f"{CM}?watch=1&resourceVersion={a['metadata']['resourceVersion']}") as w:
            # the headers arrived, so the server's storage watch exists
            (sw,) = st.opened
            sw.abort(ResourceExpired("compacted"))
            ev = w.next()
            assert ev["type"] == "ERROR"
            assert ev["object"]["code"] == 410
            assert ev["object"]["reason"] == "Expired"
            assert w.next() is None


def test_watch_with_too_large_version_is_504() -> None:
    with server() as srv, watching(srv, f"{CM}?watch=1&resourceVersion=999") as w:
        assert w.status == 504
        _, status = w.next()
        assert status["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_send_initial_events_ends_with_the_annotated_bookmark() -> None:
    st = MemoryStorage()
    with server(st) as srv:
        for i in range(3):
            call(srv, "POST", CM, cm(f"c{i}"))
        rev = st.revision()
        path = f"{CM}?watch=1&{WATCH_LIST}&allowWatchBookmarks=true"
        with watching(srv, path) as w:
            evs = [w.next() for _ in range(4)]
            assert [e["type"] for e in evs] == ["ADDED"] * 3 + ["BOOKMARK"]
            bm = evs[3]["object"]["metadata"]
            assert bm["annotations"] == {INITIAL_EVENTS_END_ANNOTATION: "true"}
            assert bm["resourceVersion"] == str(rev)
            call(srv, "POST", CM, cm("d"))
            assert w.next_non_bookmark()["object"]["metadata"]["name"] == "d"


def test_send_initial_events_validation_and_a_server_without_watch_list() -> None:
    with server() as srv:
        assert call(srv, "GET", f"{CM}?watch=1&sendInitialEvents=true")[0] == 422
        no_bm = f"{CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        assert call(srv, "GET", no_bm)[0] == 422
        assert call(srv, "GET", f"{CM}?watch=1&resourceVersionMatch=NotOlderThan")[0] == 422
    with server(watch_list=False) as srv:
        ok = f"{CM}?watch=1&{WATCH_LIST}&allowWatchBookmarks=1"
        code, status, _ = call(srv, "GET", ok)
        assert code == 422
        assert "WatchList" in status["message"]


def test_timeout_seconds_ends_the_watch_cleanly() -> None:
    with server() as srv, watching(srv, f"{CM}?watch=1&timeoutSeconds=0.2") as w:
        assert w.next() is None


def test_a_selected_watch_turns_matching_changes_into_added_and_deleted() -> None:
    with server() as srv:
        call(srv, "POST", CM, {"metadata": {"name": "a", "labels": {"on": "y"}}})
        call(srv, "POST", CM, {"metadata": {"name": "b"}})
        merge = "application/merge-patch+json"
        with watching(srv, f"{CM}?watch=1&labelSelector=on%3Dy") as w:
            assert (w.next()["type"], "a") == ("ADDED", "a")
            call(srv, "PATCH", CM + "/b", {"metadata": {"labels": {"on": "y"}}}, merge)
            call(srv, "PATCH", CM + "/a", {"metadata": {"labels": {"on": "n"}}}, merge)
            call(srv, "PATCH", CM + "/a", {"data": {"x": "1"}}, merge)  # not matching: unseen
            call(srv, "PATCH", CM + "/b", {"data": {"x": "1"}}, merge)
            evs = [w.next() for _ in range(3)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [
            ("ADDED", "b"),
            ("DELETED", "a"),
            ("MODIFIED", "b"),
        ]


def test_stop_ends_running_watches_and_idle_connections() -> None:
    srv = APIServer(MemoryStorage(), ["v1/configmaps"])
    w = watching(srv, f"{CM}?watch=1").__enter__()
    import http.client

    idle = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    idle.request("GET", "/api")
    idle.getresponse().read()  # a kept-alive connection now idles in the server
    srv.stop()
    srv.stop()  # idempotent
    assert w.next() is None
    w.close()
    idle.close()


def test_kubeconfig_points_at_the_server_and_is_removed_on_stop(tmp_path) -> None:
    import os

    with server() as srv:
        path = srv.kubeconfig()
        with open(path) as f:
            cfg = json.load(f)
        assert cfg["clusters"][0]["cluster"]["server"] == srv.url
        assert cfg["current-context"] == "goprims"
        explicit = srv.kubeconfig(tmp_path / "kc")
        assert os.path.exists(explicit)
    assert not os.path.exists(path)
    assert os.path.exists(explicit)

"""The Storage contract, run against every backend: MemoryStorage and EtcdStorage (a real etcd).

Each test gets an empty storage: a fresh MemoryStorage, or an EtcdStorage on a key prefix of its
own in the session's etcd (so revisions are global to the etcd, never assumed absolute: tests
read ``storage.revision()`` and count from there). The etcd parameter is marked ``etcd`` and is
skipped, with the reason, only when the etcd binary cannot run here.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import pytest

from goprims.storage import (
    AlreadyExists,
    Conflict,
    InvalidObject,
    InvalidResourceVersion,
    MemoryStorage,
    NotFound,
    ResourceExpired,
    Storage,
    TooLargeResourceVersion,
)
from goprims.storage.etcd import EtcdStorage
from goprims.watch import EventType, Watch, WatchEvent

pytest.register_assert_rewrite("etcd_server")  # it is imported here before pytest loads the plugin
from etcd_server import EtcdCluster, TcpProxy  # noqa: E402

pytest.register_assert_rewrite("storage_support")  # imported here before pytest loads the plugin
from storage_support import obj  # noqa: E402

pytest_plugins = ["etcd_server"]

WAIT = 10.0  # seconds: an upper bound for an event that is certainly coming


def rv(o: Any) -> str:
    return str(o["metadata"]["resourceVersion"])


class Backend:
    """One backend under test: ``storage`` is empty; ``lagging_watch`` is explained below."""

    def __init__(self, name: str, storage: Storage) -> None:
        self.name = name
        self.storage = storage

    def lagging_watch(
        self, prefix: str, resource_version: str
    ) -> AbstractContextManager[tuple[Watch, Callable[[], None]]]:
        """A watch that cannot keep up, and ``catch_up()`` to call after writes and a compaction.

        The contract: a running watch whose next undelivered change gets compacted away ends
        with ResourceExpired. MemoryStorage: a change the consumer has not taken yet is
        undelivered, so the plain watch is already "lagging". etcd: a change is delivered once
        etcd has sent it, so the watch runs through a proxy that stops forwarding; ``catch_up``
        cuts the proxy, and the watch, reopened on the real endpoint at its old revision, hears
        from etcd that this revision was compacted.
        """
        return nullcontext((self.storage.watch(prefix, resource_version), lambda: None))


class EtcdBackend(Backend):
    def __init__(self, cluster: EtcdCluster, prefix: str) -> None:
        super().__init__("etcd", EtcdStorage(cluster.endpoints, prefix))
        self.cluster = cluster
        self.prefix = prefix

    @contextmanager
    def lagging_watch(
        self, prefix: str, resource_version: str
    ) -> Iterator[tuple[Watch, Callable[[], None]]]:
        with TcpProxy(self.cluster.members[0].client_port) as proxy:
            via_proxy = EtcdStorage([proxy.endpoint, *self.cluster.endpoints], self.prefix)
            try:
                w = via_proxy.watch(prefix, resource_version)
                proxy.freeze()
                yield w, proxy.cut
            finally:
                via_proxy.close()


@pytest.fixture(params=["memory", pytest.param("etcd", marks=pytest.mark.etcd)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", MemoryStorage())
        return
    cluster: EtcdCluster = request.getfixturevalue("etcd_server")
    b = EtcdBackend(cluster, f"/conformance/{uuid.uuid4().hex}/")
    try:
        yield b
    finally:
        assert isinstance(b.storage, EtcdStorage)
        b.storage.close()


@pytest.fixture
def s(backend: Backend) -> Storage:
    return backend.storage


def events(w: Watch, n: int) -> list[WatchEvent]:
    """The next ``n`` events of ``w`` (each waited for at most WAIT seconds)."""
    out: list[WatchEvent] = []
    for _ in range(n):
        ev = w.next_event(timeout=WAIT)  # type: ignore[attr-defined]
        assert ev is not None, f"watch ended after {out}"
        out.append(ev)
    return out


def summary(evs: list[WatchEvent]) -> list[tuple[str, str, str]]:
    return [(str(e.type), e.object["metadata"]["name"], rv(e.object)) for e in evs]


# ------------------------------------------------------------------------------ protocol, CRUD


def test_backend_implements_the_storage_protocol(s: Storage) -> None:
    assert isinstance(s, Storage)


def test_each_write_adds_exactly_one_to_the_revision_and_stamps_it(s: Storage) -> None:
    r0 = s.revision()
    a = s.create("a", obj("a"))
    assert rv(a) == str(r0 + 1)
    a2 = s.update("a", {**a, "spec": 1})
    assert rv(a2) == str(r0 + 2)
    g = s.guaranteed_update("a", lambda cur: {**cur, "spec": 2})
    assert rv(g) == str(r0 + 3)
    d = s.delete("a")
    assert rv(d) == str(r0 + 4)
    assert s.revision() == r0 + 4


def test_create_only_if_absent_keeps_the_first_object(s: Storage) -> None:
    first = s.create("a", obj("a", spec=1))
    with pytest.raises(AlreadyExists):
        s.create("a", obj("a", spec=2))
    assert s.get("a") == first


def test_concurrent_creates_of_one_key_have_exactly_one_winner(s: Storage) -> None:
    wins: list[int] = []
    losses: list[int] = []
    start = threading.Barrier(6)

    def creator(i: int) -> None:
        start.wait()
        try:
            s.create("contended", obj("contended", by=i))
            wins.append(i)
        except AlreadyExists:
            losses.append(i)

    threads = [threading.Thread(target=creator, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert len(losses) == 5
    assert s.get("contended")["by"] == wins[0]


def test_create_rejects_an_object_carrying_a_resource_version(s: Storage) -> None:
    with pytest.raises(InvalidObject):
        s.create("a", {"metadata": {"name": "a", "resourceVersion": "5"}})
    with pytest.raises(NotFound):
        s.get("a")


def test_get_returns_what_create_returned_and_missing_raises_not_found(s: Storage) -> None:
    created = s.create("ns/a", obj("a", spec={"x": [1, 2]}))
    assert s.get("ns/a") == created
    with pytest.raises(NotFound) as e:
        s.get("ns/b")
    assert isinstance(e.value, LookupError)


def test_arguments_and_returned_objects_are_never_shared_with_the_store(s: Storage) -> None:
    arg = obj("a", spec={"n": 1})
    created = s.create("a", arg)
    assert "resourceVersion" not in arg["metadata"]
    created["spec"]["n"] = 99
    got = s.get("a")
    assert got["spec"]["n"] == 1
    got["spec"]["n"] = 98
    assert s.get("a")["spec"]["n"] == 1


def test_update_is_a_compare_and_swap_on_the_resource_version(s: Storage) -> None:
    a = s.create("a", obj("a", spec=1))
    a2 = s.update("a", {**a, "spec": 2})
    with pytest.raises(Conflict) as e:
        s.update("a", {**a, "spec": 3})  # stale version
    assert e.value.expected == rv(a)
    assert e.value.actual == rv(a2)
    assert s.get("a") == a2


def test_update_without_a_version_conflicts_and_of_a_missing_key_is_not_found(s: Storage) -> None:
    s.create("a", obj("a"))
    with pytest.raises(Conflict):
        s.update("a", obj("a", spec=1))
    with pytest.raises(NotFound):
        s.update("b", {"metadata": {"name": "b", "resourceVersion": "1"}})
    with pytest.raises(NotFound):
        s.update("b", obj("b"))


def test_unchanged_update_writes_nothing(s: Storage) -> None:
    a = s.create("a", obj("a", spec=1))
    before = s.revision()
    assert s.update("a", dict(a)) == a
    assert s.guaranteed_update("a", lambda cur: cur) == a
    assert s.revision() == before


def test_guaranteed_update_retries_fn_on_the_fresh_state_after_a_conflict(s: Storage) -> None:
    s.create("a", obj("a", n=0))
    seen: list[int] = []

    def inc(cur: Any) -> Any:
        seen.append(cur["n"])
        if len(seen) == 1:  # a concurrent writer gets in between our read and our write
            s.update("a", {**s.get("a"), "n": 10})
        return {**cur, "n": cur["n"] + 1}

    out = s.guaranteed_update("a", inc)
    assert seen == [0, 10]
    assert out["n"] == 11
    assert s.get("a") == out


def test_guaranteed_update_propagates_fn_errors_and_writes_nothing(s: Storage) -> None:
    a = s.create("a", obj("a"))

    def boom(cur: Any) -> Any:
        raise KeyError("no")

    with pytest.raises(KeyError):
        s.guaranteed_update("a", boom)
    assert s.get("a") == a
    with pytest.raises(NotFound):
        s.guaranteed_update("missing", lambda cur: cur)
    with pytest.raises(InvalidObject):
        s.guaranteed_update("a", lambda cur: {"no": "metadata"})


def test_concurrent_guaranteed_updates_lose_no_increment(s: Storage) -> None:
    s.create("counter", obj("counter", n=0))
    threads, per_thread = 4, 15

    def work() -> None:
        for _ in range(per_thread):
            s.guaranteed_update("counter", lambda cur: {**cur, "n": cur["n"] + 1})

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert s.get("counter")["n"] == threads * per_thread


def test_delete_returns_the_last_state_stamped_with_the_deletion_revision(s: Storage) -> None:
    a = s.create("a", obj("a", spec=1))
    d = s.delete("a")
    assert d == {**a, "metadata": {**a["metadata"], "resourceVersion": str(s.revision())}}
    with pytest.raises(NotFound):
        s.get("a")
    with pytest.raises(NotFound):
        s.delete("a")


def test_delete_precondition_conflict_deletes_nothing(s: Storage) -> None:
    a = s.create("a", obj("a"))
    a2 = s.update("a", {**a, "spec": 1})
    with pytest.raises(Conflict):
        s.delete("a", rv(a))
    assert s.get("a") == a2
    s.delete("a", rv(a2))
    with pytest.raises(NotFound):
        s.delete("a", rv(a2))


def test_list_returns_prefix_matches_sorted_by_key_at_the_current_revision(s: Storage) -> None:
    for key in ["b/2", "a/1", "b/1", "bb/1", "c"]:
        s.create(key, obj(key))
    res = s.list("b/")
    assert [o["metadata"]["name"] for o in res.items] == ["b/1", "b/2"]
    assert res.resource_version == str(s.revision())
    assert [o["metadata"]["name"] for o in s.list().items] == ["a/1", "b/1", "b/2", "bb/1", "c"]
    assert s.list("zzz").items == []


def test_list_version_must_be_neither_too_new_nor_compacted(s: Storage) -> None:
    s.create("a", obj("a"))
    r = s.revision()
    assert len(s.list("", str(r)).items) == 1
    with pytest.raises(TooLargeResourceVersion):
        s.list("", str(r + 1000))
    s.create("b", obj("b"))
    s.compact(s.revision())
    with pytest.raises(ResourceExpired):
        s.list("", str(r))
    assert len(s.list("", "").items) == len(s.list("", "0").items) == 2


# ------------------------------------------------------------------------------------- watch


def test_watch_replays_every_change_after_the_version_in_order(s: Storage) -> None:
    start = s.revision()
    a = s.create("a", obj("a"))
    s.update("a", {**a, "spec": 1})
    s.create("b", obj("b"))
    s.delete("a")
    w = s.watch("", str(start + 1))  # after the creation of a
    try:
        assert summary(events(w, 3)) == [
            ("MODIFIED", "a", str(start + 2)),
            ("ADDED", "b", str(start + 3)),
            ("DELETED", "a", str(start + 4)),
        ]
        s.create("c", obj("c"))  # then live changes follow
        assert summary(events(w, 1)) == [("ADDED", "c", str(start + 5))]
    finally:
        w.stop()


def test_deleted_event_carries_the_last_state(s: Storage) -> None:
    a = s.create("a", obj("a", spec={"keep": True}))
    w = s.watch("", rv(a))
    try:
        s.delete("a")
        (ev,) = events(w, 1)
        assert ev.type == EventType.DELETED
        assert ev.object["spec"] == {"keep": True}
    finally:
        w.stop()


def test_watch_without_a_version_starts_with_synthetic_adds_sorted_by_key(s: Storage) -> None:
    s.create("b", obj("b"))
    a = s.create("a", obj("a"))
    b = s.update("b", {**s.get("b"), "spec": 1})
    w = s.watch("", "")
    try:
        assert summary(events(w, 2)) == [("ADDED", "a", rv(a)), ("ADDED", "b", rv(b))]
        c = s.create("c", obj("c"))
        assert summary(events(w, 1)) == [("ADDED", "c", rv(c))]
    finally:
        w.stop()


def test_watch_sees_only_keys_with_its_prefix(s: Storage) -> None:
    start = str(s.revision())
    w = s.watch("x/", start)
    try:
        s.create("y/1", obj("y1"))
        s.create("x/1", obj("x1"))
        s.create("xy", obj("xy"))
        s.create("x/2", obj("x2"))
        assert [e.object["metadata"]["name"] for e in events(w, 2)] == ["x1", "x2"]
    finally:
        w.stop()


def test_stop_ends_the_iteration(s: Storage) -> None:
    w = s.watch("", str(s.revision()))
    seen: list[WatchEvent] = []
    t = threading.Thread(target=lambda: seen.extend(w))
    t.start()
    w.stop()
    t.join(WAIT)
    assert not t.is_alive()
    assert seen == []
    s.create("a", obj("a"))
    assert list(w) == []


def test_watch_version_must_be_neither_too_new_nor_compacted(s: Storage) -> None:
    s.create("a", obj("a"))
    old = s.revision()
    with pytest.raises(TooLargeResourceVersion):
        s.watch("", str(old + 1000))
    s.create("b", obj("b"))
    s.compact(s.revision())
    with pytest.raises(ResourceExpired):
        s.watch("", str(old))
    w = s.watch("", str(s.revision()))  # the compaction point itself is still watchable
    w.stop()


def test_compact_beyond_the_current_revision_is_refused_and_below_the_point_is_a_noop(
    s: Storage,
) -> None:
    s.create("a", obj("a"))
    with pytest.raises(TooLargeResourceVersion):
        s.compact(s.revision() + 1000)
    s.compact(s.revision())
    s.compact(s.revision() - 1)  # below the compaction point: nothing happens


def test_running_watch_whose_next_change_is_compacted_away_ends_with_resource_expired(
    backend: Backend,
) -> None:
    s = backend.storage
    start = str(s.revision())
    with backend.lagging_watch("", start) as (w, catch_up):
        for name in "abc":
            s.create(name, obj(name))
        s.compact(s.revision())
        catch_up()
        with pytest.raises(ResourceExpired):
            events(w, 3)


# --------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("key", ["", 5, None, b"a"])
def test_bad_keys_are_rejected(s: Storage, key: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        s.create(key, obj("a"))
    with pytest.raises((TypeError, ValueError)):
        s.get(key)


@pytest.mark.parametrize("bad", [{"no": "metadata"}, {"metadata": "a string"}, ["a list"]])
def test_objects_without_metadata_are_rejected_with_nothing_written(s: Storage, bad: Any) -> None:
    before = s.revision()
    with pytest.raises(InvalidObject):
        s.create("a", bad)
    assert s.revision() == before


@pytest.mark.parametrize("version", ["abc", "-1", "1.5", " 7"])
def test_unparsable_resource_versions_are_rejected(s: Storage, version: str) -> None:
    a = s.create("a", obj("a"))
    with pytest.raises(InvalidResourceVersion):
        s.update("a", {**a, "metadata": {**a["metadata"], "resourceVersion": version}})
    with pytest.raises(InvalidResourceVersion):
        s.delete("a", version)
    with pytest.raises(InvalidResourceVersion):
        s.watch("", version)
    with pytest.raises(InvalidResourceVersion):
        s.list("", version)
    assert s.get("a") == a

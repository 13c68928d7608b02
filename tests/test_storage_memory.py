"""MemoryStorage: CRUD, revisions, copies, compare-and-swap, guaranteed_update, list, bad input."""

from __future__ import annotations

import threading
from types import SimpleNamespace
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
    StorageError,
    TooLargeResourceVersion,
)
from goprims.watch import EventType, ListResult

pytest.register_assert_rewrite("storage_support")  # imported here before pytest loads the plugin
from storage_support import obj  # noqa: E402

pytest_plugins = ["storage_support"]


def rv(o: Any) -> str:
    return o["metadata"]["resourceVersion"]  # type: ignore[no-any-return]


def test_memory_storage_implements_the_storage_protocol(s: MemoryStorage) -> None:
    assert isinstance(s, Storage)


# ----------------------------------------------------------------------------- revisions


def test_revision_starts_at_one_and_each_write_adds_exactly_one(s: MemoryStorage) -> None:
    assert s.revision() == 1
    a = s.create("/a", obj("a"))
    assert rv(a) == "2"
    assert s.revision() == 2
    a = s.update("/a", {**a, "x": 1})
    assert rv(a) == "3"
    b = s.create("/b", obj("b"))
    assert rv(b) == "4"
    a = s.guaranteed_update("/a", lambda cur: {**cur, "x": 2})
    assert rv(a) == "5"
    d = s.delete("/b")
    assert rv(d) == "6"
    assert s.revision() == 6


def test_returned_objects_carry_the_revision_of_their_last_change(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    s.create("/b", obj("b"))
    s.update("/a", {**s.get("/a"), "x": 1})
    assert rv(s.get("/a")) == "4"
    assert rv(s.get("/b")) == "3"
    assert [rv(o) for o in s.list().items] == ["4", "3"]


# ---------------------------------------------------------------------------------- create


def test_create_only_if_absent(s: MemoryStorage) -> None:
    s.create("/a", obj("a", v=1))
    with pytest.raises(AlreadyExists) as ei:
        s.create("/a", obj("a", v=2))
    assert ei.value.key == "/a"
    assert s.get("/a")["v"] == 1
    assert s.revision() == 2


def test_create_rejects_an_object_that_already_has_a_resource_version(s: MemoryStorage) -> None:
    with pytest.raises(InvalidObject):
        s.create("/a", {"metadata": {"name": "a", "resourceVersion": "7"}})
    assert s.revision() == 1
    s.create("/b", {"metadata": {"resourceVersion": ""}})
    s.create("/c", {"metadata": {"resourceVersion": "0"}})
    assert [rv(o) for o in s.list().items] == ["2", "3"]


def test_create_after_delete_makes_a_new_object(s: MemoryStorage) -> None:
    s.create("/a", obj("a", gen=1))
    s.delete("/a")
    again = s.create("/a", obj("a", gen=2))
    assert rv(again) == "4"
    assert again["gen"] == 2


# ---------------------------------------------------------------------------------- copies


def test_arguments_are_never_modified(s: MemoryStorage) -> None:
    given = obj("a", spec={"n": [1]})
    created = s.create("/a", given)
    assert "resourceVersion" not in given["metadata"]
    upd = {**created, "spec": {"n": [2]}}
    upd["metadata"] = dict(created["metadata"])
    before = repr(upd)
    s.update("/a", upd)
    assert repr(upd) == before


def test_mutating_inputs_or_outputs_never_changes_stored_state(s: MemoryStorage) -> None:
    given = obj("a", spec={"n": [1]})
    created = s.create("/a", given)
    given["spec"]["n"].append(99)
    created["spec"]["n"].append(98)
    created["metadata"]["resourceVersion"] = "999"
    got = s.get("/a")
    got["spec"]["n"].append(97)
    s.list().items[0]["spec"]["n"].append(96)

    def fn(cur: Any) -> Any:
        cur["spec"]["n"].append(95)
        raise RuntimeError("abandon")

    with pytest.raises(RuntimeError):
        s.guaranteed_update("/a", fn)
    assert s.get("/a") == {"metadata": {"name": "a", "namespace": "ns", "resourceVersion": "2"},
                           "spec": {"n": [1]}}  # fmt: skip


def test_guaranteed_update_result_is_copied_in(s: MemoryStorage) -> None:
    s.create("/a", obj("a", n=[1]))
    kept: list[Any] = []

    def fn(cur: Any) -> Any:
        kept.append(cur)
        cur["n"].append(2)
        return cur

    s.guaranteed_update("/a", fn)
    kept[0]["n"].append(3)
    assert s.get("/a")["n"] == [1, 2]


# ---------------------------------------------------------------------------------- get


def test_get_missing_raises_not_found_which_is_a_lookup_error(s: MemoryStorage) -> None:
    with pytest.raises(NotFound) as ei:
        s.get("/nope")
    assert isinstance(ei.value, LookupError)
    assert isinstance(ei.value, StorageError)
    assert ei.value.key == "/nope"


@pytest.mark.parametrize("key", ["", None, 3, b"/a"])
def test_bad_keys_are_rejected(s: MemoryStorage, key: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        s.create(key, obj("a"))
    with pytest.raises((TypeError, ValueError)):
        s.get(key)
    assert s.revision() == 1


# ---------------------------------------------------------------------------------- update


def test_update_is_a_compare_and_swap_on_the_resource_version(s: MemoryStorage) -> None:
    v1 = s.create("/a", obj("a", n=1))
    v2 = s.update("/a", {**v1, "n": 2})
    assert v2["n"] == 2
    assert rv(v2) == "3"
    with pytest.raises(Conflict) as ei:
        s.update("/a", {**v1, "n": 3})  # stale: read at "2"
    assert (ei.value.expected, ei.value.actual) == ("2", "3")
    assert s.get("/a") == v2
    assert s.revision() == 3


def test_update_without_a_resource_version_conflicts(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    with pytest.raises(Conflict):
        s.update("/a", obj("a", n=2))
    assert s.revision() == 2


def test_update_of_a_missing_key_raises_not_found(s: MemoryStorage) -> None:
    with pytest.raises(NotFound):
        s.update("/a", {"metadata": {"resourceVersion": "1"}})
    assert s.revision() == 1


def test_update_with_an_unparsable_version_is_rejected(s: MemoryStorage) -> None:
    a = s.create("/a", obj("a"))
    a["metadata"]["resourceVersion"] = "v2"
    with pytest.raises(InvalidResourceVersion):
        s.update("/a", a)
    assert isinstance(InvalidResourceVersion("x"), ValueError)


def test_unchanged_update_writes_nothing(s: MemoryStorage) -> None:
    a = s.create("/a", obj("a", n=1))
    w = s.watch("/", str(s.revision()))
    same = s.update("/a", a)
    assert same == a
    assert s.revision() == 2
    same = s.guaranteed_update("/a", lambda cur: cur)
    assert same == a
    assert s.revision() == 2
    with pytest.raises(TimeoutError):
        w.next_event(0)
    w.stop()


# ------------------------------------------------------------------------ guaranteed_update


def test_guaranteed_update_retries_on_the_fresh_state_after_a_conflict(s: MemoryStorage) -> None:
    s.create("/a", obj("a", n=0, log=[]))
    seen: list[int] = []

    def fn(cur: Any) -> Any:
        seen.append(cur["n"])
        if len(seen) == 1:  # a concurrent writer gets in between our read and our write
            s.update("/a", {**cur, "n": 10, "log": ["other"]})
        return {**cur, "n": cur["n"] + 1, "log": [*cur["log"], "mine"]}

    out = s.guaranteed_update("/a", fn)
    assert seen == [0, 10]
    assert out["n"] == 11
    assert out["log"] == ["other", "mine"]
    assert rv(out) == "4"


def test_guaranteed_update_propagates_fn_errors_and_writes_nothing(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))

    def fn(cur: Any) -> Any:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        s.guaranteed_update("/a", fn)
    assert s.revision() == 2


def test_guaranteed_update_of_a_key_deleted_meanwhile_raises_not_found(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))

    def fn(cur: Any) -> Any:
        s.delete("/a")
        return cur

    with pytest.raises(NotFound):
        s.guaranteed_update("/a", fn)
    with pytest.raises(NotFound):
        s.guaranteed_update("/missing", fn)


def test_guaranteed_update_ignores_the_version_fn_returns(s: MemoryStorage) -> None:
    s.create("/a", obj("a", n=0))

    def fn(cur: Any) -> Any:
        cur["metadata"]["resourceVersion"] = "12345"
        cur["n"] = 1
        return cur

    assert rv(s.guaranteed_update("/a", fn)) == "3"


def test_eight_threads_incrementing_one_counter_end_exact(
    s: MemoryStorage, fast_switching: None
) -> None:
    s.create("/counter", obj("counter", n=0))
    start = s.revision()
    w = s.watch("/counter", str(start))
    threads, per_thread = 8, 150
    calls = [0] * threads
    first_read = threading.Barrier(threads)

    def work(i: int) -> None:
        def inc(cur: Any) -> Any:
            calls[i] += 1
            if calls[i] == 1:
                # every thread has read the same version before anyone writes: 7 must retry
                first_read.wait()
            cur["n"] += 1
            return cur

        for _ in range(per_thread):
            s.guaranteed_update("/counter", inc)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    total = threads * per_thread
    final = s.get("/counter")
    assert final["n"] == total
    assert s.revision() == start + total
    assert rv(final) == str(start + total)
    assert sum(calls) >= total + threads - 1  # the colliding first writes were retried
    # every increment is a distinct revision, seen in order with its own value
    events = [w.next_event(5) for _ in range(total)]
    assert [(e.type, rv(e.object), e.object["n"]) for e in events if e] == [
        (EventType.MODIFIED, str(start + i), i) for i in range(1, total + 1)
    ]
    w.stop()


# ---------------------------------------------------------------------------------- delete


def test_delete_returns_the_last_state_stamped_with_the_deletion_revision(
    s: MemoryStorage,
) -> None:
    s.create("/a", obj("a", n=1))
    gone = s.delete("/a")
    assert gone["n"] == 1
    assert rv(gone) == "3"
    with pytest.raises(NotFound):
        s.get("/a")
    with pytest.raises(NotFound):
        s.delete("/a")
    assert s.revision() == 3


def test_delete_precondition_conflict_deletes_nothing(s: MemoryStorage) -> None:
    a = s.create("/a", obj("a"))
    s.update("/a", {**a, "n": 2})
    with pytest.raises(Conflict):
        s.delete("/a", resource_version=rv(a))
    assert s.get("/a")["n"] == 2
    assert s.revision() == 3
    assert rv(s.delete("/a", resource_version="3")) == "4"


def test_delete_with_an_empty_precondition_is_unconditional(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    assert rv(s.delete("/a", resource_version="")) == "3"


# ------------------------------------------------------------------------------------ list


def test_list_returns_prefix_matches_sorted_by_key_and_the_current_revision(
    s: MemoryStorage,
) -> None:
    for key in ["/pods/b", "/pods/a", "/podsx/c", "/nodes/n", "/pods/c"]:
        s.create(key, obj(key))
    s.delete("/pods/c")
    res = s.list("/pods/")
    assert isinstance(res, ListResult)
    assert [o["metadata"]["name"] for o in res.items] == ["/pods/a", "/pods/b"]
    assert res.resource_version == "7" == str(s.revision())
    assert [o["metadata"]["name"] for o in s.list().items] == [
        "/nodes/n",
        "/pods/a",
        "/pods/b",
        "/podsx/c",
    ]
    assert s.list("/zzz") == ListResult([], "7")


def test_list_version_must_be_neither_too_new_nor_compacted(s: MemoryStorage) -> None:
    for i in range(5):
        s.create(f"/k{i}", obj(str(i)))
    s.compact(4)
    for ok in ["", "0", "4", "6"]:
        assert len(s.list("/", ok).items) == 5
    with pytest.raises(TooLargeResourceVersion) as ei:
        s.list("/", "7")
    assert (ei.value.resource_version, ei.value.current) == ("7", "6")
    with pytest.raises(ResourceExpired) as ex:
        s.list("/", "3")
    assert ex.value.resource_version == "3"
    with pytest.raises(InvalidResourceVersion):
        s.list("/", "-1")


# ------------------------------------------------------------------------- metadata shapes


class _Meta:
    def __init__(self, name: str) -> None:
        self.name = name
        self.resource_version: str | None = None


class _Model:
    """Shaped like the official kubernetes client's models."""

    def __init__(self, name: str, n: int) -> None:
        self.metadata = _Meta(name)
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Model) and vars(self.metadata) == vars(other.metadata) and (
            self.n == other.n
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]


def test_objects_with_a_metadata_attribute_are_stored_and_stamped(s: MemoryStorage) -> None:
    m = s.create("/m", _Model("m", 1))
    assert m.metadata.resource_version == "2"
    m.n = 2
    m2 = s.update("/m", m)
    assert m2.metadata.resource_version == "3"
    assert s.get("/m").n == 2
    ns = s.create("/ns", SimpleNamespace(metadata=SimpleNamespace(name="ns")))
    assert ns.metadata.resource_version == "4"
    camel = s.create("/c", SimpleNamespace(metadata=SimpleNamespace(resourceVersion=None)))
    assert camel.metadata.resourceVersion == "5"
    md = s.create("/d", SimpleNamespace(metadata={"name": "d"}))
    assert md.metadata["resourceVersion"] == "6"


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "no metadata"},
        {"metadata": None},
        {"metadata": "a string"},
        SimpleNamespace(name="x"),
        SimpleNamespace(metadata=None),
        42,
        None,
    ],
)
def test_objects_without_metadata_are_rejected_with_nothing_applied(
    s: MemoryStorage, bad: Any
) -> None:
    s.create("/a", obj("a"))
    with pytest.raises(InvalidObject) as ei:
        s.create("/b", bad)
    assert "metadata" in str(ei.value)
    with pytest.raises(InvalidObject):
        s.update("/a", bad)
    with pytest.raises(InvalidObject):
        s.guaranteed_update("/a", lambda cur: bad)
    assert s.revision() == 2
    assert [o["metadata"]["name"] for o in s.list().items] == ["a"]


def test_history_limit_must_be_positive() -> None:
    for bad in [0, -1, 1.5, True]:
        with pytest.raises(ValueError, match="history_limit must be a positive int or None, got"):
            MemoryStorage(history_limit=bad)  # type: ignore[arg-type]
    MemoryStorage(history_limit=None)

"""Owner references and RefManager.claim: every branch of upstream's claimObject as a table, the
cases of TestClaimPods (controller_ref_manager_test.go), and can_adopt at most once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import goprims
from goprims.controller import AdoptionRefused, RefManager, controller_of, owner_reference
from goprims.storage import NotFound

OWNER_UID = "123"
PROD = {"type": "production"}
TEST = {"type": "testing"}


def owner(
    uid: str = OWNER_UID, *, deleting: bool = False, namespace: str = "default"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"rs-{uid}", "namespace": namespace, "uid": uid}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def pod(
    name: str,
    labels: dict[str, str],
    owned_by: dict[str, Any] | None = None,
    *,
    deleting: bool = False,
    namespace: str = "default",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if owned_by is not None:
        meta["ownerReferences"] = [owner_reference(owned_by, kind="Fake", api_version="apps/v1")]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


class Recorder:
    """adopt/release callbacks that record the calls and can raise."""

    def __init__(
        self, adopt_error: Exception | None = None, release_error: Exception | None = None
    ) -> None:
        self.adopted: list[str] = []
        self.released: list[str] = []
        self.adopt_error = adopt_error
        self.release_error = release_error

    def adopt(self, obj: dict[str, Any]) -> None:
        self.adopted.append(obj["metadata"]["name"])
        if self.adopt_error is not None:
            raise self.adopt_error

    def release(self, obj: dict[str, Any]) -> None:
        self.released.append(obj["metadata"]["name"])
        if self.release_error is not None:
            raise self.release_error


def selects(labels: dict[str, str]) -> Any:
    return lambda obj: all(obj["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


OTHER = owner("AAAAA")
OURS = owner()

DELETED = owner(deleting=True)
CLUSTER = owner(namespace="")

# case: (owner, object, claimed, adopt called, release called)
BRANCHES = {
    "owned by another: skip": (OURS, pod("p", PROD, OTHER), False, False, False),
    "owned by another, not matching: skip": (OURS, pod("p", TEST, OTHER), False, False, False),
    "ours and matching: keep": (OURS, pod("p", PROD, OURS), True, False, False),
    "ours and matching, owner being deleted: keep": (DELETED, pod("p", PROD, OURS), True, 0, 0),
    "ours, not matching: release": (OURS, pod("p", TEST, OURS), False, False, True),
    "ours, not matching, owner being deleted: no release": (
        DELETED,
        pod("p", TEST, OURS),
        False,
        False,
        False,
    ),
    "orphan, matching: adopt": (OURS, pod("p", PROD), True, True, False),
    "orphan, not matching: skip": (OURS, pod("p", TEST), False, False, False),
    "orphan, owner being deleted: skip": (DELETED, pod("p", PROD), False, False, False),
    "orphan being deleted: skip": (OURS, pod("p", PROD, deleting=True), False, False, False),
    "orphan in another namespace: skip": (OURS, pod("p", PROD, namespace="x"), False, 0, 0),
    "orphan in any namespace, cluster-scoped owner: adopt": (
        CLUSTER,
        pod("p", PROD, namespace="x"),
        True,
        True,
        False,
    ),
}


@pytest.mark.parametrize(
    ("owner_obj", "obj", "claimed", "adopted", "released"),
    list(BRANCHES.values()),
    ids=list(BRANCHES),
)
def test_claim_branches(
    owner_obj: dict[str, Any], obj: dict[str, Any], claimed: bool, adopted: bool, released: bool
) -> None:
    rec = Recorder()
    m = RefManager(owner_obj, selects(PROD), rec.adopt, rec.release)
    got, errors = m.claim([obj])
    assert names(got) == (["p"] if claimed else [])
    assert errors == []
    assert rec.adopted == (["p"] if adopted else [])
    assert rec.released == (["p"] if released else [])


@pytest.mark.parametrize(
    ("obj", "which"),
    [(pod("p", PROD), "adopt"), (pod("p", TEST, OURS), "release")],
    ids=["adopt", "release"],
)
def test_not_found_from_adopt_or_release_is_not_claimed_nor_an_error(
    obj: dict[str, Any], which: str
) -> None:
    rec = Recorder(adopt_error=NotFound("gone"), release_error=NotFound("gone"))
    got, errors = RefManager(OURS, selects(PROD), rec.adopt, rec.release).claim([obj])
    assert got == []
    assert errors == []
    assert (rec.adopted if which == "adopt" else rec.released) == ["p"]


@pytest.mark.parametrize(
    ("obj", "which"),
    [(pod("p", PROD), "adopt"), (pod("p", TEST, OURS), "release")],
    ids=["adopt", "release"],
)
def test_other_errors_are_collected_and_the_rest_still_claimed(
    obj: dict[str, Any], which: str
) -> None:
    boom = RuntimeError(f"{which} conflict")
    rec = Recorder(adopt_error=boom, release_error=boom)
    kept = pod("kept", PROD, OURS)
    got, errors = RefManager(OURS, selects(PROD), rec.adopt, rec.release).claim([obj, kept])
    assert names(got) == ["kept"]
    assert errors == [boom]


def test_claim_pods_table_as_upstream() -> None:
    # TestClaimPods: a mix of all kinds, in one claim; claimed keeps the input order.
    objs = [
        pod("pod1", PROD, OURS),
        pod("pod2", TEST, OURS),  # released
        pod("pod3", PROD),  # adopted
        pod("pod4", PROD, OTHER),
        pod("pod5", PROD, deleting=True),
    ]
    rec = Recorder()
    got, errors = RefManager(OURS, selects(PROD), rec.adopt, rec.release).claim(objs)
    assert names(got) == ["pod1", "pod3"]
    assert errors == []
    assert (rec.adopted, rec.released) == (["pod3"], ["pod2"])  # 2 patches


def test_can_adopt_runs_at_most_once_across_many_orphans() -> None:
    calls = 0

    def can_adopt() -> bool:
        nonlocal calls
        calls += 1
        return True

    rec = Recorder()
    m = RefManager(OURS, selects(PROD), rec.adopt, rec.release, can_adopt=can_adopt)
    orphans = [pod(f"p{i}", PROD) for i in range(50)]
    got, errors = m.claim(orphans)
    assert len(got) == 50
    assert errors == []
    m.claim([pod("later", PROD)])
    assert calls == 1


def test_can_adopt_is_not_called_when_nothing_is_adopted() -> None:
    calls = 0

    def can_adopt() -> None:
        nonlocal calls
        calls += 1

    rec = Recorder()
    m = RefManager(OURS, selects(PROD), rec.adopt, rec.release, can_adopt=can_adopt)
    m.claim([pod("a", PROD, OURS), pod("b", TEST, OURS), pod("c", TEST), pod("d", PROD, OTHER)])
    assert calls == 0


def test_a_raising_can_adopt_fails_every_adoption_with_its_error_once_called() -> None:
    calls = 0
    deleted = RuntimeError("owner has just been deleted")

    def can_adopt() -> None:
        nonlocal calls
        calls += 1
        raise deleted

    rec = Recorder()
    m = RefManager(OURS, selects(PROD), rec.adopt, rec.release, can_adopt=can_adopt)
    got, errors = m.claim([pod("a", PROD), pod("ours", PROD, OURS), pod("b", PROD)])
    assert names(got) == ["ours"]  # keeping what we own needs no adoption
    assert errors == [deleted, deleted]
    assert calls == 1
    assert rec.adopted == []


def test_can_adopt_returning_false_refuses_adoption() -> None:
    rec = Recorder()
    m = RefManager(OURS, selects(PROD), rec.adopt, rec.release, can_adopt=lambda: False)
    got, errors = m.claim([pod("a", PROD)])
    assert got == []
    assert len(errors) == 1
    assert isinstance(errors[0], AdoptionRefused)
    assert goprims.AdoptionRefused is AdoptionRefused


def test_can_adopt_runs_once_under_concurrent_claims() -> None:
    calls = 0
    gate = threading.Event()

    def can_adopt() -> None:
        nonlocal calls
        calls += 1
        gate.wait(5)

    rec_lock = threading.Lock()
    adopted: list[str] = []

    def adopt(obj: dict[str, Any]) -> None:
        with rec_lock:
            adopted.append(obj["metadata"]["name"])

    m = RefManager(OURS, selects(PROD), adopt, lambda obj: None, can_adopt=can_adopt)
    threads = [threading.Thread(target=m.claim, args=([pod(f"p{i}", PROD)],)) for i in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert calls == 1
    assert sorted(adopted) == sorted(f"p{i}" for i in range(8))


def test_owner_reference_and_controller_of() -> None:
    ref = owner_reference(OURS, kind="ReplicaSet", api_version="apps/v1")
    assert ref == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "rs-123",
        "uid": "123",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    child = pod("c", PROD)
    assert controller_of(child) is None
    child["metadata"]["ownerReferences"] = [
        {**ref, "uid": "not-a-controller", "controller": False},
        ref,
    ]
    assert controller_of(child) == ref


def test_owner_reference_needs_a_uid_kind_and_version() -> None:
    with pytest.raises(ValueError, match="uid"):
        owner_reference({"metadata": {"name": "x"}}, kind="K", api_version="v1")
    with pytest.raises(ValueError, match="kind"):
        owner_reference(OURS, kind="", api_version="v1")
    with pytest.raises(ValueError, match="uid"):
        RefManager({"metadata": {}}, selects(PROD), print, print)
    with pytest.raises(TypeError, match="metadata"):
        controller_of({"spec": {}})

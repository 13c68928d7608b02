"""The ReplicaSet-style example controller (examples/replicaset.py) converges under injected
create failures, adopts and releases by labels, never creates a duplicate child, and needs a
bounded number of syncs."""

from __future__ import annotations

from typing import Any

import pytest
from examples_support import ROOT, load_example

from goprims.controller import controller_of, owner_reference
from goprims.storage import MemoryStorage

rsx = load_example(ROOT / "examples/replicaset.py", "replicaset_example")


def pod(name: str, app: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "labels": {"app": app}}
    if owner is not None:
        meta["ownerReferences"] = [owner_reference(owner, kind="ReplicaSet", api_version="apps/v1")]
    return {"metadata": meta}


def max_owned_during(storage: MemoryStorage, since: int) -> dict[str, int]:
    """Replay the pod history after revision ``since``: the most pods each owner uid controlled
    at any moment (a duplicate child would push it above the desired count)."""
    current: dict[str, set[str]] = {}
    peak: dict[str, int] = {}
    owner_of: dict[str, str | None] = {}
    end = storage.revision()
    if end <= since:
        return peak
    with storage.watch(rsx.POD_PREFIX, str(since)) as watch:
        for ev in watch:
            obj = ev.object
            name = obj["metadata"]["name"]
            old = owner_of.pop(name, None)
            if old is not None:
                current[old].discard(name)
            if ev.type != "DELETED":
                ref = controller_of(obj)
                if ref is not None:
                    owner_of[name] = ref["uid"]
                    current.setdefault(ref["uid"], set()).add(name)
                    peak[ref["uid"]] = max(peak.get(ref["uid"], 0), len(current[ref["uid"]]))
            if int(obj["metadata"]["resourceVersion"]) >= end:
                break
    return peak


@pytest.mark.parametrize("seed", [7, 11])
def test_converges_under_create_failures_with_no_duplicate_children(seed: int) -> None:
    storage = MemoryStorage()
    start = storage.revision()
    web0 = rsx.create_replica_set(storage, rsx.replica_set("default", "web-0", 3, "web-0"))
    web1 = rsx.create_replica_set(storage, rsx.replica_set("default", "web-1", 10, "web-1"))
    web2 = rsx.create_replica_set(storage, rsx.replica_set("default", "web-2", 25, "web-2"))
    sets = [web0, web1, web2]
    # Two matching orphans (adopted by web-0), a pod of web-1 relabelled away (released),
    # and an orphan nobody selects (left alone).
    for p in (
        pod("stray-a", "web-0"),
        pod("stray-b", "web-0"),
        pod("relabelled", "other", owner=web1),
        pod("bystander", "db"),
    ):
        storage.create(f"{rsx.POD_PREFIX}default/{p['metadata']['name']}", p)

    faults = rsx.FaultInjector(seed, create_failure_rate=0.3)
    with rsx.ReplicaSetController(storage, workers=2, faults=faults) as ctl:
        assert ctl.wait_converged(60)
        assert rsx.pods_per_owner(storage, sets) == {"web-0": 3, "web-1": 10, "web-2": 25}
        assert faults.failed_creates > 0  # the injector did inject
        assert ctl.creates == 1 + 10 + 25  # web-0 adopted two of its three
        first_syncs = ctl.syncs

        rsx.scale(storage, "default/web-2", 5)
        rsx.scale(storage, "default/web-1", 12)
        assert ctl.wait_converged(60)
        assert rsx.pods_per_owner(storage, sets) == {"web-0": 3, "web-1": 12, "web-2": 5}
        assert ctl.deletes == 20
        assert ctl.creates == 1 + 12 + 25
        total_syncs = ctl.syncs

    owners = {p["metadata"]["name"]: controller_of(p) for p in storage.list(rsx.POD_PREFIX).items}
    assert owners["relabelled"] is None
    assert owners["bystander"] is None
    stray_a, stray_b = owners["stray-a"], owners["stray-b"]
    assert stray_a is not None
    assert stray_b is not None
    assert stray_a["uid"] == stray_b["uid"] == web0["metadata"]["uid"]
    # No duplicate child at any moment: no owner ever controlled more pods than it wanted.
    peak = max_owned_during(storage, start)
    assert peak[web0["metadata"]["uid"]] == 3
    assert peak[web1["metadata"]["uid"]] == 12
    assert peak[web2["metadata"]["uid"]] == 25
    # Bounded syncs: a sync per pod event at worst (creates, failures, adoptions, releases),
    # plus a few per ReplicaSet.
    events = ctl.creates + faults.failed_creates + 3 + ctl.deletes
    assert first_syncs <= 1 + 10 + 25 + faults.failed_creates + 3 + 3 * len(sets)
    assert total_syncs <= events + 6 * len(sets)


def test_pods_deleted_behind_its_back_are_replaced() -> None:
    storage = MemoryStorage()
    web = rsx.create_replica_set(storage, rsx.replica_set("default", "web", 6, "web"))
    with rsx.ReplicaSetController(storage, faults=rsx.FaultInjector(3, 0.2)) as ctl:
        assert ctl.wait_converged(60)
        victims = sorted(p["metadata"]["name"] for p in storage.list(rsx.POD_PREFIX).items)[:4]
        for name in victims:
            storage.delete(f"{rsx.POD_PREFIX}default/{name}")
        assert ctl.wait_converged(60)
    names = [p["metadata"]["name"] for p in storage.list(rsx.POD_PREFIX).items]
    assert len(names) == 6
    assert not set(victims) & set(names)
    assert rsx.pods_per_owner(storage, [web]) == {"web": 6}

"""GenerationalMap/Snapshot (kube-scheduler cache UpdateSnapshot) and AssumeCache (assumed pods),
cases from ``backend/cache/cache_test.go`` (TestUpdateSnapshot, TestExpirePod,
TestAddPodWillConfirm, TestForgetPod, ...)."""

from __future__ import annotations

import copy
import random
import threading
from typing import Any

import pytest

from goprims.clock import FakeClock
from goprims.scheduling import AssumeCache, GenerationalMap, Snapshot
from goprims.scheduling import generational_map as gm


class CountingClone:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, v: Any) -> Any:
        self.calls.append(v)
        return copy.deepcopy(v)


def filled(n: int) -> tuple[GenerationalMap[str, dict[str, int]], CountingClone]:
    clone = CountingClone()
    m: GenerationalMap[str, dict[str, int]] = GenerationalMap(clone=clone)
    for i in range(n):
        m.set(f"node-{i}", {"cpu": i})
    return m, clone


def test_update_snapshot_clones_exactly_the_one_changed_entry_of_1000() -> None:
    m, clone = filled(1000)
    snap: Snapshot[str, dict[str, int]] = Snapshot()
    assert len(m.update_snapshot(snap)) == 1000
    assert len(clone.calls) == 1000
    before = dict(snap)
    clone.calls.clear()
    m.mutate("node-7", lambda v: {**v, "cpu": 70})
    assert m.update_snapshot(snap) == {"node-7"}
    assert clone.calls == [{"cpu": 70}]
    assert snap["node-7"] == {"cpu": 70}
    for k, v in before.items():
        if k != "node-7":
            assert snap[k] is v  # unchanged entries keep their identity
    assert snap["node-7"] is not before["node-7"]


def test_update_snapshot_with_no_change_clones_nothing() -> None:
    m, clone = filled(10)
    snap: Snapshot[str, dict[str, int]] = Snapshot()
    m.update_snapshot(snap)
    clone.calls.clear()
    assert m.update_snapshot(snap) == set()
    assert clone.calls == []


def test_snapshot_values_are_clones_not_the_stored_objects() -> None:
    m, _ = filled(1)
    snap: Snapshot[str, dict[str, int]] = Snapshot()
    m.update_snapshot(snap)
    stored = m.get("node-0")
    assert snap["node-0"] == stored
    assert snap["node-0"] is not stored


def test_a_deleted_key_disappears_from_the_snapshot() -> None:
    m, clone = filled(5)
    snap: Snapshot[str, dict[str, int]] = Snapshot()
    m.update_snapshot(snap)
    clone.calls.clear()
    assert m.delete("node-2")
    assert not m.delete("node-2")
    assert m.update_snapshot(snap) == {"node-2"}
    assert "node-2" not in snap
    assert len(snap) == 4
    assert clone.calls == []


def test_delete_then_readd_gets_a_strictly_larger_generation_and_is_picked_up() -> None:
    """Kubernetes #63262: a node deleted and re-added under the same name."""
    m, _ = filled(3)
    snap: Snapshot[str, dict[str, int]] = Snapshot()
    m.update_snapshot(snap)
    g0 = snap.generation
    m.delete("node-1")
    g1 = m.generation
    m.set("node-1", {"cpu": 99})
    assert g0 < g1 < m.generation
    assert m.update_snapshot(snap) == {"node-1"}
    assert snap["node-1"] == {"cpu": 99}
    assert snap.generation == m.generation


def test_generations_are_global_across_maps() -> None:
    a: GenerationalMap[str, int] = GenerationalMap()
    b: GenerationalMap[str, int] = GenerationalMap()
    a.set("x", 1)
    b.set("x", 1)
    a.set("y", 2)
    assert a.generation > b.generation > 0


def test_a_snapshot_filled_by_another_map_is_rebuilt() -> None:
    a: GenerationalMap[str, int] = GenerationalMap()
    b: GenerationalMap[str, int] = GenerationalMap()
    a.set("only-a", 1)
    b.set("only-b", 2)
    snap: Snapshot[str, int] = Snapshot()
    a.update_snapshot(snap)
    b.update_snapshot(snap)
    assert dict(snap) == {"only-b": 2}


def test_mutate_of_an_absent_key_raises_key_error_and_get_returns_none() -> None:
    m: GenerationalMap[str, int] = GenerationalMap()
    with pytest.raises(KeyError):
        m.mutate("x", lambda v: v + 1)
    assert m.get("x") is None
    m.set("x", 1)
    assert m.mutate("x", lambda v: v + 1) == 2
    assert m.get("x") == 2
    assert "x" in m
    assert len(m) == 1
    m.delete("x")
    with pytest.raises(KeyError):
        m.mutate("x", lambda v: v + 1)


def test_keys_are_in_least_recently_changed_order() -> None:
    m: GenerationalMap[str, int] = GenerationalMap()
    for k in "abc":
        m.set(k, 0)
    m.mutate("a", lambda v: 1)
    assert m.keys() == ["b", "c", "a"]


def test_deletions_forgotten_as_tombstones_are_still_pruned_from_an_old_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gm, "_MAX_TOMBSTONES", 4)
    m, _ = filled(6)
    snap: Snapshot[str, dict[str, int]] = Snapshot()
    m.update_snapshot(snap)
    for i in range(6):
        m.delete(f"node-{i}")  # tombstones dropped along the way
    m.set("fresh", {"cpu": 1})
    assert len(m._entries) < 7  # some tombstones were forgotten
    touched = m.update_snapshot(snap)
    assert dict(snap) == {"fresh": {"cpu": 1}}
    assert touched == {"fresh"} | {f"node-{i}" for i in range(6)}


@pytest.mark.parametrize("seed", range(5))
def test_random_mutations_keep_snapshots_equal_to_the_map_cloning_only_changes(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gm, "_MAX_TOMBSTONES", 8)
    rng = random.Random(seed)
    clone = CountingClone()
    m: GenerationalMap[int, list[int]] = GenerationalMap(clone=clone)
    model: dict[int, list[int]] = {}
    snaps = [Snapshot[int, list[int]]() for _ in range(3)]
    for _ in range(400):
        k = rng.randrange(30)
        op = rng.random()
        if op < 0.5:
            m.set(k, [rng.randrange(100)])
            model[k] = m.get(k)  # type: ignore[assignment]
        elif op < 0.7 and k in model:
            m.mutate(k, lambda v: [*v, 1])
            model[k] = m.get(k)  # type: ignore[assignment]
        elif op < 0.85:
            m.delete(k)
            model.pop(k, None)
        else:
            snap = rng.choice(snaps)
            before = dict(snap)
            clone.calls.clear()
            touched = m.update_snapshot(snap)
            assert dict(snap) == model
            assert len(clone.calls) == len([k for k in touched if k in model])
            for key, v in snap.items():
                if key not in touched:
                    assert before[key] is v


def test_concurrent_writers_and_a_snapshotter_end_consistent() -> None:
    m: GenerationalMap[int, int] = GenerationalMap()
    snap: Snapshot[int, int] = Snapshot()
    barrier = threading.Barrier(5)

    def writer(base: int) -> None:
        barrier.wait()
        for i in range(500):
            m.set(base + i % 50, i)
            if i % 7 == 0:
                m.delete(base + (i * 3) % 50)

    def snapshotter() -> None:
        barrier.wait()
        for _ in range(200):
            m.update_snapshot(snap)

    threads = [threading.Thread(target=writer, args=(b * 100,)) for b in range(4)]
    threads.append(threading.Thread(target=snapshotter))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.update_snapshot(snap)
    assert dict(snap) == {k: m.get(k) for k in m}


# ---------------------------------------------------------------------------- AssumeCache


def test_assume_twice_raises_and_get_reads_assumed_values() -> None:
    c: AssumeCache[str, str] = AssumeCache()
    c.assume("pod", "node-1")
    assert c.get("pod") == "node-1"
    assert c.is_assumed("pod")
    with pytest.raises(ValueError, match="already present"):
        c.assume("pod", "node-2")
    c.confirm("pod", "node-1")
    with pytest.raises(ValueError, match="already present"):
        c.assume("pod", "node-2")


def test_a_confirmed_entry_never_expires() -> None:
    """TestAddPodWillConfirm."""
    clock = FakeClock()
    c: AssumeCache[str, str] = AssumeCache(ttl=10.0, clock=clock)
    c.assume("a", "n1")
    c.assume("b", "n1")
    c.finish_binding("a")
    c.finish_binding("b")
    c.confirm("a", "n1")
    clock.step(20.0)
    assert c.cleanup() == ["b"]
    assert c.get("a") == "n1"
    assert not c.is_assumed("a")
    assert c.get("b") is None


def test_an_assumed_finished_entry_expires_after_the_ttl_and_not_before() -> None:
    """TestExpirePod."""
    clock = FakeClock()
    c: AssumeCache[str, str] = AssumeCache(ttl=10.0, clock=clock)
    c.assume("a", "n1")
    clock.step(5.0)
    assert c.finish_binding("a")  # the TTL starts here, not at assume
    clock.step(9.999)
    assert c.cleanup() == []
    clock.step(0.001)
    assert c.cleanup() == ["a"]
    assert "a" not in c


def test_an_assumed_unfinished_entry_never_expires() -> None:
    clock = FakeClock()
    c: AssumeCache[str, str] = AssumeCache(ttl=1.0, clock=clock)
    c.assume("a", "n1")
    clock.step(1000.0)
    assert c.cleanup() == []
    assert c.is_assumed("a")


def test_without_ttl_nothing_expires() -> None:
    clock = FakeClock()
    c: AssumeCache[str, str] = AssumeCache(clock=clock)
    c.assume("a", "n1")
    c.finish_binding("a")
    clock.step(1e9)
    assert c.cleanup() == []
    assert c.is_assumed("a")


def test_forget_drops_only_assumed_entries() -> None:
    """TestForgetPod."""
    c: AssumeCache[str, str] = AssumeCache()
    c.assume("a", "n1")
    assert c.forget("a") == "n1"
    assert c.get("a") is None
    with pytest.raises(ValueError, match="absent"):
        c.forget("a")
    c.confirm("b", "n2")
    with pytest.raises(ValueError, match="confirmed"):
        c.forget("b")


def test_confirm_of_an_absent_key_adds_it_and_remove_drops_only_confirmed_ones() -> None:
    """AddPod after expiry re-adds; RemovePod is for added pods only."""
    c: AssumeCache[str, str] = AssumeCache()
    c.confirm("a", "n1")
    assert c.get("a") == "n1"
    assert not c.is_assumed("a")
    c.confirm("a", "n2")  # an update of a confirmed key
    assert c.get("a") == "n2"
    c.assume("b", "n1")
    with pytest.raises(ValueError, match="assumed"):
        c.remove("b")
    assert c.remove("a") == "n2"
    with pytest.raises(ValueError, match="absent"):
        c.remove("a")
    assert c.assumed_keys() == ["b"]
    assert len(c) == 1


def test_finish_binding_of_a_key_that_is_not_assumed_does_nothing() -> None:
    c: AssumeCache[str, str] = AssumeCache(ttl=1.0)
    assert not c.finish_binding("absent")
    c.confirm("a", "n")
    assert not c.finish_binding("a")


@pytest.mark.parametrize("ttl", [0.0, -1.0, float("nan")])
def test_a_ttl_that_is_not_positive_raises_value_error(ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        AssumeCache(ttl=ttl)

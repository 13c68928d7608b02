"""Expectations and UIDTrackingExpectations: the cases of upstream's TestControllerExpectations
and TestUIDExpectations (pkg/controller/controller_utils_test.go), on a FakeClock."""

from __future__ import annotations

import random
import threading

import pytest

from goprims.clock import FakeClock
from goprims.controller import Expectations, UIDTrackingExpectations

KEY = "default/foobar"


def test_unknown_key_is_satisfied_and_observing_it_is_a_no_op() -> None:
    e = Expectations(clock=FakeClock())
    assert e.satisfied(KEY)
    e.creation_observed(KEY)
    e.deletion_observed(KEY)
    e.lower_expectations(KEY, 3, 3)
    e.raise_expectations(KEY, 3, 3)
    assert e.get(KEY) == (0, 0, False)
    assert e.satisfied(KEY)
    assert len(e) == 0


def test_counts_reaching_zero_satisfy_and_may_go_negative() -> None:
    e = Expectations(clock=FakeClock())
    e.expect(KEY, adds=2)
    assert not e.satisfied(KEY)
    e.creation_observed(KEY)
    assert not e.satisfied(KEY)
    assert e.get(KEY) == (1, 0, True)
    e.creation_observed(KEY)
    assert e.satisfied(KEY)
    e.creation_observed(KEY)  # more observed than expected
    assert e.get(KEY) == (-1, 0, True)
    assert e.satisfied(KEY)


def test_deletions_must_reach_zero_too() -> None:
    e = Expectations(clock=FakeClock())
    e.expect(KEY, adds=1, dels=1)
    e.creation_observed(KEY)
    assert not e.satisfied(KEY)  # a deletion is still expected
    e.deletion_observed(KEY)
    assert e.satisfied(KEY)


def test_expect_replaces_the_record_and_its_counts() -> None:
    e = Expectations(clock=FakeClock())
    e.expect(KEY, adds=10, dels=30)
    for _ in range(11):
        e.creation_observed(KEY)
    for _ in range(31):
        e.deletion_observed(KEY)
    assert e.get(KEY) == (-1, -1, True)
    e.expect(KEY, adds=1, dels=2)
    assert e.get(KEY) == (1, 2, True)
    e.expect_creations(KEY, 4)
    assert e.get(KEY) == (4, 0, True)
    e.expect_deletions(KEY, 5)
    assert e.get(KEY) == (0, 5, True)


def test_raise_and_lower_change_an_existing_record() -> None:
    e = Expectations(clock=FakeClock())
    e.expect(KEY, adds=1, dels=1)
    e.raise_expectations(KEY, 2, 3)
    assert e.get(KEY) == (3, 4, True)
    e.lower_expectations(KEY, 3, 4)
    assert e.get(KEY) == (0, 0, True)
    assert e.satisfied(KEY)


def test_a_record_is_satisfied_only_strictly_past_its_ttl() -> None:
    clock = FakeClock(1000.0)
    e = Expectations(ttl=30.0, clock=clock)
    e.expect(KEY, adds=1, dels=2)
    clock.step(30.0)
    assert not e.satisfied(KEY)  # exactly the TTL: not expired
    clock.step(1e-6)
    assert e.satisfied(KEY)
    assert e.get(KEY) == (1, 2, True)  # expiry does not drop the record
    e.expect(KEY, adds=1)  # a new expect restarts the TTL
    assert not e.satisfied(KEY)


def test_raising_does_not_restart_the_ttl() -> None:
    clock = FakeClock()
    e = Expectations(ttl=10.0, clock=clock)
    e.expect(KEY, adds=1)
    clock.step(9.0)
    e.raise_expectations(KEY, 1, 0)
    clock.step(1.5)
    assert e.satisfied(KEY)


def test_delete_forgets_the_key() -> None:
    e = Expectations(clock=FakeClock())
    e.expect(KEY, adds=1)
    e.delete(KEY)
    e.delete(KEY)  # harmless twice
    assert e.get(KEY) == (0, 0, False)
    assert e.satisfied(KEY)


def test_negative_or_nan_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl"):
        Expectations(ttl=-1.0)
    with pytest.raises(ValueError, match="ttl"):
        UIDTrackingExpectations(ttl=float("nan"))


def test_100_threads_observing_concurrently_end_exactly_satisfied() -> None:
    e = Expectations(clock=FakeClock())
    e.expect(KEY, adds=100, dels=100)
    start = threading.Barrier(100)

    def observe() -> None:
        start.wait()
        e.creation_observed(KEY)
        e.deletion_observed(KEY)

    threads = [threading.Thread(target=observe) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert e.get(KEY) == (0, 0, True)
    assert e.satisfied(KEY)


def test_concurrent_observers_of_many_keys_lose_no_count() -> None:
    e = Expectations(clock=FakeClock())
    keys = [f"ns/rc-{i}" for i in range(8)]
    for k in keys:
        e.expect(k, adds=400, dels=400)
    rng = random.Random(5)
    plans = [[rng.choice(keys) for _ in range(200)] for _ in range(16)]
    start = threading.Barrier(len(plans))

    def observe(plan: list[str]) -> None:
        start.wait()
        for k in plan:
            e.creation_observed(k)
            e.deletion_observed(k)

    threads = [threading.Thread(target=observe, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in keys:
        n = sum(plan.count(k) for plan in plans)
        assert e.get(k) == (400 - n, 400 - n, True)


# ----------------------------------------------------------------------------------- UID tracking


def test_uid_tracking_counts_each_expected_uid_once() -> None:
    e = UIDTrackingExpectations(clock=FakeClock())
    e.expect_deletions(KEY, ["default/p1", "default/p2", "default/p2"])  # duplicates count once
    assert e.get(KEY) == (0, 2, True)
    assert e.get_uids(KEY) == frozenset({"default/p1", "default/p2"})
    e.deletion_observed(KEY, "default/p1")
    e.deletion_observed(KEY, "default/p1")  # graceful delete, then the delete: counted once
    e.deletion_observed(KEY, "default/unknown")  # not expected: no change
    assert e.get(KEY) == (0, 1, True)
    assert not e.satisfied(KEY)
    assert e.get_uids(KEY) == frozenset({"default/p2"})
    e.deletion_observed(KEY, "default/p2")
    assert e.satisfied(KEY)
    assert e.get_uids(KEY) == frozenset()


def test_uid_tracking_per_controller_as_upstream() -> None:
    # TestUIDExpectations: four controllers, five pods each, satisfied in a random order.
    e = UIDTrackingExpectations(clock=FakeClock())
    rc_to_pods = {f"default/rc-{i}": [f"default/pod{j}-rc-{i}" for j in range(5)] for i in range(4)}
    for rc, pods in rc_to_pods.items():
        e.expect_deletions(rc, pods)
    order = list(rc_to_pods)
    random.Random(1).shuffle(order)
    for rc in order:
        assert not e.satisfied(rc)
        for p in rc_to_pods[rc]:
            e.deletion_observed(rc, p)
        assert e.satisfied(rc)
        e.delete(rc)
        assert e.get_uids(rc) is None
        assert e.get(rc) == (0, 0, False)


def test_uid_tracking_observation_for_another_key_does_not_count() -> None:
    e = UIDTrackingExpectations(clock=FakeClock())
    e.expect_deletions("a", ["x"])
    e.expect_deletions("b", ["y"])
    e.deletion_observed("a", "y")
    assert e.get("a") == (0, 1, True)
    assert e.get("b") == (0, 1, True)


def test_uid_tracking_expect_deletions_replaces_the_set() -> None:
    e = UIDTrackingExpectations(clock=FakeClock())
    e.expect_deletions(KEY, ["a", "b"])
    e.expect_deletions(KEY, ["c"])
    e.deletion_observed(KEY, "a")
    assert e.get(KEY) == (0, 1, True)
    assert e.get_uids(KEY) == frozenset({"c"})


def test_uid_tracking_keeps_creations_and_ttl_of_plain_expectations() -> None:
    clock = FakeClock()
    e = UIDTrackingExpectations(ttl=5.0, clock=clock)
    e.expect_creations(KEY, 2)
    e.creation_observed(KEY)
    assert e.get(KEY) == (1, 0, True)
    assert not e.satisfied(KEY)
    assert e.get_uids(KEY) is None
    clock.step(5.5)
    assert e.satisfied(KEY)


def test_uid_tracking_refuses_a_count_or_a_single_string() -> None:
    e = UIDTrackingExpectations(clock=FakeClock())
    with pytest.raises(TypeError, match="iterable of uids"):
        e.expect_deletions(KEY, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable of uids"):
        e.expect_deletions(KEY, "default/p1")
    assert e.get(KEY) == (0, 0, False)


def test_uid_tracking_concurrent_duplicate_observations_count_once() -> None:
    e = UIDTrackingExpectations(clock=FakeClock())
    uids = [f"p{i}" for i in range(50)]
    e.expect_deletions(KEY, uids)
    start = threading.Barrier(8)

    def observe() -> None:
        start.wait()
        for u in uids:  # every thread observes every uid: each must count once
            e.deletion_observed(KEY, u)

    threads = [threading.Thread(target=observe) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert e.get(KEY) == (0, 0, True)

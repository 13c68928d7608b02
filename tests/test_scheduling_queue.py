"""BackoffPriorityQueue: the tiers, backoff, parking, the lost-wakeup guard, update/delete/
activate, flushes on the clock and close. Cases ported from kube-scheduler's
``scheduling_queue_test.go`` (1.21/1.22 era and current), with a FakeClock throughout."""

from __future__ import annotations

import threading
from typing import Any

import pytest

pytest.register_assert_rewrite("scheduling_support")
from scheduling_support import (  # noqa: E402
    Bg,
    Job,
    higher_prio_first,
    job_key,
    new_queue,
    parked_poppers,
    wait_for,
)

from goprims.chan import Chan  # noqa: E402
from goprims.clock import FakeClock  # noqa: E402
from goprims.context import background, with_cancel  # noqa: E402
from goprims.scheduling import (  # noqa: E402
    BackoffPriorityQueue,
    QueueClosed,
    QueuedItem,
    backoff_duration,
)

HIGH, MID, LOW = 1000, 100, 0


def names(q: BackoffPriorityQueue[Job], n: int) -> list[str]:
    out = []
    for _ in range(n):
        qi = q.pop(timeout=0)
        out.append(qi.item.name)
        q.done(qi)
    return out


def pop_and_fail_into_backoff(q: BackoffPriorityQueue[Job]) -> QueuedItem[Job]:
    """Pop the head and fail it with a move in between: the guard sends it to backoff."""
    qi = q.pop(timeout=0)
    q.move_all("something changed")
    q.failed(qi)
    assert q.tier_of(qi.item) == "backoff"
    return qi


# ------------------------------------------------------------------------------ backoff


@pytest.mark.parametrize(
    ("attempts", "expected"), [(0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (6, 10)]
)
def test_backoff_doubles_from_initial_and_caps_at_max(attempts: int, expected: float) -> None:
    assert backoff_duration(attempts, 1.0, 10.0) == expected


def test_backoff_of_a_huge_attempt_count_is_the_max_without_overflow() -> None:
    assert backoff_duration(10**6, 1.0, 10.0) == 10.0
    assert backoff_duration(2000, 0.001, 1e308) == 1e308


def test_queue_backs_off_1_2_4_8_10_10_seconds_after_successive_failures() -> None:
    clock = FakeClock()
    q = new_queue(clock)
    q.add(Job("a"))
    seen = []
    for _ in range(6):
        qi = pop_and_fail_into_backoff(q)
        start = clock.now()
        # find the expiry: still backing off just before it, active exactly at it
        expected = backoff_duration(qi.attempts, 1.0, 10.0)
        clock.step(expected - 0.001)
        q.flush_backoff()
        assert q.tier_of(Job("a")) == "backoff"
        clock.step(0.001)
        q.flush_backoff()
        assert q.tier_of(Job("a")) == "active"
        seen.append(round(clock.now() - start, 6))
    assert seen == [1, 2, 4, 8, 10, 10]


def test_custom_backoff_bounds_are_used() -> None:
    q = new_queue(initial_backoff=2.0, max_backoff=20.0)
    assert (q.initial_backoff, q.max_backoff) == (2.0, 20.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_backoff": -1.0},
        {"initial_backoff": 5.0, "max_backoff": 1.0},
        {"max_parked": -1.0},
        {"initial_backoff": float("nan")},
    ],
)
def test_bad_bounds_raise_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be >="):
        new_queue(**kwargs)


def test_backoff_flush_moves_an_expired_item_and_pop_returns_it() -> None:
    clock = FakeClock()
    q = new_queue(clock)
    q.add(Job("a"))
    pop_and_fail_into_backoff(q)
    with pytest.raises(TimeoutError):
        q.pop(timeout=0)
    q.flush_backoff()
    assert q.pending() == (0, 1, 0)
    clock.step(1.0)
    q.flush_backoff()
    assert q.pending() == (1, 0, 0)
    qi = q.pop(timeout=0)
    assert (qi.item.name, qi.attempts) == ("a", 2)


# ---------------------------------------------------------------------------- priority


def test_items_pop_in_less_order() -> None:
    q = new_queue()
    for j in (Job("mid", MID), Job("low", LOW), Job("high", HIGH)):
        q.add(j)
    assert names(q, 3) == ["high", "mid", "low"]


def test_equal_priorities_pop_oldest_timestamp_first_then_in_add_order() -> None:
    clock = FakeClock()
    q = new_queue(clock)
    q.add(Job("b", MID))
    q.add(Job("c", MID))
    clock.step(1)
    q.add(Job("a", MID))
    assert names(q, 3) == ["b", "c", "a"]


def test_a_recently_tried_item_goes_behind_its_peers() -> None:
    """TestRecentlyTriedPodsGoBack."""
    clock = FakeClock()
    q = new_queue(clock)
    for i in range(5):
        q.add(Job(f"p{i}", HIGH))
    clock.step(0.000001)
    first = q.pop(timeout=0)
    q.failed(first)  # parked, timestamp now
    clock.step(1.0)
    q.move_all("timeout")
    order = names(q, 5)
    assert order[-1] == first.item.name
    assert len(set(order)) == 5


def test_a_failing_high_priority_item_does_not_block_lower_ones() -> None:
    """TestHighPriorityBackoff: the failed high item is in backoff, mid pops."""
    q = new_queue()
    q.add(Job("mid", MID))
    q.add(Job("high", HIGH))
    qi = q.pop(timeout=0)
    assert qi.item.name == "high"
    q.failed(qi)
    q.move_all("event")
    assert q.tier_of(Job("high")) == "backoff"
    assert q.pop(timeout=0).item.name == "mid"


def test_a_repeatedly_failing_item_does_not_block_a_newer_one() -> None:
    """TestPodFailedSchedulingMultipleTimesDoesNotBlockNewerPod."""
    clock = FakeClock()
    q = new_queue(clock)
    q.add(Job("old", HIGH))
    qi = q.pop(timeout=0)
    q.failed(qi)
    clock.step(2.0)
    q.move_all("timeout")
    qi = q.pop(timeout=0)
    assert qi.item.name == "old"
    q.add(Job("newer", HIGH))  # added while "old" is in flight
    q.failed(qi)  # parked again, stamped after "newer" was added
    clock.step(5.0)
    q.move_all("timeout")
    assert q.pop(timeout=0).item.name == "newer"


# --------------------------------------------------------------------- blocking and close


def test_pop_blocks_until_an_item_is_added_from_another_thread() -> None:
    """TestPriorityQueue_Pop."""
    q = new_queue()
    bg = Bg(q.pop)
    wait_for(lambda: parked_poppers(q) == 1)
    assert not bg.done.is_set()
    q.add(Job("a", MID))
    qi = bg.join()
    assert (qi.item.name, qi.attempts, qi.cycle) == ("a", 1, 1)
    assert q.in_flight() == 1


def test_one_move_hands_the_best_items_to_the_oldest_parked_poppers() -> None:
    q = new_queue(initial_backoff=0.0, max_backoff=0.0)
    new_fail_parked(q, Job("low", LOW), set())
    new_fail_parked(q, Job("high", HIGH), set())
    first = Bg(q.pop)
    wait_for(lambda: parked_poppers(q) == 1)
    second = Bg(q.pop)
    wait_for(lambda: parked_poppers(q) == 2)
    assert q.move_all("event") == 2
    assert first.join().item.name == "high"
    assert second.join().item.name == "low"


def test_pop_timeout_raises_timeout_error_and_leaves_no_popper() -> None:
    q = new_queue()
    with pytest.raises(TimeoutError):
        q.pop(timeout=0)
    with pytest.raises(TimeoutError):
        q.pop(timeout=0.01)
    assert parked_poppers(q) == 0


def test_close_wakes_every_blocked_pop_with_queue_closed() -> None:
    """TestSchedulingQueue_Close."""
    q = new_queue()
    pops = [Bg(q.pop) for _ in range(3)]
    wait_for(lambda: parked_poppers(q) == 3)
    q.close()
    for bg in pops:
        with pytest.raises(QueueClosed):
            bg.join()
    with pytest.raises(QueueClosed):
        q.pop()
    assert q.closed


def test_after_close_pop_raises_even_with_active_items_and_other_calls_are_ignored() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    q.add(Job("b"))
    q.close()
    q.close()  # idempotent
    with pytest.raises(QueueClosed):
        q.pop(timeout=0)
    q.add(Job("c"))
    q.failed(qi)  # a worker handing back during shutdown is not an error
    q.done(qi)
    assert q.move_all("e") == 0
    assert q.activate(["b"]) == 0
    assert not q.delete(Job("b"))
    assert q.tier_of(Job("c")) is None


# ------------------------------------------------------------------- the lost-wakeup guard


def test_failure_after_a_move_during_the_attempt_goes_to_backoff_not_parked() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    q.move_all("node added")  # arrives while "a" is being tried
    q.failed(qi, reasons={"cpu"})
    assert q.tier_of(Job("a")) == "backoff"


def test_failure_without_a_move_during_the_attempt_is_parked() -> None:
    q = new_queue()
    q.move_all("node added")  # before the pop: already seen by this attempt
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    q.failed(qi, reasons={"cpu"})
    assert q.tier_of(Job("a")) == "parked"


def test_every_item_popped_before_a_move_backs_off_on_failure() -> None:
    """TestPriorityQueue_AddUnschedulableIfNotPresent_Backoff."""
    q = new_queue()
    for i in range(10):
        q.add(Job(f"p{i}", i))
    popped = [q.pop(timeout=0) for _ in range(9)]
    assert [qi.item.name for qi in popped] == [f"p{i}" for i in range(9, 0, -1)]
    q.move_all("test event")
    last = q.pop(timeout=0)
    assert last.item.name == "p0"
    for qi in popped:
        q.failed(qi)
        assert q.tier_of(qi.item) == "backoff"
    q.failed(last)  # popped after the move: parked
    assert q.tier_of(last.item) == "parked"


def test_the_guard_holds_with_two_items_in_flight_at_different_cycles() -> None:
    q = new_queue()
    q.add(Job("a", HIGH))
    q.add(Job("b", LOW))
    a = q.pop(timeout=0)
    q.move_all("e")  # after a's pop, before b's
    b = q.pop(timeout=0)
    assert (a.cycle, b.cycle) == (1, 2)
    q.failed(b)
    q.failed(a)
    assert q.tier_of(Job("a")) == "backoff"
    assert q.tier_of(Job("b")) == "parked"


def test_failure_goes_to_active_when_backoff_is_already_over() -> None:
    q = new_queue(initial_backoff=0.0, max_backoff=0.0)
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    q.move_all("e")
    q.failed(qi)
    assert q.tier_of(Job("a")) == "active"


# -------------------------------------------------------------------------------- parking


def new_fail_parked(q: BackoffPriorityQueue[Job], job: Job, reasons: set[str]) -> None:
    q.add(job)
    qi = q.pop(timeout=0)
    assert qi.item == job, "park helper needs the job to be the best active item"
    q.failed(qi, reasons=reasons)
    assert q.tier_of(job) == "parked"


def resource_matches(reasons: object, event: object) -> bool:
    assert isinstance(reasons, frozenset)
    return event in reasons


def test_parked_items_leave_only_on_a_matching_event() -> None:
    """TestPriorityQueue_MoveAllToActiveOrBackoffQueue."""
    clock = FakeClock()
    q = new_queue(clock, matches=resource_matches)
    for name in ("up", "hpp"):
        new_fail_parked(q, Job(name, HIGH), {"NodeAdd"})
    new_fail_parked(q, Job("hpp1", HIGH), set())  # no reason recorded: any event
    new_fail_parked(q, Job("hpp2", HIGH), {"PvcAdd"})
    q.add(Job("active", MID))
    assert q.move_all("NodeAdd") == 3
    assert q.pending() == (1, 3, 1)  # still backing off: backoff, not active
    assert q.tier_of(Job("hpp2")) == "parked"

    for name in ("up", "hpp", "hpp1", "active"):
        q.delete(Job(name))
    for name in ("up", "hpp"):
        new_fail_parked(q, Job(name, HIGH), {"NodeAdd"})
    new_fail_parked(q, Job("hpp1", HIGH), set())
    q.add(Job("active", MID))
    clock.step(1.0)  # past the first backoff: straight to active
    assert q.move_all("NodeAdd") == 3
    assert q.pending() == (4, 0, 1)


def test_pre_check_keeps_items_it_rejects_parked() -> None:
    q = new_queue()
    new_fail_parked(q, Job("a", labels=("gpu",)), set())
    new_fail_parked(q, Job("b"), set())
    assert q.move_all("gpu node added", pre_check=lambda j: "gpu" in j.labels) == 1
    assert q.tier_of(Job("a")) == "backoff"
    assert q.tier_of(Job("b")) == "parked"


def test_parked_items_are_released_after_max_parked_and_not_before() -> None:
    """TestHighPriorityFlushUnschedulablePodsLeftover."""
    clock = FakeClock()
    q = new_queue(clock, matches=lambda r, e: False)
    new_fail_parked(q, Job("high", HIGH), {"x"})
    new_fail_parked(q, Job("mid", MID), {"x"})
    assert q.move_all("unrelated") == 0
    clock.step(59.0)
    q.flush_parked()
    assert q.pending() == (0, 0, 2)
    clock.step(1.0)
    q.flush_parked()
    assert q.pending() == (2, 0, 0)
    assert names(q, 2) == ["high", "mid"]


def test_flushing_parked_items_counts_as_a_move_for_the_guard() -> None:
    clock = FakeClock()
    q = new_queue(clock, max_parked=5.0)
    new_fail_parked(q, Job("old"), set())
    q.add(Job("a"))
    a = q.pop(timeout=0)
    clock.step(5.0)
    q.flush_parked()
    q.failed(a)
    assert q.tier_of(Job("a")) == "backoff"


def test_pending_counts_each_tier() -> None:
    """TestPriorityQueue_PendingPods."""
    q = new_queue()
    new_fail_parked(q, Job("u", LOW), set())
    new_fail_parked(q, Job("h", HIGH), set())
    q.add(Job("mid", MID))
    assert q.pending() == (1, 0, 2)
    q.move_all("test")
    assert q.pending() == (1, 2, 0)
    assert len(q) == 3


# ----------------------------------------------------------------- update, delete, activate


def test_update_of_an_unknown_item_adds_it_and_of_an_active_one_replaces_it() -> None:
    """TestPriorityQueue_Update, first part."""
    q = new_queue()
    q.update(Job("a", LOW))
    assert q.tier_of(Job("a")) == "active"
    q.add(Job("b", MID))
    q.update(Job("a", HIGH))  # re-sorted with its new priority
    assert q.pending() == (2, 0, 0)
    qi = q.pop(timeout=0)
    assert qi.item == Job("a", HIGH)


def test_update_in_backoff_keeps_the_item_backing_off() -> None:
    clock = FakeClock()
    q = new_queue(clock)
    q.add(Job("a", LOW))
    pop_and_fail_into_backoff(q)
    q.update(Job("a", HIGH))
    assert q.tier_of(Job("a")) == "backoff"
    clock.step(1.0)
    q.flush_backoff()
    assert q.pop(timeout=0).item == Job("a", HIGH)


def test_update_of_a_parked_item_moves_it_to_backoff_or_active() -> None:
    clock = FakeClock()
    q = new_queue(clock)
    new_fail_parked(q, Job("m", MID), set())
    q.update(Job("m", MID, labels=("foo",)))
    assert q.tier_of(Job("m")) == "backoff"  # still backing off

    q.delete(Job("m"))
    new_fail_parked(q, Job("m", MID), set())
    clock.step(1.0)
    q.update(Job("m", MID, labels=("foo1",)))
    assert q.tier_of(Job("m")) == "active"
    assert q.pop(timeout=0).item.labels == ("foo1",)


def test_add_of_a_queued_item_moves_it_to_active_and_keeps_its_attempts() -> None:
    q = new_queue()
    new_fail_parked(q, Job("a"), {"x"})
    q.add(Job("a", HIGH))
    assert q.tier_of(Job("a")) == "active"
    assert q.pop(timeout=0).attempts == 2


@pytest.mark.parametrize("tier", ["active", "backoff", "parked"])
def test_delete_removes_the_item_from_whichever_tier_holds_it(tier: str) -> None:
    """TestPriorityQueue_Delete."""
    q = new_queue()
    q.add(Job("a"))
    if tier == "backoff":
        pop_and_fail_into_backoff(q)
    elif tier == "parked":
        q.failed(q.pop(timeout=0))
    assert q.tier_of(Job("a")) == tier
    assert q.delete(Job("a"))
    assert q.tier_of(Job("a")) is None
    assert q.pending() == (0, 0, 0)
    assert not q.delete(Job("a"))
    with pytest.raises(TimeoutError):
        q.pop(timeout=0)


@pytest.mark.parametrize(
    ("tier", "moved"), [("active", 0), (None, 0), ("parked", 1), ("backoff", 1)]
)
def test_activate_moves_backoff_and_parked_items_to_active(tier: str | None, moved: int) -> None:
    """TestPriorityQueue_Activate."""
    q = new_queue()
    if tier is not None:
        q.add(Job("a"))
        if tier == "backoff":
            pop_and_fail_into_backoff(q)
        elif tier == "parked":
            q.failed(q.pop(timeout=0))
    assert q.activate(["a"]) == moved
    assert q.pending()[0] == (0 if tier is None else 1)


# ---------------------------------------------------------------------------- in flight


def test_an_item_added_while_in_flight_is_not_handed_to_a_second_popper() -> None:
    q = new_queue()
    q.add(Job("a", LOW))
    qi = q.pop(timeout=0)
    q.add(Job("a", HIGH))
    q.update(Job("a", MID))
    assert q.tier_of(Job("a")) == "in_flight"
    with pytest.raises(TimeoutError):
        q.pop(timeout=0)
    q.done(qi)  # the newest version is queued as a new item
    again = q.pop(timeout=0)
    assert (again.item, again.attempts) == (Job("a", MID), 1)


def test_a_failed_item_that_changed_while_in_flight_is_not_parked() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    q.update(Job("a", HIGH))
    q.failed(qi, reasons={"cpu"})
    assert q.tier_of(Job("a")) == "backoff"
    clock = q._clock
    assert isinstance(clock, FakeClock)
    clock.step(1.0)
    q.flush_backoff()
    assert q.pop(timeout=0).item == Job("a", HIGH)


def test_activate_while_in_flight_keeps_the_failure_out_of_the_parked_tier() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    assert q.activate(["a"]) == 0
    q.failed(qi)
    assert q.tier_of(Job("a")) == "backoff"


def test_an_item_deleted_while_in_flight_is_dropped_when_handed_back() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    assert q.delete(Job("a"))
    q.failed(qi)
    assert q.tier_of(Job("a")) is None
    q.add(Job("b"))
    qb = q.pop(timeout=0)
    q.delete(Job("b"))
    q.add(Job("b", HIGH))  # re-added after the delete: revived
    q.failed(qb)
    assert q.tier_of(Job("b")) == "backoff"


def test_handing_back_an_item_that_is_not_in_flight_raises_value_error() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    q.done(qi)
    with pytest.raises(ValueError, match="not in flight"):
        q.failed(qi)
    with pytest.raises(ValueError, match="not in flight"):
        q.done(QueuedItem(Job("zzz"), 1, 0.0, 1))


def test_cycle_counts_pops() -> None:
    q = new_queue()
    for n in "abc":
        q.add(Job(n))
    cycles = []
    for _ in range(3):
        qi = q.pop(timeout=0)
        cycles.append(qi.cycle)
        q.done(qi)
    assert cycles == [1, 2, 3]
    assert q.cycle == 3


# ----------------------------------------------------------------------- flushes on the clock


def test_run_flushes_backoff_and_parked_items_exactly_when_due() -> None:
    clock = FakeClock()
    q = new_queue(clock, max_parked=30.0)
    stop: Chan[None] = Chan()
    q.add(Job("b"))
    q.add(Job("p"))
    b = q.pop(timeout=0)
    p = q.pop(timeout=0)
    q.move_all("e")
    q.failed(b)  # backoff until t=1
    q.move_all("e")
    q.add(Job("late"))
    late = q.pop(timeout=0)
    q.failed(late, reasons={"never"})  # parked at t=0: out at t=30
    q.done(p)
    runner = Bg(lambda: q.run(stop))
    clock.block_until_waiters(2, timeout=10)
    clock.step(0.999)
    assert q.tier_of(Job("b")) == "backoff"
    clock.step(0.001)
    assert q.tier_of(Job("b")) == "active"
    clock.step(28.0)
    assert q.tier_of(Job("late")) == "parked"
    clock.step(1.0)
    assert q.tier_of(Job("late")) in ("backoff", "active")
    stop.close()
    runner.join()
    assert not clock.has_waiters()  # nothing left scheduled once run returned


def test_run_arms_for_items_that_fail_while_it_runs_and_wakes_a_blocked_pop() -> None:
    clock = FakeClock()
    q = new_queue(clock)
    ctx, cancel = with_cancel(background())
    runner = Bg(lambda: q.run(ctx))
    wait_for(lambda: q._running)
    q.add(Job("a"))
    pop_and_fail_into_backoff(q)
    popper = Bg(q.pop)
    wait_for(lambda: parked_poppers(q) == 1)
    clock.step(1.0)
    assert popper.join().attempts == 2
    cancel()
    runner.join()
    assert not clock.has_waiters()


def test_run_returns_when_the_queue_is_closed_and_refuses_to_run_twice() -> None:
    q = new_queue()
    stop: Chan[None] = Chan()
    runner = Bg(lambda: q.run(stop))
    wait_for(lambda: q._running)
    with pytest.raises(RuntimeError, match="already running"):
        q.run(stop)
    q.close()
    runner.join()
    q.run(stop)  # closed: returns at once


def test_run_rejects_a_stop_that_is_neither_chan_nor_context() -> None:
    with pytest.raises(TypeError, match="Chan or a Context"):
        new_queue().run(threading.Event())  # type: ignore[arg-type]  # deliberately wrong


def test_key_and_less_are_the_queues_own() -> None:
    q: BackoffPriorityQueue[Job] = BackoffPriorityQueue(job_key, higher_prio_first)
    q.add(Job("a"))
    assert q.pop(timeout=0).item == Job("a")


def test_sort_key_orders_like_less_with_the_same_tie_rules() -> None:
    clock = FakeClock()
    q: BackoffPriorityQueue[Job] = BackoffPriorityQueue(
        job_key, None, sort_key=lambda j: -j.prio, clock=clock
    )
    q.add(Job("b", MID))
    q.add(Job("low", LOW))
    clock.step(1)
    q.add(Job("a", MID))
    q.add(Job("high", HIGH))
    q.update(Job("low", HIGH + 1))  # re-sorted by its new key
    assert names(q, 4) == ["low", "high", "b", "a"]


@pytest.mark.parametrize("both", [True, False])
def test_exactly_one_of_less_and_sort_key_is_required(both: bool) -> None:
    with pytest.raises(ValueError, match="exactly one of less and sort_key"):
        BackoffPriorityQueue(
            job_key,
            higher_prio_first if both else None,
            sort_key=((lambda j: j.prio) if both else None),
        )


def test_a_raising_pre_check_keeps_what_moved_and_still_serves_parked_poppers() -> None:
    q = new_queue(initial_backoff=0.0, max_backoff=0.0)
    new_fail_parked(q, Job("a", HIGH), set())
    new_fail_parked(q, Job("b", LOW), set())
    popper = Bg(q.pop)
    wait_for(lambda: parked_poppers(q) == 1)

    def check(j: Job) -> bool:
        if j.name == "b":
            raise RuntimeError("boom")
        return True

    with pytest.raises(RuntimeError, match="boom"):
        q.move_all("e", pre_check=check)
    assert popper.join().item.name == "a"
    assert q.tier_of(Job("b")) == "parked"


def test_failed_with_an_unhashable_reason_raises_and_keeps_the_item_in_flight() -> None:
    q = new_queue()
    q.add(Job("a"))
    qi = q.pop(timeout=0)
    with pytest.raises(TypeError):
        q.failed(qi, reasons=[["not hashable"]])
    assert q.tier_of(Job("a")) == "in_flight"
    q.failed(qi, reasons={"ok"})
    assert q.tier_of(Job("a")) == "parked"


@pytest.mark.parametrize("mode", ["less", "sort_key"])
def test_updating_an_active_item_does_not_reorder_the_heap_under_the_others(mode: str) -> None:
    """Found by the state machine: a re-sorted item's old, dead heap entry must keep the order
    it was pushed with."""
    if mode == "less":
        q = new_queue()
    else:
        q = BackoffPriorityQueue(job_key, None, sort_key=lambda j: -j.prio, clock=FakeClock())
    q.add(Job("a", 1))
    q.add(Job("c", 1))
    q.add(Job("a", 0))
    q.add(Job("b", 1))
    q.add(Job("c", 0))
    assert names(q, 3) == ["b", "a", "c"]


@pytest.mark.parametrize("mode", ["less", "sort_key"])
def test_adding_an_active_item_again_with_a_higher_priority_moves_it_up(mode: str) -> None:
    """Upstream PriorityQueue.Add of a pod already in activeQ updates it in place (re-sorted).
    The state machine's repro: a(0), b(0), b(0), b(1) must pop b first."""
    if mode == "less":
        q = new_queue()
    else:
        q = BackoffPriorityQueue(job_key, None, sort_key=lambda j: -j.prio, clock=FakeClock())
    q.add(Job("a", 0))
    q.add(Job("b", 0))
    q.add(Job("b", 0))
    q.add(Job("b", 1))
    assert names(q, 2) == ["b", "a"]

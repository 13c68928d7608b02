"""RateLimitedTimedQueue: the cases of upstream's rate_limited_queue_test.go (TestAddNode,
TestDelNode, TestTry, TestTryOrdering, TestTryRemovingWhileTry, TestClear, TestSwapLimiter,
TestAddAfterTry) plus the token bucket's part, on a FakeClock."""

from __future__ import annotations

import math
import random
import threading

import pytest

from goprims.clock import FakeClock
from goprims.controller import RateLimitedTimedQueue, TimedValue

ALWAYS = math.inf


def queue(qps: float = ALWAYS, clock: FakeClock | None = None) -> RateLimitedTimedQueue[str]:
    return RateLimitedTimedQueue(qps, clock=clock or FakeClock())


def fill(q: RateLimitedTimedQueue[str], clock: FakeClock | None = None) -> None:
    for v, uid in (("first", "11111"), ("second", "22222"), ("third", "33333")):
        assert q.add(v, uid)
        if clock is not None:
            clock.step(0.001)


def drain_all(q: RateLimitedTimedQueue[str]) -> list[str]:
    seen: list[str] = []

    def fn(tv: TimedValue) -> tuple[bool, float]:
        seen.append(tv.value)
        return True, 0.0

    q.try_process(fn)
    return seen


def test_add_queues_in_order_and_refuses_a_duplicate() -> None:
    q = queue()
    fill(q)
    assert [tv.value for tv in q.values()] == ["first", "second", "third"]
    assert [tv.uid for tv in q.values()] == ["11111", "22222", "33333"]
    assert not q.add("second", "other-uid")
    assert len(q) == 3
    assert "second" in q


@pytest.mark.parametrize("removed", ["first", "second", "third"])
def test_remove_takes_a_value_out_wherever_it_is(removed: str) -> None:
    q = queue()
    fill(q)
    assert q.remove(removed)
    assert not q.remove(removed)
    left = [v for v in ("first", "second", "third") if v != removed]
    assert [tv.value for tv in q.values()] == left
    assert removed not in q
    assert q.add(removed)  # can be added again


def test_try_processes_every_due_value() -> None:
    q = queue()
    fill(q)
    q.remove("second")
    assert sorted(drain_all(q)) == ["first", "third"]
    assert len(q) == 0
    assert q.processed() == {"first", "third"}


def test_values_are_processed_in_process_at_order() -> None:
    clock = FakeClock()
    q = queue(clock=clock)
    q.add("late")
    clock.step(1.0)
    q.add("later")
    seen: list[TimedValue] = []

    def fn(tv: TimedValue) -> tuple[bool, float]:
        seen.append(tv)
        return True, 0.0

    assert q.try_process(fn) == 2
    assert [(tv.value, tv.added_at, tv.process_at) for tv in seen] == [
        ("late", 0.0, 0.0),
        ("later", 1.0, 1.0),
    ]


def test_a_failed_value_is_retried_after_its_wait_and_not_before() -> None:
    # TestTryOrdering: "second" fails once with a wait; "first" and "third" go through; then
    # "second" comes back once the clock passes now + wait.
    clock = FakeClock()
    q = queue(clock=clock)
    fill(q, clock)
    order: list[str] = []
    failed_once = False

    def fn(tv: TimedValue) -> tuple[bool, float]:
        nonlocal failed_once
        if tv.value == "second" and not failed_once:
            failed_once = True
            return False, 2.0
        order.append(tv.value)
        return True, 0.0

    assert q.try_process(fn) == 3
    assert order == ["first", "third"]
    (tv,) = q.values()
    assert tv.value == "second"
    assert tv.added_at == pytest.approx(0.001)
    assert tv.process_at > clock.now() + 2.0 - 1e-9
    clock.step(1.9)
    assert q.try_process(fn) == 0  # not due yet
    clock.step(0.2)
    assert q.try_process(fn) == 1
    assert order == ["first", "third", "second"]


def test_a_failed_value_with_no_wait_is_not_retried_in_the_same_pass() -> None:
    clock = FakeClock(1e9)  # large enough that now + 1 ns == now in floating point
    q = queue(clock=clock)
    q.add("x")
    calls = 0

    def fn(tv: TimedValue) -> tuple[bool, float]:
        nonlocal calls
        calls += 1
        return False, 0.0

    assert q.try_process(fn) == 1
    assert calls == 1
    assert q.values()[0].process_at > clock.now()
    clock.step(1.0)
    assert q.try_process(fn) == 1


def test_a_value_removed_while_fn_runs_is_not_rescheduled() -> None:
    # TestTryRemovingWhileTry
    q = queue()
    fill(q)
    processing = threading.Event()
    removed = threading.Event()
    order: list[str] = []
    queued = False

    def remover() -> None:
        processing.wait(5)
        q.remove("second")
        removed.set()

    t = threading.Thread(target=remover)
    t.start()

    def fn(tv: TimedValue) -> tuple[bool, float]:
        nonlocal queued
        if tv.value == "second" and not queued:
            queued = True
            processing.set()
            assert removed.wait(5)  # remove() does not wait for fn
            return False, 0.001
        order.append(tv.value)
        return True, 0.0

    assert q.try_process(fn) == 3
    t.join()
    assert order == ["first", "third"]
    assert "second" not in q
    assert q.values() == []


def test_processed_value_is_refused_until_removed() -> None:
    # TestAddAfterTry
    q = queue()
    fill(q)
    q.remove("second")
    drain_all(q)
    assert not q.add("first", "11111")
    assert drain_all(q) == []  # not processed again
    assert q.remove("first")
    assert q.add("first")
    assert drain_all(q) == ["first"]


def test_clear_forgets_queued_and_processed_values() -> None:
    q = queue()
    fill(q)
    drain_all(q)
    q.add("fourth")
    q.clear()
    assert len(q) == 0
    assert q.values() == []
    assert q.processed() == set()
    assert q.add("first")


def test_a_never_accepting_queue_processes_nothing() -> None:
    for qps in (0.0, -1.0):
        q = queue(qps)
        fill(q)
        assert drain_all(q) == []
        assert len(q) == 3


def test_the_bucket_limits_how_many_values_each_pass_processes() -> None:
    clock = FakeClock()
    q = queue(0.5, clock)  # one token every 2 s, burst 1
    fill(q)
    assert drain_all(q) == ["first"]
    clock.step(1.0)
    assert drain_all(q) == []
    clock.step(1.0)
    assert drain_all(q) == ["second"]
    clock.step(10.0)  # the bucket holds at most 1 token
    assert drain_all(q) == ["third"]


def test_a_head_that_is_not_due_costs_no_token() -> None:
    clock = FakeClock()
    q = queue(0.5, clock)
    q.add("x")

    def fail(tv: TimedValue) -> tuple[bool, float]:
        return False, 5.0

    assert q.try_process(fail) == 1  # takes the one token
    clock.step(2.0)  # one new token; "x" is due only at 5
    assert drain_all(q) == []
    q.add("y")  # due now: the token is still there
    assert drain_all(q) == ["y"]


def test_swap_limiter_changes_qps_and_is_a_no_op_for_the_same_qps() -> None:
    # TestSwapLimiter, plus: swapping to the same qps keeps the bucket as it is.
    clock = FakeClock()
    q = queue(ALWAYS, clock)
    assert q.qps == math.inf
    q.swap_limiter(0)
    assert q.qps == 0.0
    q.swap_limiter(5.5)
    assert q.qps == 5.5
    fill(q)
    assert drain_all(q) == []  # from "never": the new bucket starts drained
    clock.step(0.2)  # 1.1 tokens at 5.5/s, capped at 1
    assert drain_all(q) == ["first"]
    q.swap_limiter(5.5)  # same qps: the (empty) bucket is kept, not refilled
    assert drain_all(q) == []


def test_a_swap_grants_no_token() -> None:
    clock = FakeClock()
    q = queue(0.1, clock)
    fill(q)
    assert drain_all(q) == ["first"]  # the only token
    q.swap_limiter(0.2)  # the old bucket is empty, so the new one starts drained
    assert drain_all(q) == []
    clock.step(4.0)
    assert drain_all(q) == []  # 0.8 tokens at 0.2/s
    clock.step(1.0)
    assert drain_all(q) == ["second"]


def test_a_swap_from_a_full_bucket_keeps_one_token() -> None:
    clock = FakeClock()
    q = queue(0.1, clock)
    q.swap_limiter(1.0)
    fill(q)
    assert drain_all(q) == ["first"]


def test_a_swap_from_never_to_a_rate_starts_drained() -> None:
    clock = FakeClock()
    q = queue(0.0, clock)
    fill(q)
    q.swap_limiter(1.0)
    assert drain_all(q) == []
    clock.step(1.0)
    assert drain_all(q) == ["first"]


def test_an_exception_from_fn_propagates_and_leaves_the_value_queued() -> None:
    q = queue()
    fill(q)

    def boom(tv: TimedValue) -> tuple[bool, float]:
        raise RuntimeError("evict failed")

    with pytest.raises(RuntimeError, match="evict failed"):
        q.try_process(boom)
    assert [tv.value for tv in q.values()] == ["first", "second", "third"]


def test_bad_qps_or_burst_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        RateLimitedTimedQueue(float("nan"))
    with pytest.raises(ValueError, match="burst"):
        RateLimitedTimedQueue(1.0, burst=0)
    with pytest.raises(ValueError, match="NaN"):
        queue().swap_limiter(float("nan"))


def test_concurrent_adds_removes_and_passes_process_each_value_at_most_once_per_add() -> None:
    clock = FakeClock()
    q = queue(ALWAYS, clock)
    lock = threading.Lock()
    processed: list[str] = []

    def fn(tv: TimedValue) -> tuple[bool, float]:
        with lock:
            processed.append(tv.value)
        return True, 0.0

    values = [f"n{i}" for i in range(40)]
    start = threading.Barrier(4)

    def adder(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(300):
            v = rng.choice(values)
            if rng.random() < 0.7:
                q.add(v)
            else:
                q.remove(v)

    def processor() -> None:
        start.wait()
        for _ in range(300):
            q.try_process(fn)

    threads = [threading.Thread(target=adder, args=(s,)) for s in range(2)]
    threads += [threading.Thread(target=processor) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.try_process(fn)
    # Every value is now processed or absent, never queued, and the invariants hold.
    assert len(q) == 0
    assert q.processed() <= set(values)
    assert all(v in q for v in q.processed())


def test_a_swap_with_a_larger_burst_carries_the_tokens_left() -> None:
    clock = FakeClock()
    q: RateLimitedTimedQueue[str] = RateLimitedTimedQueue(1.0, burst=3, clock=clock)
    for v in "abcdef":
        q.add(v)
    assert drain_all(q) == ["a", "b", "c"]  # the full bucket: 3 tokens
    clock.step(2.0)  # 2 tokens back
    q.swap_limiter(0.5)  # carries the 2, does not refill to 3
    assert drain_all(q) == ["d", "e"]
    assert drain_all(q) == []


def test_fn_may_change_the_queue_but_not_process_it_again() -> None:
    q = queue()
    fill(q)
    errors: list[Exception] = []

    def fn(tv: TimedValue) -> tuple[bool, float]:
        if tv.value == "first":
            q.add("fourth")  # allowed: handled later in this same pass
            q.remove("third")
            q.swap_limiter(math.inf)
            try:
                q.try_process(fn)
            except RuntimeError as exc:
                errors.append(exc)
        return True, 0.0

    assert q.try_process(fn) == 3  # first, second, fourth
    assert len(errors) == 1
    assert "its own fn" in str(errors[0])
    assert q.processed() == {"first", "second", "fourth"}

"""DelayingQueue and RateLimitingQueue: client-go delaying_queue.go / rate_limiting_queue.go."""

from __future__ import annotations

import math
import random
import threading
import time

import pytest

from goprims.clock import FakeClock
from goprims.workqueue import (
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    RateLimitingQueue,
)
from goprims.workqueue.delaying_queue import MAX_WAIT


def drain(q: DelayingQueue[str]) -> list[str]:
    out = []
    while len(q):
        item, _ = q.get()
        assert item is not None
        out.append(item)
        q.done(item)
    return out


def test_add_after_adds_once_the_clock_reaches_the_delay() -> None:
    # client-go TestSimpleQueue
    clock = FakeClock(1000.0)
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 0.05)
    assert len(q) == 0
    clock.step(0.049)
    assert len(q) == 0
    clock.step(0.011)
    assert len(q) == 1
    item, _ = q.get()
    assert item is not None
    q.done(item)
    clock.step(MAX_WAIT)  # past the next heartbeat: nothing more
    assert len(q) == 0
    assert not clock.has_waiters()


def test_an_item_is_ready_exactly_at_its_time() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 2.0)
    clock.set_time(2.0)  # readyAt <= now
    assert len(q) == 1


def test_earliest_time_wins_for_an_item_already_waiting() -> None:
    # client-go TestDeduping
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 0.05)
    q.add_after("foo", 0.07)  # later: discarded
    assert len(q) == 0
    clock.step(0.06)
    assert drain(q) == ["foo"]
    clock.step(0.02)  # past the discarded time: nothing
    assert len(q) == 0

    q.add_after("foo", 0.05)
    q.add_after("foo", 0.03)  # earlier: replaces
    clock.step(0.04)
    assert drain(q) == ["foo"]
    clock.step(0.02)
    assert len(q) == 0
    assert not clock.has_waiters()


def test_delayed_items_are_added_in_ready_time_order() -> None:
    # client-go TestCopyShifting
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 1.0)
    q.add_after("bar", 0.5)
    q.add_after("baz", 0.25)
    clock.step(2.0)
    assert len(q) == 3
    assert drain(q) == ["baz", "bar", "foo"]


def test_an_earlier_item_fires_first_and_later_ones_keep_their_times() -> None:
    # client-go TestAddTwoFireEarly
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 1.0)
    q.add_after("bar", 0.05)
    clock.step(0.06)
    assert drain(q) == ["bar"]
    q.add_after("baz", 2.0)
    clock.step(1.0)
    assert drain(q) == ["foo"]
    clock.step(2.0)
    assert drain(q) == ["baz"]


@pytest.mark.parametrize("delay", [0, -1.0, -math.inf])
def test_zero_or_negative_delay_adds_at_once(delay: float) -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("now", delay)
    assert len(q) == 1
    assert not clock.has_waiters()


def test_nan_delay_is_rejected() -> None:
    q: DelayingQueue[str] = DelayingQueue(clock=FakeClock())
    with pytest.raises(ValueError, match="workqueue add_after: delay is NaN"):
        q.add_after("x", math.nan)


def test_infinite_delay_never_adds() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("never", math.inf)
    clock.step(1e9)
    assert len(q) == 0
    q.shut_down()
    assert not clock.has_waiters()


def test_waiting_items_do_not_count_in_len_and_a_direct_add_is_processed_now() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 1.0)
    assert len(q) == 0
    q.add("foo")
    assert q.get() == ("foo", False)
    clock.step(1.0)  # fires while processing: dirty, re-queued by done
    assert len(q) == 0
    q.done("foo")
    assert drain(q) == ["foo"]


def test_a_delayed_add_merges_with_the_same_item_still_queued() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("foo", 1.0)
    q.add("foo")
    clock.step(1.0)
    assert drain(q) == ["foo"]


def test_the_timer_is_capped_by_the_heartbeat_while_items_wait() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("late", 25.0)
    assert clock.waiters() == 1
    clock.step(MAX_WAIT)  # heartbeat: re-reads the clock, re-arms
    assert len(q) == 0
    assert clock.waiters() == 1
    clock.step(MAX_WAIT)
    assert len(q) == 0
    assert clock.waiters() == 1
    clock.step(5.0)
    assert len(q) == 1
    assert not clock.has_waiters()


def test_only_one_clock_callback_is_pending_for_many_delays() -> None:
    clock = FakeClock()
    q: DelayingQueue[int] = DelayingQueue(clock=clock)
    delays = [random.uniform(0.001, 5.0) for _ in range(500)]
    for i, d in enumerate(delays):
        q.add_after(i, d)
    assert clock.waiters() == 1
    clock.step(5.0)
    order = []
    while len(q):
        item, _ = q.get()
        order.append(item)
    assert order == sorted(range(500), key=lambda i: delays[i])


def test_shutdown_drops_pending_delays_and_cancels_the_timer() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("pending", 1.0)
    q.shut_down()
    assert not clock.has_waiters()
    clock.step(2.0)
    assert len(q) == 0
    assert q.get() == (None, True)


def test_shut_down_with_drain_also_drops_pending_delays() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("pending", 1.0)
    q.shut_down_with_drain()
    assert not clock.has_waiters()


def test_add_after_after_shutdown_does_nothing() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.shut_down()
    q.add_after("x", 1.0)
    q.add_after("y", 0)
    assert not clock.has_waiters()
    assert len(q) == 0


def test_a_parked_getter_is_woken_by_a_delay_firing() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(q.get()))
    t.start()
    deadline = time.monotonic() + 5
    while not q._getters:
        assert time.monotonic() < deadline
        time.sleep(0)
    q.add_after("x", 3.0)
    clock.step(3.0)
    t.join()
    assert out == [("x", False)]


def test_delays_fire_on_the_real_clock() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    t0 = time.monotonic()
    q.add_after("soon", 0.02)
    assert q.get(timeout=5) == ("soon", False)
    assert time.monotonic() - t0 >= 0.02
    q.shut_down()


# ------------------------------------------------------------------- rate-limiting queue


def test_add_rate_limited_waits_the_limiters_delay() -> None:
    # client-go TestRateLimitingQueue
    clock = FakeClock()
    limiter = ItemExponentialFailureRateLimiter(0.001, 1.0)
    q: RateLimitingQueue[str] = RateLimitingQueue(limiter, clock=clock)

    def ready_after(item: str, expected: float) -> None:
        t0 = clock.now()
        clock.set_time(t0 + expected * 0.999)
        assert len(q) == 0
        clock.set_time(t0 + expected)
        assert drain(q) == [item]

    q.add_rate_limited("one")
    ready_after("one", 0.001)
    q.add_rate_limited("one")
    ready_after("one", 0.002)
    assert q.num_requeues("one") == 2
    q.add_rate_limited("two")
    ready_after("two", 0.001)
    q.add_rate_limited("two")
    ready_after("two", 0.002)
    q.forget("one")
    assert q.num_requeues("one") == 0
    q.add_rate_limited("one")
    ready_after("one", 0.001)


def test_add_rate_limited_counts_the_failure_even_after_shutdown() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(0.001, 1.0), clock=clock
    )
    q.shut_down()
    q.add_rate_limited("x")
    assert q.num_requeues("x") == 1
    assert len(q) == 0
    assert not clock.has_waiters()


def test_forget_does_not_remove_the_item_from_the_queue() -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    q.add("x")
    q.forget("x")
    assert q.get() == ("x", False)


def test_default_rate_limiter_is_the_controller_one_on_the_queues_clock() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[int] = RateLimitingQueue(clock=clock)
    for i in range(100):  # within the bucket's burst: the per-item 5 ms wins
        assert q.rate_limiter.when(i) == 0.005
    assert q.rate_limiter.when(100) == 0.1  # bucket: 10 qps
    clock.step(10.0)  # the bucket refilled on the queue's clock
    assert q.rate_limiter.when(101) == 0.005

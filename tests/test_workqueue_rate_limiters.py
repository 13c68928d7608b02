"""Rate limiters: client-go default_rate_limiters.go and golang.org/x/time/rate reservations."""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable

import pytest

from goprims.clock import FakeClock
from goprims.workqueue import (
    INF_DURATION,
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
    default_item_based_rate_limiter,
)

MS = 0.001


def test_exponential_backoff_doubles_per_item_and_forget_resets_it() -> None:
    # client-go TestItemExponentialFailureRateLimiter
    lim = ItemExponentialFailureRateLimiter(1 * MS, 1.0)
    assert [lim.when("one") for _ in range(5)] == [1 * MS, 2 * MS, 4 * MS, 8 * MS, 16 * MS]
    assert lim.num_requeues("one") == 5
    assert [lim.when("two") for _ in range(2)] == [1 * MS, 2 * MS]
    assert lim.num_requeues("two") == 2
    lim.forget("one")
    assert lim.num_requeues("one") == 0
    assert lim.when("one") == 1 * MS


def test_exponential_backoff_is_capped_at_max_delay() -> None:
    lim = ItemExponentialFailureRateLimiter(1 * MS, 1.0)
    delays = [lim.when("x") for _ in range(12)]
    assert delays[9] == 512 * MS
    assert delays[10:] == [1.0, 1.0]


def test_exponential_backoff_survives_a_thousand_failures() -> None:
    # client-go TestItemExponentialFailureRateLimiterOverFlow
    lim = ItemExponentialFailureRateLimiter(1 * MS, 1000.0)
    for _ in range(5):
        lim.when("one")
    assert lim.when("one") == 32 * MS
    for _ in range(1000):
        lim.when("overflow1")
    assert lim.when("overflow1") == 1000.0

    lim = ItemExponentialFailureRateLimiter(60.0, 1000 * 3600.0)
    for _ in range(2):
        lim.when("two")
    assert lim.when("two") == 4 * 60.0
    for _ in range(1000):
        lim.when("overflow2")
    assert lim.when("overflow2") == 1000 * 3600.0


@pytest.mark.parametrize("base", [1e-9, 1 * MS, 5 * MS, 2.0**40 * 1e-9, 9.2e9])
@pytest.mark.parametrize("max_delay", [0.0, 1e-9, 1000.0, (2**63 - 1) / 1e9])
def test_exponential_backoff_never_exceeds_max_at_any_attempt(
    base: float, max_delay: float
) -> None:
    # After client-go TestItemExponentialFailureRateLimiterFloat64Boundary, in float seconds.
    lim = ItemExponentialFailureRateLimiter(base, max_delay)
    for attempt in range(1100):
        want = min(base * 2.0**attempt, max_delay) if attempt < 1000 else max_delay
        assert lim.when("item") == want, attempt
    assert lim.num_requeues("item") == 1100
    assert lim.when("other") == min(base, max_delay)
    lim.forget("item")
    assert lim.num_requeues("item") == 0
    assert lim.when("item") == min(base, max_delay)


def test_fast_slow_switches_after_max_fast_attempts() -> None:
    # client-go TestItemFastSlowRateLimiter
    lim = ItemFastSlowRateLimiter(5 * MS, 10.0, 3)
    assert [lim.when("one") for _ in range(5)] == [5 * MS, 5 * MS, 5 * MS, 10.0, 10.0]
    assert lim.num_requeues("one") == 5
    assert [lim.when("two") for _ in range(2)] == [5 * MS, 5 * MS]
    assert lim.num_requeues("two") == 2
    lim.forget("one")
    assert lim.num_requeues("one") == 0
    assert lim.when("one") == 5 * MS


def test_max_of_asks_every_limiter_and_returns_the_slowest() -> None:
    # client-go TestMaxOfRateLimiter
    fast_slow = ItemFastSlowRateLimiter(5 * MS, 3.0, 3)
    expo = ItemExponentialFailureRateLimiter(1 * MS, 1.0)
    lim = MaxOfRateLimiter(fast_slow, expo)
    assert [lim.when("one") for _ in range(5)] == [5 * MS, 5 * MS, 5 * MS, 3.0, 3.0]
    assert lim.num_requeues("one") == 5
    assert expo.num_requeues("one") == 5  # every limiter counted every failure
    assert [lim.when("two") for _ in range(2)] == [5 * MS, 5 * MS]
    assert lim.num_requeues("two") == 2
    lim.forget("one")
    assert lim.num_requeues("one") == 0
    assert fast_slow.num_requeues("one") == expo.num_requeues("one") == 0
    assert lim.when("one") == 5 * MS


def test_max_of_nothing_never_delays() -> None:
    lim = MaxOfRateLimiter()
    assert lim.when("x") == 0.0
    assert lim.num_requeues("x") == 0


class StepRateLimiter:
    """client-go's test StepRateLimiter: base for the first `threshold` calls, then max."""

    def __init__(self, base: float, max_delay: float, threshold: int) -> None:
        self.count, self.base, self.max, self.threshold = 0, base, max_delay, threshold

    def when(self, item: Hashable) -> float:
        self.count += 1
        return self.base if self.count <= self.threshold else self.max

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


def test_with_max_wait_caps_the_inner_delay() -> None:
    # client-go TestWithMaxWaitRateLimiter
    inner = StepRateLimiter(5 * MS, 1000.0, 100)
    assert isinstance(inner, RateLimiter)
    lim = WithMaxWaitRateLimiter(inner, 500.0)
    assert [lim.when(i) for i in range(100)] == [5 * MS] * 100
    assert [lim.when(i) for i in range(100, 200)] == [500.0] * 100


def test_with_max_wait_delegates_forget_and_num_requeues() -> None:
    inner = ItemExponentialFailureRateLimiter(1 * MS, 1.0)
    lim = WithMaxWaitRateLimiter(inner, 0.5)
    lim.when("x")
    lim.when("x")
    assert lim.num_requeues("x") == 2
    lim.forget("x")
    assert inner.num_requeues("x") == 0


# ---------------------------------------------------------------------------- token bucket


def test_bucket_starts_full_then_queues_reservations_behind_each_other() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(10.0, 3, clock=clock)
    assert [lim.when(i) for i in range(3)] == [0.0, 0.0, 0.0]
    # The balance goes negative: each reservation waits behind the previous ones.
    assert [lim.when(i) for i in range(3)] == [0.1, 0.2, 0.3]


def test_bucket_refills_at_qps_up_to_burst() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(10.0, 2, clock=clock)
    lim.when("a")
    lim.when("a")
    assert lim.when("a") == 0.1  # balance -1
    clock.step(0.1)  # back to 0: the reserved token is paid for
    assert lim.when("a") == 0.1
    clock.step(1.0)  # +10 tokens, capped at burst 2
    assert [lim.when("a") for _ in range(3)] == [0.0, 0.0, 0.1]


def test_bucket_delay_shrinks_as_time_passes_while_a_reservation_is_pending() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(4.0, 1, clock=clock)
    assert lim.when("a") == 0.0
    clock.step(0.125)  # half a token back
    assert lim.when("a") == 0.125


def test_bucket_ignores_the_item_and_never_counts_requeues() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(1.0, 1, clock=clock)
    assert lim.when("a") == 0.0
    assert lim.when("b") == 1.0
    assert lim.num_requeues("a") == 0
    lim.forget("a")
    assert lim.when("a") == 2.0


def test_bucket_with_infinite_rate_never_delays() -> None:
    lim = BucketRateLimiter(math.inf, 0, clock=FakeClock())
    assert [lim.when(i) for i in range(5)] == [0.0] * 5


def test_bucket_with_zero_burst_can_never_be_satisfied() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(10.0, 0, clock=clock)
    assert lim.when("a") == INF_DURATION
    clock.step(100.0)
    assert lim.when("a") == INF_DURATION


def test_bucket_with_zero_rate_allows_only_the_initial_burst() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(0.0, 2, clock=clock)
    assert [lim.when(i) for i in range(3)] == [0.0, 0.0, INF_DURATION]
    clock.step(1e6)
    assert lim.when(0) == INF_DURATION


def test_bucket_rejects_negative_parameters() -> None:
    with pytest.raises(ValueError, match="BucketRateLimiter: negative qps or burst"):
        BucketRateLimiter(-1.0, 1)
    with pytest.raises(ValueError, match="BucketRateLimiter: negative qps or burst"):
        BucketRateLimiter(1.0, -1)


def test_default_controller_rate_limiter_values() -> None:
    clock = FakeClock()
    lim = default_controller_rate_limiter(clock)
    # Per item 5 ms * 2^n ...
    assert [lim.when("x") for _ in range(4)] == [0.005, 0.01, 0.02, 0.04]
    assert lim.num_requeues("x") == 4
    # ... and 10 qps / burst 100 overall: 96 more tokens, then 0.1 s per reservation.
    for i in range(96):
        assert lim.when(i) == 0.005
    assert lim.when("y") == 0.1
    assert lim.when("z") == 0.2
    lim.forget("x")
    assert lim.num_requeues("x") == 0
    # The per-item cap is 1000 s.
    for _ in range(40):
        last = lim.when("w")
    assert last == 1000.0


def test_default_item_based_rate_limiter_values() -> None:
    lim = default_item_based_rate_limiter()
    assert [lim.when("x") for _ in range(3)] == [0.001, 0.002, 0.004]
    for _ in range(30):
        last = lim.when("x")
    assert last == 1000.0


def test_limiters_count_failures_exactly_under_concurrent_calls() -> None:
    lim = ItemExponentialFailureRateLimiter(1 * MS, 1.0)

    def hammer() -> None:
        for _ in range(2000):
            lim.when("shared")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lim.num_requeues("shared") == 8000


# ------------------------------------------------------- token bucket: allow (non-reserving)


def test_allow_takes_only_a_token_that_is_there_now() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(2.0, 2, clock=clock)
    assert [lim.allow() for _ in range(3)] == [True, True, False]
    clock.step(0.25)  # half a token
    assert not lim.allow()
    clock.step(0.25)
    assert lim.allow()
    assert not lim.allow()


def test_a_refused_allow_reserves_nothing() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(1.0, 1, clock=clock)
    assert lim.allow()
    for _ in range(5):
        assert not lim.allow()  # refusals never push the balance negative
    clock.step(1.0)
    assert lim.allow()


def test_allow_and_when_share_one_bucket() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(10.0, 1, clock=clock)
    assert lim.when("a") == 0.0  # takes the token
    assert not lim.allow()
    assert lim.when("b") == 0.1  # reserves the next one: the balance is -1
    clock.step(0.1)
    assert not lim.allow()  # that token belongs to the reservation
    clock.step(0.1)
    assert lim.allow()


def test_allow_edge_rates() -> None:
    assert all(BucketRateLimiter(math.inf, 0).allow() for _ in range(3))
    zero = BucketRateLimiter(0.0, 2, clock=FakeClock())
    assert [zero.allow() for _ in range(3)] == [True, True, False]
    assert not BucketRateLimiter(10.0, 0, clock=FakeClock()).allow()


def test_available_reads_the_balance_without_taking() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(2.0, 3, clock=clock)
    assert lim.available() == 3.0
    lim.when("a")
    lim.when("a")
    lim.when("a")
    lim.when("a")  # reserved ahead: the balance is -1
    assert lim.available() == -1.0
    clock.step(1.0)
    assert lim.available() == 1.0
    assert lim.available() == 1.0
    assert BucketRateLimiter(math.inf, 0).available() == math.inf


def test_carried_to_keeps_only_the_whole_tokens_and_never_more_than_burst() -> None:
    clock = FakeClock()
    lim = BucketRateLimiter(1.0, 5, clock=clock)
    for _ in range(3):
        assert lim.allow()
    clock.step(0.5)  # 2.5 tokens
    new = lim.carried_to(10.0)
    assert (new.qps, new.burst, new.available()) == (10.0, 5, 2.0)
    assert lim.available() == 2.5  # the old one is unchanged
    assert lim.carried_to(1.0, burst=1).available() == 1.0  # capped at the new burst
    empty = BucketRateLimiter(1.0, 1, clock=clock)
    empty.when("x")
    empty.when("x")  # -1: a reservation waits
    assert empty.carried_to(5.0).available() == 0.0  # never negative, never a gift
    assert BucketRateLimiter(math.inf, 0, clock=clock).carried_to(2.0, 3).available() == 3.0


def test_a_start_balance_is_capped_at_burst() -> None:
    lim = BucketRateLimiter(1.0, 2, clock=FakeClock(), tokens=9.0)
    assert [lim.allow() for _ in range(3)] == [True, True, False]

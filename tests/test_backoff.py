"""goprims.backoff: the one backoff (formula, jitter, reset, waits on the clock) and its users."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from goprims.backoff import Backoff, exponential, sleep
from goprims.chan import Chan
from goprims.clock import FakeClock

# ----------------------------------------------------------------------------- the formula


def test_exponential_doubles_from_base_and_stops_at_the_cap() -> None:
    assert [exponential(0.8, n, 30.0) for n in range(8)] == [
        0.8,
        1.6,
        3.2,
        6.4,
        12.8,
        25.6,
        30.0,
        30.0,
    ]


def test_exponential_with_a_cap_below_base_always_answers_the_cap() -> None:
    assert exponential(5.0, 0, 1.0) == 1.0
    assert exponential(5.0, 3, 1.0) == 1.0


def test_exponential_of_a_huge_exponent_is_the_cap_and_never_overflows() -> None:
    assert exponential(1.0, 10**6, 30.0) == 30.0
    assert exponential(1.0, 10**6, math.inf) == math.inf


def test_exponential_of_a_negative_exponent_halves() -> None:
    assert exponential(1.0, -1, 10.0) == 0.5


# ------------------------------------------------------------------------------ Backoff


def test_backoff_defaults_are_the_reflectors_800ms_doubling_to_30s() -> None:
    b = Backoff(FakeClock(), rand=lambda: 0.0)
    assert [b.next() for _ in range(8)] == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    assert b.attempts == 8


def test_backoff_jitter_adds_up_to_jitter_times_the_delay_after_the_cap() -> None:
    b = Backoff(FakeClock(), initial=1.0, cap=2.0, rand=lambda: 1.0)
    assert [b.next() for _ in range(3)] == [2.0, 4.0, 4.0]  # cap 2, then full jitter
    half = Backoff(FakeClock(), initial=1.0, cap=2.0, jitter=0.5, rand=lambda: 1.0)
    assert half.next() == 1.5


def test_backoff_resets_itself_after_reset_after_seconds_of_the_clock_without_a_backoff() -> None:
    clk = FakeClock()
    b = Backoff(clk, initial=1.0, cap=8.0, reset_after=10.0, jitter=0.0)
    assert [b.next() for _ in range(3)] == [1.0, 2.0, 4.0]
    clk.step(9.99)
    assert b.next() == 8.0
    clk.step(10.0)
    assert b.next() == 1.0
    assert b.attempts == 1


def test_backoff_without_reset_after_resets_only_when_told() -> None:
    clk = FakeClock()
    b = Backoff(clk, initial=1.0, cap=8.0, reset_after=None, jitter=0.0)
    b.next()
    clk.step(10**6)
    assert b.next() == 2.0
    b.reset()
    assert b.attempts == 0
    assert b.next() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1.0},
        {"initial": 2.0, "cap": 1.0},
        {"jitter": -0.1},
        {"reset_after": -1.0},
        {"initial": math.nan},
    ],
)
def test_backoff_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be >="):
        Backoff(FakeClock(), **kwargs)


def test_backoff_wait_sleeps_the_next_delay_on_the_clock() -> None:
    clk = FakeClock()
    b = Backoff(clk, initial=2.0, jitter=0.0)
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(b.wait(Chan())))
    t.start()
    clk.block_until_waiters(timeout=10)
    clk.step(1.999)
    assert t.is_alive()
    clk.step(0.001)
    t.join(10)
    assert result == [True]
    assert not clk.has_waiters()


def test_backoff_wait_returns_false_when_a_stop_closes_and_leaves_no_timer_behind() -> None:
    clk = FakeClock()
    b = Backoff(clk, initial=5.0)
    stop: Chan[None] = Chan()
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(b.wait(Chan(), stop)))
    t.start()
    clk.block_until_waiters(timeout=10)
    stop.close()
    t.join(10)
    assert result == [False]
    assert not clk.has_waiters()


def test_sleep_reports_which_channel_ended_the_wait_or_that_the_time_passed() -> None:
    clk = FakeClock()
    a: Chan[int] = Chan(1)
    b: Chan[int] = Chan(1)
    b.send(1)
    assert sleep(10.0, a, b, clock=clk) == 1
    assert sleep(0.0, a, clock=clk) == 1  # a zero wait: the time passed at once
    assert not clk.has_waiters()


def test_the_reflector_and_the_informer_use_the_one_backoff() -> None:
    import goprims.cache.reflector
    import goprims.cache.shared_informer

    assert goprims.cache.reflector.Backoff is Backoff
    # The module imports the name for its own use, not as an export: the test looks inside.
    assert goprims.cache.shared_informer.Backoff is Backoff  # type: ignore[attr-defined]


def test_a_zero_backoff_does_not_wait_for_the_clock() -> None:
    b = Backoff(FakeClock(), initial=0.0, cap=0.0)
    assert b.wait(Chan()) is True
    stop: Chan[None] = Chan()
    stop.close()
    assert b.wait(stop) is False

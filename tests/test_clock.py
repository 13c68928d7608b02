"""Clocks: FakeClock's deterministic time line and RealClock's one shared timer thread."""

from __future__ import annotations

import threading
import time

import pytest

from goprims import clock as clockmod
from goprims.clock import REAL_CLOCK, Clock, FakeClock, RealClock


def test_both_clocks_satisfy_the_clock_protocol() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(RealClock(), Clock)
    assert clockmod.resolve(None) is REAL_CLOCK
    fc = FakeClock()
    assert clockmod.resolve(fc) is fc


# ------------------------------------------------------------------------------------ FakeClock


def test_fake_clock_starts_at_zero_and_moves_only_when_stepped() -> None:
    fc = FakeClock()
    assert fc.now() == 0.0
    fc.step(1.5)
    assert fc.now() == 1.5
    fc.set_time(4)
    assert fc.now() == 4.0
    assert FakeClock(10).now() == 10.0


def test_fake_clock_rejects_going_backwards() -> None:
    fc = FakeClock(5)
    with pytest.raises(ValueError, match="negative step -1"):
        fc.step(-1)
    with pytest.raises(ValueError, match="is before now"):
        fc.set_time(4.9)
    assert fc.now() == 5


def test_fake_clock_step_runs_due_callbacks_in_due_order_seeing_the_new_time() -> None:
    fc = FakeClock()
    seen: list[tuple[str, float]] = []
    fc.call_later(3, lambda: seen.append(("c", fc.now())))
    fc.call_later(1, lambda: seen.append(("a", fc.now())))
    fc.call_at(2, lambda: seen.append(("b", fc.now())))
    fc.call_at(2, lambda: seen.append(("b2", fc.now())))  # same time: scheduling order
    fc.step(0.5)
    assert seen == []
    fc.step(2)
    assert seen == [("a", 2.5), ("b", 2.5), ("b2", 2.5)]
    assert fc.has_waiters()
    assert fc.waiters() == 1
    fc.step(0.5)
    assert seen[-1] == ("c", 3.0)
    assert not fc.has_waiters()


def test_fake_clock_callback_scheduled_during_a_step_runs_if_due_within_it() -> None:
    fc = FakeClock()
    seen: list[float] = []

    def first() -> None:
        seen.append(fc.now())
        fc.call_later(0, lambda: seen.append(-1))  # due now: runs in this same step
        fc.call_later(1, lambda: seen.append(-2))  # due later: waits for the next step

    fc.call_later(1, first)
    fc.step(1)
    assert seen == [1.0, -1]
    fc.step(1)
    assert seen == [1.0, -1, -2]


def test_fake_clock_cancel_returns_true_once_and_prevents_the_call() -> None:
    fc = FakeClock()
    ran: list[int] = []
    h = fc.call_later(1, lambda: ran.append(1))
    assert fc.has_waiters()
    assert h.cancel() is True
    assert h.cancel() is False
    assert not fc.has_waiters()
    fc.step(5)
    assert ran == []
    done = fc.call_later(1, lambda: ran.append(2))
    fc.step(1)
    assert done.cancel() is False  # already ran
    assert ran == [2]


def test_a_raising_callback_goes_to_excepthook_and_later_callbacks_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda a: reported.append(a.exc_value))
    fc = FakeClock()
    ran: list[int] = []

    def boom() -> None:
        raise KeyError("boom")

    fc.call_later(1, boom)
    fc.call_later(1, lambda: ran.append(1))
    fc.step(1)
    assert ran == [1]
    assert len(reported) == 1
    assert isinstance(reported[0], KeyError)


def test_fake_clock_block_until_waiters_returns_once_a_timer_is_armed() -> None:
    fc = FakeClock()
    t = threading.Thread(target=lambda: fc.call_later(1, lambda: None))
    t.start()
    fc.block_until_waiters(1, timeout=5)
    t.join()
    assert fc.has_waiters()
    with pytest.raises(TimeoutError):
        fc.block_until_waiters(2, timeout=0.01)


# ------------------------------------------------------------------------------------ RealClock


def test_real_clock_now_is_monotonic_time() -> None:
    a = time.monotonic()
    b = REAL_CLOCK.now()
    assert a <= b <= time.monotonic()


def test_real_clock_runs_every_callback_on_one_shared_timer_thread() -> None:
    rc = RealClock()
    names: list[str] = []
    done = threading.Event()
    n = 30

    def cb() -> None:
        names.append(threading.current_thread().name)
        if len(names) == n:
            done.set()

    start = time.monotonic()
    for i in range(n):
        rc.call_later(0.001 * (i % 5), cb)
    assert done.wait(5)
    assert set(names) == {"goprims-timer"}
    assert len({t.ident for t in threading.enumerate() if t.name == "goprims-timer"}) <= 2
    assert time.monotonic() - start >= 0.004


def test_real_clock_calls_in_due_order_and_not_early() -> None:
    rc = RealClock()
    order: list[int] = []
    done = threading.Event()
    t0 = rc.now()
    stamps: list[float] = []

    def cb(i: int) -> None:
        order.append(i)
        stamps.append(rc.now())
        if len(order) == 3:
            done.set()

    # Absolute due times from one reading: relative delays would reorder them whenever the test
    # thread is descheduled between two registrations for longer than their 10 ms spacing.
    rc.call_at(t0 + 0.03, lambda: cb(3))
    rc.call_at(t0 + 0.01, lambda: cb(1))
    rc.call_at(t0 + 0.02, lambda: cb(2))
    assert done.wait(5)
    assert order == [1, 2, 3]
    assert stamps[0] >= t0 + 0.01


def test_real_clock_an_earlier_timer_preempts_a_later_one_already_waited_on() -> None:
    rc = RealClock()
    late = rc.call_later(60, lambda: None)
    fired = threading.Event()
    t0 = time.monotonic()
    rc.call_later(0.01, fired.set)
    assert fired.wait(5)
    assert time.monotonic() - t0 < 30
    assert late.cancel()


def test_real_clock_timer_thread_exits_when_nothing_is_pending() -> None:
    rc = RealClock()
    fired = threading.Event()
    h = rc.call_later(0, fired.set)
    assert fired.wait(5)
    thread = rc._thread
    if thread is not None:
        thread.join(5)
        assert not thread.is_alive()
    assert not h.cancel()
    # and a new callback starts a new thread
    again = threading.Event()
    rc.call_later(0, again.set)
    assert again.wait(5)


def test_real_clock_far_future_callback_does_not_kill_the_timer_thread() -> None:
    # Regression: a delay beyond threading.TIMEOUT_MAX (after(1e12)) raised OverflowError in
    # the timer thread, which died and left every later timer of the process unfired.
    rc = RealClock()
    far = rc.call_later(1e12, lambda: None)
    thread = rc._thread
    assert thread is not None
    thread.join(0.2)  # the broken thread dies at once; a healthy one sleeps on
    assert thread.is_alive()
    inf = rc.call_at(float("inf"), lambda: None)
    fired = threading.Event()
    rc.call_later(0.01, fired.set)
    assert fired.wait(5)
    assert far.cancel()
    assert inf.cancel()
    thread.join(5)
    assert not thread.is_alive()


def test_real_clock_timer_thread_exits_when_its_last_callback_is_cancelled() -> None:
    # Regression: cancelling the only pending callback left the timer thread asleep until that
    # callback's due time (a cancelled Timer(3600) kept a thread for an hour).
    rc = RealClock()
    h = rc.call_later(3600, lambda: None)
    thread = rc._thread
    assert thread is not None
    thread.join(0.05)  # let it fall asleep on the hour-long wait
    assert h.cancel()
    thread.join(5)
    assert not thread.is_alive()
    assert rc._thread is None

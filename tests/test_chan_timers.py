"""Timers, tickers and go(): FakeClock for the logic, a few short real-clock checks."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

import pytest

from goprims import clock as clockmod
from goprims.chan import Chan, Recv, Ticker, Timer, after, go, select
from goprims.clock import FakeClock


def nothing(ch: Chan[Any]) -> bool:
    try:
        ch.recv(timeout=0)
    except TimeoutError:
        return True
    return False


# ------------------------------------------------------------------------------------- after


def test_after_delivers_the_clock_time_once_due() -> None:
    fc = FakeClock()
    c = after(5, clock=fc)
    assert c.cap == 1
    fc.step(4.9)
    assert nothing(c)
    fc.step(0.1)
    assert c.recv(timeout=0) == 5.0
    assert not fc.has_waiters()
    fc.step(100)
    assert nothing(c)


def test_after_wakes_a_select_blocked_on_it() -> None:
    fc = FakeClock()
    data: Chan[int] = Chan()
    timeout = after(1, clock=fc)
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(select(Recv(data), Recv(timeout))))
    t.start()
    fc.block_until_waiters(1, timeout=5)
    fc.step(1)
    t.join(5)
    assert out[0] == (1, 1.0, True)


# ------------------------------------------------------------------------------------- Timer


def test_timer_fires_once_at_its_time() -> None:
    fc = FakeClock(10)
    t = Timer(2, clock=fc)
    fc.step(1.999)
    assert nothing(t.c)
    fc.step(0.001)
    assert t.c.recv(timeout=0) == 12.0
    fc.step(10)
    assert nothing(t.c)


def test_timer_stop_before_firing_returns_true_and_it_never_fires() -> None:
    fc = FakeClock()
    t = Timer(1, clock=fc)
    assert t.stop() is True
    assert not fc.has_waiters()
    fc.step(5)
    assert nothing(t.c)
    assert t.stop() is False  # already stopped


def test_timer_stop_after_the_value_was_received_returns_false() -> None:
    fc = FakeClock()
    t = Timer(1, clock=fc)
    fc.step(1)
    assert t.c.recv(timeout=0) == 1.0
    assert t.stop() is False


def test_timer_stop_after_firing_unreceived_discards_the_stale_value_and_returns_true() -> None:
    # Go >= 1.23: Stop drains an unreceived value and reports the timer as stopped.
    fc = FakeClock()
    t = Timer(1, clock=fc)
    fc.step(1)
    assert len(t.c) == 1
    assert t.stop() is True
    assert nothing(t.c)
    assert t.stop() is False


def test_timer_reset_while_pending_returns_true_and_fires_only_at_the_new_time() -> None:
    fc = FakeClock()
    t = Timer(1, clock=fc)
    fc.step(0.5)
    assert t.reset(2) is True
    assert fc.waiters() == 1
    fc.step(1)  # the old due time (1.0) passes
    assert nothing(t.c)
    fc.step(1.5)
    assert t.c.recv(timeout=0) == 3.0
    assert nothing(t.c)


def test_timer_reset_after_expiry_returns_false_and_fires_again() -> None:
    fc = FakeClock()
    t = Timer(1, clock=fc)
    fc.step(1)
    assert t.c.recv(timeout=0) == 1.0
    assert t.reset(1) is False
    fc.step(1)
    assert t.c.recv(timeout=0) == 2.0


def test_timer_reset_after_firing_unreceived_drops_the_stale_value() -> None:
    fc = FakeClock()
    t = Timer(1, clock=fc)
    fc.step(1)
    assert t.reset(1) is True  # Go >= 1.23: the unreceived value counts as pending
    assert nothing(t.c)
    fc.step(1)
    assert t.c.recv(timeout=0) == 2.0


def test_timer_stop_racing_its_firing_on_the_real_clock_never_leaves_a_stale_value() -> None:
    stopped = 0
    for i in range(200):
        t = Timer(0.0005 * (i % 3))
        stopped += t.stop()
        assert nothing(t.c)  # whatever stop() returned, no stale value can follow it
    assert stopped > 0


# ------------------------------------------------------------------------------------ Ticker


def test_ticker_ticks_every_period() -> None:
    fc = FakeClock()
    tk = Ticker(1, clock=fc)
    assert tk.c.cap == 1
    got = []
    for _ in range(3):
        fc.step(1)
        got.append(tk.c.recv(timeout=0))
    assert got == [1.0, 2.0, 3.0]
    tk.stop()


def test_ticker_ticks_repeatedly_on_its_period_grid_until_stopped() -> None:
    # What the real-clock check used to assert by wall-clock gaps: a prompt receiver sees one
    # tick per period, on the period grid, never two within a period, and none after stop().
    fc = FakeClock()
    tk = Ticker(0.5, clock=fc)
    got: list[float] = []
    for _ in range(40):  # 5 s in quarter periods
        fc.step(0.125)
        try:
            got.append(tk.c.recv(timeout=0))
        except TimeoutError:
            pass
    assert got == [0.5 * k for k in range(1, 11)]
    tk.stop()
    assert not fc.has_waiters()
    fc.step(5)
    assert nothing(tk.c)


def test_a_late_tick_is_followed_by_one_on_the_grid_not_a_period_later() -> None:
    # Why the real-clock test cannot assert gaps: a tick that fires late carries its actual
    # time, and the next one keeps to the grid, so the two may be much closer than a period.
    fc = FakeClock()
    tk = Ticker(1, clock=fc)
    fc.step(1.9)
    assert tk.c.recv(timeout=0) == 1.9
    fc.step(0.1)
    assert tk.c.recv(timeout=0) == 2.0
    tk.stop()


def test_ticker_drops_ticks_for_a_slow_receiver() -> None:
    fc = FakeClock()
    tk = Ticker(1, clock=fc)
    for _ in range(5):
        fc.step(1)
    assert len(tk.c) == 1
    assert tk.c.recv(timeout=0) == 1.0  # the first tick; ticks 2..5 found the buffer full
    assert nothing(tk.c)
    fc.step(1)
    assert tk.c.recv(timeout=0) == 6.0
    tk.stop()


def test_ticker_skips_missed_periods_without_drifting() -> None:
    fc = FakeClock()
    tk = Ticker(1, clock=fc)
    fc.step(3.5)  # periods 1, 2 and 3 are due at once: one tick, the next at 4
    assert tk.c.recv(timeout=0) == 3.5
    assert nothing(tk.c)
    fc.step(0.4)
    assert nothing(tk.c)
    fc.step(0.1)
    assert tk.c.recv(timeout=0) == 4.0
    fc.step(1)
    assert tk.c.recv(timeout=0) == 5.0
    tk.stop()


def test_ticker_stop_ends_ticks_and_drops_an_unreceived_one() -> None:
    fc = FakeClock()
    tk = Ticker(1, clock=fc)
    fc.step(1)
    tk.stop()
    assert nothing(tk.c)
    assert not fc.has_waiters()
    fc.step(10)
    assert nothing(tk.c)


def test_ticker_reset_changes_the_period_from_now() -> None:
    fc = FakeClock()
    tk = Ticker(1, clock=fc)
    fc.step(0.5)
    tk.reset(2)
    fc.step(1.9)
    assert nothing(tk.c)
    fc.step(0.1)
    assert tk.c.recv(timeout=0) == 2.5
    fc.step(2)
    assert tk.c.recv(timeout=0) == 4.5
    tk.stop()


@pytest.mark.parametrize("period", [0, -1])
def test_ticker_rejects_a_non_positive_period(period: float) -> None:
    with pytest.raises(ValueError, match="Ticker period must be > 0, got"):
        Ticker(period, clock=FakeClock())
    tk = Ticker(1, clock=FakeClock())
    with pytest.raises(ValueError, match="Ticker period must be > 0, got"):
        tk.reset(period)
    tk.stop()


# -------------------------------------------------------------------------------- real clock


def test_after_on_the_real_clock_fires_no_earlier_than_asked() -> None:
    t0 = time.monotonic()
    v = after(0.02).recv(timeout=5)
    assert v >= t0 + 0.02
    assert time.monotonic() - t0 >= 0.02


def test_real_timers_share_one_timer_thread_and_leave_none_behind() -> None:
    before = {t for t in threading.enumerate() if t.name == "goprims-timer"}
    timers = [Timer(30 + i) for i in range(50)]
    timer_threads = {t for t in threading.enumerate() if t.name == "goprims-timer"} - before
    assert len(timer_threads) <= 1
    assert all(t.stop() for t in timers)
    thread = clockmod.REAL_CLOCK._thread
    if thread is not None:
        thread.join(5)
        assert not thread.is_alive()


def test_real_ticker_ticks_repeatedly_until_stopped() -> None:
    # A smoke check only: the spacing of ticks is pinned on the FakeClock above (a real tick's
    # value is the time it actually fired, so under load a late tick can land just before the
    # next grid point and two ticks can arrive closer than a period -- Go's behaviour too).
    tk = Ticker(0.005)
    ticks = [tk.c.recv(timeout=5) for _ in range(2)]
    assert ticks[0] < ticks[1]
    tk.stop()
    with tk._lock:  # pending() is read under the ticker's lock
        assert not tk._alarm.pending  # nothing left armed to tick later
    assert nothing(tk.c)


# ----------------------------------------------------------------------- freed by refcounting


def test_timers_and_tickers_done_with_are_freed_without_the_cycle_collector() -> None:
    # A timer per request or per loop is common: one that fired, was stopped or was reset and
    # stopped must be freed as soon as it is dropped, not left as a cycle to the collector.
    # (An armed timer or ticker stays alive: the clock holds it until it fires.)
    fc = FakeClock()
    enabled = gc.isenabled()
    gc.disable()
    try:
        fired = Timer(1, clock=fc)
        stopped = Timer(1, clock=fc)
        reset = Timer(1, clock=fc)
        ticker = Ticker(1, clock=fc)
        fc.step(1)
        assert fired.c.recv(timeout=0) == 1.0
        assert ticker.c.recv(timeout=0) == 1.0
        stopped.stop()
        reset.reset(5)
        reset.stop()
        ticker.reset(2)
        fc.step(2)
        assert ticker.c.recv(timeout=0) == 3.0  # the reset period ticks
        ticker.stop()
        refs = [weakref.ref(x) for x in (fired, stopped, reset, ticker)]
        del fired, stopped, reset, ticker
        assert [r() for r in refs] == [None] * 4
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------- go


def test_go_runs_the_function_concurrently_with_its_arguments() -> None:
    out: Chan[tuple[Any, ...]] = Chan()
    go(
        lambda a, b=0: out.send((a, b, threading.current_thread() is threading.main_thread())),
        1,
        b=2,
    )
    assert out.recv(timeout=5) == (1, 2, False)


def test_go_reports_an_escaping_exception_through_excepthook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: Chan[BaseException | None] = Chan(1)
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.send(args.exc_value))

    def boom() -> None:
        raise LookupError("from go")

    go(boom)
    exc = reported.recv(timeout=5)
    assert isinstance(exc, LookupError)
    assert str(exc) == "from go"

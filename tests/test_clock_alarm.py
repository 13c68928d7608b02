"""The clock's one re-armable timer (Alarm), the deadline helpers, the one exception reporter,
and where timers, tickers and go() live now (their own modules, still importable as before)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import goprims
import goprims.chan
import goprims.pool
import goprims.timers
from goprims._report import report_exception
from goprims.clock import Alarm, FakeClock, deadline_after, time_left


def make(clock: FakeClock, fn: Any = None) -> tuple[Alarm, list[float], threading.Lock]:
    fired: list[float] = []
    lock = threading.Lock()

    def on_fire() -> None:
        assert lock.locked()  # fn runs holding the owner's lock
        fired.append(clock.now())

    return Alarm(clock, fn or on_fire, lock), fired, lock


def test_an_alarm_fires_once_at_its_due_time() -> None:
    clock = FakeClock()
    alarm, fired, lock = make(clock)
    with lock:
        assert alarm.arm_after(2.0) is False
        assert alarm.pending
        assert alarm.when == 2.0
    clock.step(1.9)
    assert fired == []
    clock.step(0.1)
    assert fired == [2.0]
    assert not alarm.pending
    assert alarm.when == 2.0
    clock.step(10)
    assert fired == [2.0]


def test_re_arming_replaces_the_pending_arming() -> None:
    clock = FakeClock()
    alarm, fired, lock = make(clock)
    with lock:
        alarm.arm_at(5.0)
        assert alarm.arm_at(3.0) is True  # the 5.0 arming was pending: replaced
    clock.step(3.0)
    clock.step(10)
    assert fired == [3.0]
    assert not clock.has_waiters()


def test_stop_reports_whether_it_prevented_a_fire() -> None:
    clock = FakeClock()
    alarm, fired, lock = make(clock)
    with lock:
        assert alarm.stop() is False  # nothing armed
        alarm.arm_after(1.0)
        assert alarm.stop() is True
        assert alarm.stop() is False
    clock.step(2)
    assert fired == []
    assert not clock.has_waiters()


def test_a_fire_already_taken_by_the_clock_is_suppressed_by_stop() -> None:
    """The race a generation counter exists for: the clock has taken the arming off its
    schedule and its callback waits for the owner's lock while the owner stops (or re-arms)."""
    clock = FakeClock()
    alarm, fired, lock = make(clock)
    with lock:
        alarm.arm_after(1.0)
        stepper = threading.Thread(target=clock.step, args=(1.0,))
        stepper.start()
        while clock.has_waiters():  # the clock takes the callback; it then blocks on our lock
            stepper.join(0.001)
        assert alarm.stop() is True
    stepper.join(5)
    assert fired == []


def test_fn_may_re_arm_and_its_returned_callable_runs_after_the_lock_is_released() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    after_calls: list[bool] = []
    alarm: Alarm

    def tick() -> Any:
        alarm.arm_after(1.0)
        return lambda: after_calls.append(lock.locked())

    alarm = Alarm(clock, tick, lock)
    with lock:
        alarm.arm_after(1.0)
    clock.step(1.0)
    clock.step(1.0)
    assert after_calls == [False, False]
    assert alarm.pending
    assert alarm.when == 3.0


def test_deadline_helpers_measure_on_the_given_clock() -> None:
    clock = FakeClock(10.0)
    assert deadline_after(None, clock) is None
    assert time_left(None, clock) is None
    d = deadline_after(2.5, clock)
    assert d == 12.5
    clock.step(1.0)
    assert time_left(d, clock) == 1.5
    clock.step(2.0)
    left = time_left(d, clock)
    assert left is not None
    assert left <= 0


def test_report_exception_goes_to_threading_excepthook(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    err = ValueError("nobody to raise to")
    report_exception(err)
    assert seen == [err]


def test_report_exception_never_raises_even_if_the_hook_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_hook(args: Any) -> None:
        raise RuntimeError("hook is broken")

    monkeypatch.setattr(threading, "excepthook", broken_hook)
    report_exception(ValueError("lost?"))
    err = capsys.readouterr().err
    assert "hook is broken" in err
    assert "lost?" in err


def test_timers_tickers_and_go_live_in_their_modules_and_are_importable_as_before() -> None:
    for name in ("Timer", "Ticker", "after"):
        obj = getattr(goprims.timers, name)
        assert getattr(goprims.chan, name) is obj
        assert getattr(goprims, name) is obj
    assert goprims.chan.go is goprims.pool.go is goprims.go
    from goprims.chan import Timer, go  # the from-import form works too

    assert Timer is goprims.timers.Timer
    assert go is goprims.pool.go
    with pytest.raises(AttributeError):
        goprims.chan.no_such_thing  # noqa: B018

"""Go's ``time`` package on channels: :func:`after`, :class:`Timer` and :class:`Ticker`.

Each is a channel (``.c``) fed by the clock: by one :class:`~goprims.clock.Alarm` on the shared
timer thread of :data:`~goprims.clock.REAL_CLOCK` (no thread per timer), or by ``FakeClock.step``
in tests. The names are also importable from :mod:`goprims.chan` and :mod:`goprims`.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable

from goprims import clock as _clock
from goprims.chan import Chan

__all__ = ["Ticker", "Timer", "after"]


def after(seconds: float, *, clock: _clock.Clock | None = None) -> Chan[float]:
    """Go's ``time.After``: a channel that receives the clock's ``now()`` once ``seconds``
    have passed. Runs on the shared timer thread (or in ``FakeClock.step``)."""
    clk = _clock.resolve(clock)
    ch: Chan[float] = Chan(1)
    clk.call_later(seconds, lambda: _discard(ch._offer(clk.now())))
    return ch


def _discard(_: object) -> None:
    pass


def _offer_now(c: Chan[float], clock: _clock.Clock) -> None:
    c._offer(clock.now())  # a Timer's fire; lock held (the alarm's contract)


class Timer:
    """Go's ``time.Timer``: ``.c`` receives the clock's time once, ``seconds`` from now.

    As in Go >= 1.23, :meth:`stop` and :meth:`reset` also discard a fired value that was not
    received yet, so after them no stale value can be received.
    """

    def __init__(self, seconds: float, *, clock: _clock.Clock | None = None) -> None:
        self._clock = _clock.resolve(clock)
        self.c: Chan[float] = Chan(1)
        self._lock = threading.Lock()  # guards the alarm; the fire offers under it
        # The alarm's callback refers to the channel and the clock, not to this timer: a timer
        # that is done with is then freed at once instead of being left, as a reference cycle,
        # to the cycle collector (a timer per request or per select loop is common).
        fire = functools.partial(_offer_now, self.c, self._clock)
        self._alarm = _clock.Alarm(self._clock, fire, self._lock)
        with self._lock:
            self._alarm.arm_after(seconds)

    def _disarm(self) -> bool:
        """Cancel the pending fire and drop an unreceived value. Lock held."""
        # Go >= 1.23: pending if the fire had not happened yet -- including one already taken
        # off the schedule and waiting for our lock, which the alarm's generation now
        # suppresses -- or if its value was still unreceived (drained here).
        pending = self._alarm.stop()
        drained = self.c._drain()
        return pending or drained

    def stop(self) -> bool:
        """Stop the timer. True if it stopped it: the timer had not fired, or its value was
        not received yet (it is discarded, as in Go >= 1.23). False if it was already stopped
        or its value was received."""
        with self._lock:
            return self._disarm()

    def reset(self, seconds: float) -> bool:
        """Re-arm the timer to fire ``seconds`` from now. Returns what :meth:`stop` would."""
        with self._lock:
            pending = self._disarm()
            self._alarm.arm_after(seconds)
        return pending


class Ticker:
    """Go's ``time.Ticker``: ``.c`` (capacity 1) receives the time every ``seconds``.

    A slow receiver misses ticks (a tick is dropped while the previous one is unreceived), and
    ticks do not drift: each is scheduled a whole period after the previous due time, skipping
    periods that have already passed. ``seconds <= 0`` raises :class:`ValueError`.
    """

    def __init__(self, seconds: float, *, clock: _clock.Clock | None = None) -> None:
        if seconds <= 0:
            raise ValueError(f"Ticker period must be > 0, got {seconds}")
        self._clock = _clock.resolve(clock)
        self.c: Chan[float] = Chan(1)
        self._lock = threading.Lock()  # guards the alarm and the period; ticks run under it
        # The tick state is what the alarm's callback refers to (not this ticker, which would
        # make every ticker a reference cycle; see Timer).
        self._ticks = _Ticks(self.c, self._clock, seconds)
        self._alarm = _clock.Alarm(self._clock, self._ticks, self._lock)
        self._ticks.alarm = weakref.ref(self._alarm)
        with self._lock:
            self._alarm.arm_after(seconds)

    def stop(self) -> None:
        """Stop the ticker; no more ticks are sent (a pending one is discarded)."""
        with self._lock:
            self._alarm.stop()
            self.c._drain()

    def reset(self, seconds: float) -> None:
        """Change the period to ``seconds``; the next tick comes ``seconds`` from now."""
        if seconds <= 0:
            raise ValueError(f"Ticker period must be > 0, got {seconds}")
        with self._lock:
            self.c._drain()
            self._ticks.period = seconds
            self._alarm.arm_after(seconds)


class _Ticks:
    """A ticker's alarm callback and the state it needs. It holds its alarm weakly (the alarm
    holds it): the ticker keeps the alarm alive, and so does the clock while it is armed."""

    __slots__ = ("alarm", "c", "clock", "period")

    def __init__(self, c: Chan[float], clock: _clock.Clock, period: float) -> None:
        self.c = c
        self.clock = clock
        self.period = period  # changed by Ticker.reset under the ticker's lock
        self.alarm: Callable[[], _clock.Alarm | None] = lambda: None

    def __call__(self) -> None:
        # Lock held (the alarm's contract). Schedule the next tick first, a whole period after
        # this one's due time; skip the periods that have already passed, as Go does.
        alarm = self.alarm()
        assert alarm is not None  # it is the one calling
        assert alarm.when is not None
        now = self.clock.now()
        period = self.period
        nxt = alarm.when + period
        if nxt <= now:
            nxt += ((now - nxt) // period + 1) * period
        alarm.arm_at(nxt)
        self.c._offer(now)

"""Injectable clocks: the one place where goprims reads time and schedules callbacks.

Every time-dependent part of goprims (timers, tickers, context deadlines, delaying queues,
rate limiters, informer resyncs) takes a ``clock=`` argument. Without one it uses
:data:`REAL_CLOCK`, whose ``now()`` is :func:`time.monotonic`. Tests pass a :class:`FakeClock`
and move time by hand with :meth:`FakeClock.step`, which makes timing logic deterministic.

A clock does two things: tell the time (:meth:`Clock.now`) and run a callback once a point in
time is reached (:meth:`Clock.call_at`). Callbacks must be short and must never block: they run
on the shared timer thread (``RealClock``) or in the thread that calls ``step`` (``FakeClock``).
They typically make a non-blocking send on a channel or close one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from sortedcontainers import SortedList

from goprims._report import report_exception
from goprims._waiter import Blocking, ThreadWaiter, WaitQueue, block, wake_all

__all__ = [
    "REAL_CLOCK",
    "Alarm",
    "Clock",
    "FakeClock",
    "RealClock",
    "TimerHandle",
    "deadline_after",
    "report_exception",
    "resolve",
    "time_left",
]


class TimerHandle:
    """A scheduled callback. :meth:`cancel` withdraws it if it has not run yet."""

    __slots__ = ("_key", "_owner", "fn", "when")

    def __init__(self, owner: _Schedule, when: float, seq: int, fn: Callable[[], None]) -> None:
        self.when = when
        self.fn = fn
        self._key = (when, seq)
        self._owner = owner

    def cancel(self) -> bool:
        """Withdraw the callback. Returns True if it was still pending (it will not run)."""
        return self._owner.remove(self)


class _Schedule:
    """Callbacks ordered by due time (then by scheduling order), guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # invariant: a handle is in ``pending`` <=> it has neither run nor been cancelled
        self.pending: SortedList = SortedList(key=lambda h: h._key)
        self._seq = itertools.count()
        # Called (lock released) when a cancel empties the schedule: RealClock wakes its timer
        # thread so it exits now instead of sleeping until the cancelled callback's due time.
        self.on_empty: Callable[[], None] | None = None

    def insert(self, when: float, fn: Callable[[], None]) -> tuple[TimerHandle, bool]:
        """Add a callback; returns the handle and whether it became the earliest one. Lock held."""
        h = TimerHandle(self, when, next(self._seq), fn)
        self.pending.add(h)
        return h, self.pending[0] is h

    def remove(self, h: TimerHandle) -> bool:
        with self.lock:
            try:
                self.pending.remove(h)
            except ValueError:
                return False
            empty = not self.pending
        if empty and self.on_empty is not None:
            self.on_empty()
        return True

    def pop_due(self, now: float) -> TimerHandle | None:
        """Pop the earliest callback due at ``now``. Lock held."""
        if self.pending and self.pending[0].when <= now:
            h: TimerHandle = self.pending.pop(0)
            return h
        return None


@runtime_checkable
class Clock(Protocol):
    """What goprims needs from a clock."""

    def now(self) -> float:
        """Current time in seconds on this clock's time line."""
        ...

    def call_at(self, when: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn()`` once ``now() >= when``. ``fn`` must not block."""
        ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn()`` after ``delay`` seconds (``call_at(now() + delay, fn)``)."""
        ...


class RealClock:
    """Wall time from :func:`time.monotonic`; callbacks run on one shared timer thread.

    The timer thread (``goprims-timer``) is started on demand and exits as soon as no callback is
    pending, so an idle program has no goprims timer thread and tests can check for leaks.
    """

    def __init__(self) -> None:
        self._sched = _Schedule()
        # Binary wake signal for the timer thread: held while nothing new needs its attention.
        self._wake = threading.Lock()
        self._wake.acquire()
        self._sched.on_empty = self._poke
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn()`` on the timer thread after ``delay`` seconds."""
        return self.call_at(time.monotonic() + delay, fn)

    def call_at(self, when: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn()`` on the timer thread once ``time.monotonic() >= when``."""
        sched = self._sched
        with sched.lock:
            h, earliest = sched.insert(when, fn)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="goprims-timer", daemon=True)
                self._thread.start()
            elif earliest:
                self._poke()
        return h

    def _poke(self) -> None:
        try:
            self._wake.release()
        except RuntimeError:  # already signalled
            pass

    def _run(self) -> None:
        sched = self._sched
        while True:
            with sched.lock:
                if not sched.pending:
                    self._thread = None  # a later call_at starts a new thread
                    return
                h = sched.pop_due(time.monotonic())
                delay = 0.0 if h is not None else sched.pending[0].when - time.monotonic()
            if h is not None:
                _run_callback(h.fn)
                continue
            # capped: a far-off callback (after(1e12)) must not overflow the lock timeout
            self._wake.acquire(timeout=min(max(delay, 0.0), threading.TIMEOUT_MAX))


def _run_callback(fn: Callable[[], None]) -> None:
    try:
        fn()
    except BaseException as exc:  # a broken callback must not kill the timer thread
        report_exception(exc)


class FakeClock:
    """A clock for tests: time moves only when :meth:`step` (or :meth:`set_time`) is called.

    Callbacks that fall due run in the calling thread, in due-time order, after the time has been
    set to the new value (as k8s.io/utils/clock/testing.FakeClock fires its waiters).
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._sched = _Schedule()
        # Threads blocked in block_until_waiters (entry value: the count they wait for).
        self._watchers = WaitQueue(self._sched.lock)

    def now(self) -> float:
        """The fake time."""
        return self._now

    def call_at(self, when: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn()`` during the first ``step`` that reaches ``when``."""
        wake = None
        with self._sched.lock:
            h, _ = self._sched.insert(when, fn)
            if self._watchers:
                n = len(self._sched.pending)
                wake = self._watchers.claim_where(lambda e: n >= e.value)
        if wake:
            wake_all(wake)
        return h

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn()`` once the fake time has advanced by ``delay``."""
        return self.call_at(self._now + delay, fn)

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` (>= 0) and run every callback that fell due."""
        if seconds < 0:
            raise ValueError(f"FakeClock.step: negative step {seconds!r}")
        self.set_time(self._now + seconds)

    def set_time(self, t: float) -> None:
        """Move time to ``t`` (never backwards) and run every callback that fell due."""
        if t < self._now:
            raise ValueError(f"FakeClock.set_time: {t!r} is before now ({self._now!r})")
        self._now = t
        sched = self._sched
        while True:
            with sched.lock:
                h = sched.pop_due(t)
            if h is None:
                return
            _run_callback(h.fn)

    def has_waiters(self) -> bool:
        """True while some callback (timer, ticker, deadline, delay) is still pending."""
        with self._sched.lock:
            return bool(self._sched.pending)

    def waiters(self) -> int:
        """Number of pending callbacks."""
        with self._sched.lock:
            return len(self._sched.pending)

    def block_until_waiters(self, n: int = 1, timeout: float | None = None) -> None:
        """Block until at least ``n`` callbacks are pending (e.g. until the code under test has
        armed its timer), without polling. :class:`TimeoutError` after ``timeout`` seconds."""
        block(self._awaiting_waiters(n, timeout))

    def _awaiting_waiters(self, n: int, timeout: float | None) -> Blocking[None]:
        with self._sched.lock:
            if len(self._sched.pending) >= n:
                return
            e = self._watchers.park(ThreadWaiter(), n)
        if not (yield e.waiter, timeout, self._watchers.withdrawer(e)):
            raise TimeoutError(f"fewer than {n} waiters after {timeout} s")


REAL_CLOCK = RealClock()
"""The process-wide real clock used whenever no ``clock=`` is given."""


def resolve(clock: Clock | None) -> Clock:
    """``clock`` or the shared :data:`REAL_CLOCK`."""
    return REAL_CLOCK if clock is None else clock


# -------------------------------------------------------------------------------- deadlines


def deadline_after(timeout: float | None, clock: Clock | None = None) -> float | None:
    """The point on ``clock``'s time line ``timeout`` seconds from now; None for no timeout.

    With :func:`time_left`, the one way goprims turns a ``timeout`` into the time left for each
    of several waits (a select retrying, a pop woken without an item, a drain re-parking).
    """
    return None if timeout is None else resolve(clock).now() + timeout


def time_left(deadline: float | None, clock: Clock | None = None) -> float | None:
    """Seconds from now until ``deadline`` on ``clock`` (``<= 0`` once it has passed); None for
    no deadline."""
    return None if deadline is None else deadline - resolve(clock).now()


# ---------------------------------------------------------------------------- the alarm


class Alarm:
    """One re-armable callback on a clock: Go's ``time.AfterFunc`` timer, with ``Reset`` and
    ``Stop`` that mean what they say.

    ``fn()`` runs from the clock (on the timer thread, or inside ``FakeClock.step``) **holding
    ``lock``** -- the owner's lock, which also guards the alarm: call :meth:`arm_at`,
    :meth:`arm_after` and :meth:`stop` with it held. ``fn`` may re-arm the alarm (a ticker) and
    may return a callable, which is run after ``lock`` is released (to wake parked parties).

    Every arming has a generation: re-arming or stopping bumps it, so a callback of an older
    arming does nothing even if the clock had already taken it off its schedule and it was only
    waiting for ``lock``. Hence after :meth:`stop` (or a re-arm) returns, the old arming never
    runs ``fn``. This is the one re-armable timer of goprims: :class:`goprims.chan.Timer`,
    :class:`~goprims.chan.Ticker`, the delaying queue's wake-up and the work queue's metrics
    refresh are each one ``Alarm``.
    """

    __slots__ = ("__weakref__", "_clock", "_fn", "_gen", "_handle", "_lock", "when")

    def __init__(
        self,
        clock: Clock,
        fn: Callable[[], Callable[[], None] | None],
        lock: threading.Lock | None = None,
    ) -> None:
        self._clock = clock
        self._fn = fn
        self._lock = threading.Lock() if lock is None else lock
        self._gen = 0  # bumped by every arm/stop; a callback of another generation is stale
        self._handle: TimerHandle | None = None  # the pending arming, None once fired/stopped
        self.when: float | None = None
        """The due time of the latest arming (kept after it fired; None before the first)."""

    @property
    def pending(self) -> bool:
        """True while armed and not yet fired (nor stopped). Lock held."""
        return self._handle is not None

    def arm_at(self, when: float) -> bool:
        """(Re-)arm to fire once ``clock.now() >= when``. Returns whether an arming was still
        pending (it is replaced). Lock held."""
        pending = self.stop()
        gen = self._gen
        self.when = when
        self._handle = self._clock.call_at(when, lambda: self._fire(gen))
        return pending

    def arm_after(self, seconds: float) -> bool:
        """:meth:`arm_at` ``clock.now() + seconds``. Lock held."""
        return self.arm_at(self._clock.now() + seconds)

    def stop(self) -> bool:
        """Disarm. True if an arming was pending (it will never run ``fn``), False if it had
        fired already or nothing was armed. Lock held."""
        h, self._handle = self._handle, None
        self._gen += 1
        if h is None:
            return False
        h.cancel()  # False if the clock took it already: the generation check stops it
        return True

    def _fire(self, gen: int) -> None:
        with self._lock:
            if gen != self._gen:
                return  # stopped or re-armed after the clock took this arming
            self._handle = None
            after = self._fn()
        if after is not None:
            after()

    def __repr__(self) -> str:
        state = f"due at {self.when}" if self._handle is not None else "idle"
        return f"<Alarm {state}>"

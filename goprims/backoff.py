"""One backoff for every retry loop: client-go's jittered exponential backoff on the injectable
clock (``k8s.io/apimachinery/pkg/util/wait``: ``Backoff.Step`` with ``Jitter``, driven the way
``NewExponentialBackoffManager`` drives it for the reflector).

* :func:`exponential`: the delay formula, ``base * 2**exponent`` capped, that never overflows. The
  workqueue's per-item rate limiter and :class:`Backoff` both compute their delays with it.
* :class:`Backoff`: a stateful backoff: ``initial`` doubling up to ``cap``, each wait jittered
  (``d + random() * jitter * d``), back to ``initial`` after :meth:`Backoff.reset` or once
  ``reset_after`` seconds pass without a backoff; :meth:`Backoff.wait` sleeps the next delay **on
  the clock** (a :class:`~goprims.clock.FakeClock` makes it deterministic), interrupted at once
  when a stop channel closes.
* :func:`sleep`: wait some seconds on a clock unless one of several channels closes first; what
  :meth:`Backoff.wait` and periodic loops (the reflector's resync) are made of.

Users: the reflector between list-and-watch rounds (0.8 s doubling to 30 s, reset after 2
minutes), the etcd watch between reopen attempts (50 ms doubling to 1 s, reset once a stream
works), and :class:`~goprims.workqueue.ItemExponentialFailureRateLimiter` (the formula only: its
delays are per item and not jittered, as client-go's).

This module builds on the core only (:mod:`goprims.clock` and :mod:`goprims.chan`).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from typing import Any

from goprims import clock as _clock
from goprims.chan import Chan, Recv, Timer, select

__all__ = ["Backoff", "exponential", "sleep"]


def exponential(base: float, exponent: int, cap: float) -> float:
    """``base * 2**exponent``, at most ``cap`` (``cap`` itself when ``cap < base``).

    Exact (a power-of-two scaling, :func:`math.ldexp`), and safe for any ``exponent``: a result
    too large for a float is ``cap``, never an :class:`OverflowError`. A negative ``exponent``
    halves (``exponential(1, -1, 10) == 0.5``).
    """
    try:
        d = math.ldexp(base, exponent)
    except OverflowError:
        return cap
    return cap if d > cap else d


def sleep(seconds: float, *interrupts: Chan[Any], clock: _clock.Clock | None = None) -> int:
    """Wait ``seconds`` on ``clock`` unless one of ``interrupts`` closes (or delivers) first.

    Returns the index in ``interrupts`` of the channel that ended the wait, or
    ``len(interrupts)`` when the time passed (at once for ``seconds <= 0``, unless an interrupt
    is already ready). The timer is stopped either way, so an interrupted
    wait leaves nothing pending on the clock. Nothing polls: this is one
    :func:`~goprims.chan.select` over the channels and a :class:`~goprims.chan.Timer` of the
    clock's timer service.
    """
    cases = [Recv(c) for c in interrupts]
    if seconds <= 0:  # no wait: only an interrupt that is already ready counts
        index = select(*cases, default=True).index
        return index if index >= 0 else len(interrupts)
    timer = Timer(seconds, clock=clock)
    try:
        return select(*cases, Recv(timer.c)).index
    finally:
        timer.stop()


class Backoff:
    """client-go's jittered exponential backoff, on the injectable clock.

    Each :meth:`next` returns ``d + rand() * jitter * d`` and doubles ``d`` for the next call, up
    to ``cap`` (the cap applies before the jitter, as in ``wait.Backoff.Step``; ``jitter=0``
    gives exact delays). ``d`` starts at ``initial`` and returns to it after :meth:`reset`, or
    when the previous :meth:`next` was ``reset_after`` seconds of the clock ago or more
    (``reset_after=None``: only :meth:`reset` resets). :attr:`attempts` counts the delays handed
    out since the last reset, so a caller can also give up after N tries.

    The defaults are the reflector's (``NewExponentialBackoffManager(800ms, 30s, 2min, 2.0,
    1.0)``). Thread-safe; typically one loop owns an instance.
    """

    def __init__(
        self,
        clock: _clock.Clock | None = None,
        initial: float = 0.8,
        cap: float = 30.0,
        reset_after: float | None = 120.0,
        jitter: float = 1.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not initial >= 0:
            raise ValueError(f"initial must be >= 0, not {initial!r}")
        if not cap >= initial:
            raise ValueError(f"cap ({cap!r}) must be >= initial ({initial!r})")
        if not jitter >= 0:
            raise ValueError(f"jitter must be >= 0, not {jitter!r}")
        if reset_after is not None and not reset_after >= 0:
            raise ValueError(f"reset_after must be >= 0 or None, not {reset_after!r}")
        self.clock = _clock.resolve(clock)
        self.initial = initial
        self.cap = cap
        self.reset_after = reset_after
        self.jitter = jitter
        self._rand = rand
        self._lock = threading.Lock()
        # --- guarded by _lock ---
        self._attempts = 0  # delays handed out since the last reset; the next one is initial*2**n
        self._last: float | None = None  # clock time of the last next(), None after a reset

    @property
    def attempts(self) -> int:
        """How many delays :meth:`next` handed out since the last reset (explicit or by time)."""
        with self._lock:
            return self._attempts

    def reset(self) -> None:
        """Start over: the next delay is ``initial`` (jittered) and :attr:`attempts` is 0."""
        with self._lock:
            self._attempts = 0
            self._last = None

    def next(self) -> float:
        """The next delay in seconds (jittered), counted as an attempt."""
        now = self.clock.now()
        with self._lock:
            if (
                self._last is not None
                and self.reset_after is not None
                and now - self._last >= self.reset_after
            ):
                self._attempts = 0
            self._last = now
            d = exponential(self.initial, self._attempts, self.cap)
            self._attempts += 1
        return d + self._rand() * self.jitter * d

    def wait(self, *stop: Chan[Any]) -> bool:
        """Sleep :meth:`next` seconds on the clock; True when the time passed, False as soon as
        one of the ``stop`` channels closes (which may be before the wait starts)."""
        return sleep(self.next(), *stop, clock=self.clock) == len(stop)

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self.initial!r}, cap={self.cap!r}, "
            f"reset_after={self.reset_after!r}, jitter={self.jitter!r})"
        )

"""Rate limiters for :class:`~goprims.workqueue.RateLimitingQueue` (``default_rate_limiters.go``).

A rate limiter answers "how long should this item wait before it is retried?". Durations are
float seconds. Every limiter is safe to share between threads and async tasks (each guards its
state with its own lock; none blocks).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from typing import Protocol, runtime_checkable

from goprims.backoff import exponential
from goprims.clock import Clock, resolve

__all__ = [
    "INF_DURATION",
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "WithMaxWaitRateLimiter",
    "default_controller_rate_limiter",
    "default_item_based_rate_limiter",
]

_MAX_INT64_SECONDS = (2**63 - 1) / 1e9

INF_DURATION = _MAX_INT64_SECONDS
"""Go's ``rate.InfDuration`` (``math.MaxInt64`` nanoseconds, about 292 years) in seconds: the
delay of a reservation that can never be satisfied."""


@runtime_checkable
class RateLimiter(Protocol):
    """client-go's ``TypedRateLimiter[T]``."""

    def when(self, item: Hashable) -> float:
        """Seconds ``item`` should wait now. Counts one more failure for per-item limiters."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking ``item`` (its failures are cleared). Harmless for unknown items."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many failures ``item`` has had since it was last forgotten."""
        ...


class _PerItemFailures:
    """Per-item failure counts shared by the per-item limiters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[Hashable, int] = {}  # guarded by _lock

    def _count_failure(self, item: Hashable) -> int:
        """Count one more failure of ``item``; returns the new count."""
        with self._lock:
            n = self._failures.get(item, 0) + 1
            self._failures[item] = n
        return n

    def forget(self, item: Hashable) -> None:
        """Clear the failures of ``item``."""
        with self._lock:
            self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        """Failures of ``item`` (calls to ``when`` since it was last forgotten)."""
        with self._lock:
            return self._failures.get(item, 0)


class ItemExponentialFailureRateLimiter(_PerItemFailures):
    """Per-item exponential backoff: ``base * 2**n`` seconds for the n-th failure (n from 0),
    capped at ``max_delay``.

    The first :meth:`when` of an item returns ``base``, then ``2*base``, ``4*base``...
    Arbitrarily many failures are safe: once ``base * 2**n`` would exceed Go's largest duration
    (``MaxInt64`` nanoseconds) or overflow a float, ``max_delay`` is returned (client-go's
    overflow guard). With ``max_delay < base`` every call returns ``max_delay``.
    """

    def __init__(self, base: float, max_delay: float) -> None:
        super().__init__()
        self._base = float(base)
        self._max = float(max_delay)

    def when(self, item: Hashable) -> float:
        """``min(base * 2**failures, max_delay)``, then count the failure."""
        exp = self._count_failure(item) - 1
        # The package's one delay formula (goprims.backoff), uncapped here so that client-go's
        # guard (past MaxInt64 ns, answer max_delay) applies even when max_delay is larger.
        backoff = exponential(self._base, exp, math.inf)
        if backoff > _MAX_INT64_SECONDS or backoff > self._max:
            return self._max
        return backoff


class ItemFastSlowRateLimiter(_PerItemFailures):
    """Per-item two-speed retry: ``fast`` for the first ``max_fast_attempts`` failures, then
    ``slow``."""

    def __init__(self, fast: float, slow: float, max_fast_attempts: int) -> None:
        super().__init__()
        self._fast = float(fast)
        self._slow = float(slow)
        self._max_fast = max_fast_attempts

    def when(self, item: Hashable) -> float:
        """Count the failure; ``fast`` while failures <= ``max_fast_attempts``, else ``slow``."""
        n = self._count_failure(item)
        return self._fast if n <= self._max_fast else self._slow


class BucketRateLimiter:
    """One token bucket shared by all items: golang.org/x/time/rate ``Limiter.Reserve().Delay()``.

    The bucket holds at most ``burst`` tokens, starts full and refills at ``qps`` tokens per
    second of the clock. Each :meth:`when` takes one token **even if it must wait for it**: the
    balance may go negative, so later calls queue up behind earlier ones (each is told to wait
    ``-tokens / qps`` seconds). Edge cases follow x/time/rate: ``qps=math.inf`` never delays;
    otherwise ``burst < 1`` can never be satisfied (:data:`INF_DURATION`, state unchanged);
    ``qps=0`` lets the first ``burst`` calls through at once and answers :data:`INF_DURATION`
    after that. :meth:`num_requeues` is always 0 and :meth:`forget` does nothing.
    """

    def __init__(
        self, qps: float, burst: int, clock: Clock | None = None, *, tokens: float | None = None
    ) -> None:
        """``tokens``: the starting balance (default ``burst``, a full bucket), at most
        ``burst``; see :meth:`carried_to`."""
        if qps < 0 or burst < 0:
            raise ValueError(f"BucketRateLimiter: negative qps or burst ({qps!r}, {burst!r})")
        self._clock = resolve(clock)
        self._qps = float(qps)
        self._burst = int(burst)
        self._lock = threading.Lock()
        # Guarded by _lock: token balance as of clock time _last (may be negative).
        self._tokens = float(burst) if tokens is None else min(float(tokens), float(burst))
        self._last = self._clock.now()

    @property
    def qps(self) -> float:
        """Tokens added per second."""
        return self._qps

    @property
    def burst(self) -> int:
        """Bucket size."""
        return self._burst

    def when(self, item: Hashable) -> float:
        """Reserve one token now and return the seconds until it is available (>= 0)."""
        qps = self._qps
        if qps == math.inf:
            return 0.0
        with self._lock:
            if qps == 0:
                # x/time/rate's zero limit: the first `burst` reservations pass, none after.
                if self._burst < 1:
                    return INF_DURATION
                self._burst -= 1
                return 0.0
            if self._burst < 1:
                return INF_DURATION  # n > burst: the reservation is not ok, state unchanged
            now, tokens = self._advance_locked()
            tokens -= 1.0
            self._last = now
            self._tokens = tokens
        if tokens >= 0:
            return 0.0
        return min(-tokens / qps, INF_DURATION)

    def allow(self) -> bool:
        """Take one token if one is available **now**; True if taken.

        x/time/rate's ``Allow()`` (client-go flowcontrol's ``TryAccept``): unlike :meth:`when`
        it never reserves a future token, so a refusal leaves the bucket unchanged and the
        balance never goes negative. ``qps=math.inf`` always allows; ``qps=0`` allows the first
        ``burst`` calls (shared with :meth:`when`) and refuses after that.
        """
        qps = self._qps
        if qps == math.inf:
            return True
        with self._lock:
            if qps == 0:
                if self._burst < 1:
                    return False
                self._burst -= 1
                return True
            now, tokens = self._advance_locked()
            if tokens < 1.0 or self._burst < 1:
                return False  # not ok: x/time/rate updates nothing
            self._last = now
            self._tokens = tokens - 1.0
        return True

    def available(self) -> float:
        """The token balance now (refilled up to now, capped at ``burst``; negative while
        reservations wait; ``math.inf`` for ``qps=math.inf``). Changes nothing."""
        if self._qps == math.inf:
            return math.inf
        with self._lock:
            if self._qps == 0:
                return float(self._burst)
            return self._advance_locked()[1]

    def carried_to(self, qps: float, burst: int | None = None) -> BucketRateLimiter:
        """A new bucket at ``qps`` (same clock; ``burst`` defaults to this one's) that starts
        with the **whole** tokens this one has now, never more than its burst: changing the
        rate this way never grants a token the old bucket did not have (a bucket of burst 1
        that is empty, or mid-refill, gives an empty one; a full one a full one). This bucket
        is left as it was."""
        new_burst = self._burst if burst is None else burst
        carried = self.available()
        start = float(new_burst) if carried == math.inf else max(0.0, math.floor(carried))
        return BucketRateLimiter(qps, new_burst, self._clock, tokens=start)

    def _advance_locked(self) -> tuple[float, float]:
        """(now, the balance refilled up to now, capped at ``burst``): x/time/rate's
        ``advance``. Reads the state only; the caller commits it. Lock held, ``qps > 0``."""
        now = self._clock.now()
        last = min(self._last, now)
        return now, min(float(self._burst), self._tokens + (now - last) * self._qps)

    def forget(self, item: Hashable) -> None:
        """Nothing: the bucket is shared, not per item."""

    def num_requeues(self, item: Hashable) -> int:
        """Always 0."""
        return 0


class MaxOfRateLimiter:
    """The slowest of several limiters. :meth:`when` asks **every** limiter (each counts the
    failure) and returns the largest delay; :meth:`num_requeues` is the largest count;
    :meth:`forget` forgets in all. With no limiter, :meth:`when` returns 0."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self._limiters = tuple(limiters)

    def when(self, item: Hashable) -> float:
        """The maximum of every limiter's ``when(item)``."""
        ret = 0.0
        for lim in self._limiters:
            d = lim.when(item)
            if d > ret:
                ret = d
        return ret

    def forget(self, item: Hashable) -> None:
        """Forget ``item`` in every limiter."""
        for lim in self._limiters:
            lim.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        """The maximum of every limiter's count."""
        return max((lim.num_requeues(item) for lim in self._limiters), default=0)


class WithMaxWaitRateLimiter:
    """Caps another limiter's delay at ``max_wait`` seconds; forget and counts are delegated."""

    def __init__(self, limiter: RateLimiter, max_wait: float) -> None:
        self._limiter = limiter
        self._max_wait = float(max_wait)

    def when(self, item: Hashable) -> float:
        """``min(limiter.when(item), max_wait)``."""
        return min(self._limiter.when(item), self._max_wait)

    def forget(self, item: Hashable) -> None:
        """Delegated."""
        self._limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        """Delegated."""
        return self._limiter.num_requeues(item)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's ``DefaultTypedControllerRateLimiter``: per-item ``0.005 * 2**n`` seconds
    capped at 1000 s, and 10 qps overall with a burst of 100 (the slower of the two)."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )


def default_item_based_rate_limiter() -> ItemExponentialFailureRateLimiter:
    """client-go's ``DefaultTypedItemBasedRateLimiter``: ``0.001 * 2**n`` seconds, capped at
    1000 s."""
    return ItemExponentialFailureRateLimiter(0.001, 1000.0)

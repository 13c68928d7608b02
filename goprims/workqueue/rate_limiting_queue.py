"""The rate-limiting queue: client-go's ``TypedRateLimitingInterface`` (``rate_limiting_queue.go``).

A :class:`RateLimitingQueue` is a :class:`~goprims.workqueue.DelayingQueue` plus a
:class:`~goprims.workqueue.rate_limiters.RateLimiter` that decides how long a failed item waits
before it is retried.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from goprims.clock import Clock
from goprims.workqueue.delaying_queue import DelayingQueue
from goprims.workqueue.metrics import MetricsProvider
from goprims.workqueue.rate_limiters import RateLimiter, default_controller_rate_limiter

__all__ = ["RateLimitingQueue"]

T = TypeVar("T", bound=Hashable)


class RateLimitingQueue(DelayingQueue[T]):
    """A delaying queue whose :meth:`add_rate_limited` asks a rate limiter for the delay.

    ``rate_limiter`` defaults to a fresh
    :func:`~goprims.workqueue.rate_limiters.default_controller_rate_limiter` on the queue's
    clock (per item ``0.005 * 2**n`` s up to 1000 s, and 10 qps overall with burst 100).
    ``name``, ``clock`` and ``metrics`` are as for :class:`~goprims.workqueue.Queue`.
    """

    __slots__ = ("_rate_limiter",)

    def __init__(
        self,
        rate_limiter: RateLimiter | None = None,
        name: str = "",
        clock: Clock | None = None,
        metrics: MetricsProvider | None = None,
    ) -> None:
        super().__init__(name, clock, metrics)
        if rate_limiter is None:
            rate_limiter = default_controller_rate_limiter(self._clock)
        self._rate_limiter = rate_limiter

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter consulted by :meth:`add_rate_limited`."""
        return self._rate_limiter

    def add_rate_limited(self, item: T) -> None:
        """``add_after(item, rate_limiter.when(item))``.

        The limiter counts the failure even when the queue is shutting down and the add is
        then dropped (as in client-go).
        """
        self.add_after(item, self._rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Clear ``item``'s retry history in the limiter (call it after a success).

        It does not remove the item from the queue: the worker must still call :meth:`done`.
        """
        self._rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """How many times ``item`` was rate-limited since it was last forgotten."""
        return self._rate_limiter.num_requeues(item)

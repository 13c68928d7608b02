"""Work queues with client-go's ``util/workqueue`` semantics (v0.32).

* :class:`Queue`: fair, stingy, multi-producer multi-consumer; ``get``/``async_get``,
  ``done``, ``shut_down``, ``shut_down_with_drain``.
* :class:`DelayingQueue`: + ``add_after`` (earliest time wins).
* :class:`RateLimitingQueue`: + ``add_rate_limited``, ``forget``, ``num_requeues``.
* Rate limiters: :class:`ItemExponentialFailureRateLimiter`, :class:`ItemFastSlowRateLimiter`,
  :class:`BucketRateLimiter`, :class:`MaxOfRateLimiter`, :class:`WithMaxWaitRateLimiter`,
  :func:`default_controller_rate_limiter`, :func:`default_item_based_rate_limiter`.
* :func:`parallelize_until`.
* Metrics: :class:`MetricsProvider` and :func:`set_provider`; a Prometheus provider lives in
  :mod:`goprims.workqueue.prometheus` (optional extra ``goprims[prometheus]``).

Every time-dependent part takes ``clock=`` (:class:`goprims.clock.FakeClock` in tests).
See ``docs/workqueue.md`` for the canonical worker loop.
"""

from __future__ import annotations

from goprims.workqueue.delaying_queue import DelayingQueue
from goprims.workqueue.metrics import (
    CounterMetric,
    GaugeMetric,
    HistogramMetric,
    MetricsProvider,
    NoopMetricsProvider,
    SettableGaugeMetric,
    set_provider,
)
from goprims.workqueue.parallelizer import parallelize_until
from goprims.workqueue.queue import Queue
from goprims.workqueue.rate_limiters import (
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
from goprims.workqueue.rate_limiting_queue import RateLimitingQueue

__all__ = [
    "INF_DURATION",
    "BucketRateLimiter",
    "CounterMetric",
    "DelayingQueue",
    "GaugeMetric",
    "HistogramMetric",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "MetricsProvider",
    "NoopMetricsProvider",
    "Queue",
    "RateLimiter",
    "RateLimitingQueue",
    "SettableGaugeMetric",
    "WithMaxWaitRateLimiter",
    "default_controller_rate_limiter",
    "default_item_based_rate_limiter",
    "parallelize_until",
    "set_provider",
]

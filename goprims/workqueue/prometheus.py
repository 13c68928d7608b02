"""Prometheus metrics for work queues, on ``prometheus_client`` (extra ``goprims[prometheus]``).

:class:`PrometheusMetricsProvider` registers the seven families that
``k8s.io/component-base/metrics/prometheus/workqueue`` exposes (and controller-runtime copies),
all labelled by the queue ``name``:

===================================================  =========  ===============================
family                                               type       meaning
===================================================  =========  ===============================
``workqueue_depth``                                  gauge      items waiting to be processed
``workqueue_adds_total``                             counter    adds (merged duplicates excluded)
``workqueue_queue_duration_seconds``                 histogram  wait from add to get
``workqueue_work_duration_seconds``                  histogram  time from get to done
``workqueue_unfinished_work_seconds``                gauge      summed age of in-flight items
``workqueue_longest_running_processor_seconds``      gauge      age of the oldest in-flight item
``workqueue_retries_total``                          counter    ``add_after`` calls
===================================================  =========  ===============================

Histogram buckets are client-go's ``ExponentialBuckets(10e-9, 10, 12)`` (10 ns ... 1000 s).
Usage::

    provider = PrometheusMetricsProvider()          # registers on prometheus_client.REGISTRY
    q = RateLimitingQueue(name="pods", metrics=provider)
    # or once for the process: goprims.workqueue.set_provider(provider)
"""

from __future__ import annotations

try:
    from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "goprims.workqueue.prometheus needs prometheus_client: "
        "pip install 'goprims[prometheus]' (or pip install prometheus_client)"
    ) from exc

from goprims.workqueue.metrics import (
    CounterMetric,
    GaugeMetric,
    HistogramMetric,
    SettableGaugeMetric,
)

__all__ = ["DURATION_BUCKETS", "PrometheusMetricsProvider"]

DURATION_BUCKETS = tuple(10e-9 * 10**i for i in range(12))
"""Buckets of the two duration histograms: 1e-8 s to 1e3 s, factor 10."""


class PrometheusMetricsProvider:
    """A :class:`~goprims.workqueue.metrics.MetricsProvider` backed by ``prometheus_client``.

    The seven metric families are created and registered on ``registry`` (default: the global
    ``prometheus_client.REGISTRY``; ``None`` registers nowhere) when the provider is made, so
    make **one** provider per registry: a second one on the same registry raises
    ``ValueError`` (duplicated timeseries), as ``prometheus_client`` does. ``namespace``
    prefixes every family name (``<namespace>_workqueue_depth``). Queues with the same name
    share their series.
    """

    def __init__(self, registry: CollectorRegistry | None = REGISTRY, namespace: str = "") -> None:
        labels = ("name",)
        ns, sub, reg = namespace, "workqueue", registry
        self._depth = Gauge(
            "depth", "Current depth of workqueue", labels, namespace=ns, subsystem=sub, registry=reg
        )
        self._adds = Counter(
            "adds",
            "Total number of adds handled by workqueue",
            labels,
            namespace=ns,
            subsystem=sub,
            registry=reg,
        )
        self._latency = Histogram(
            "queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested.",
            labels,
            buckets=DURATION_BUCKETS,
            namespace=ns,
            subsystem=sub,
            registry=reg,
        )
        self._work_duration = Histogram(
            "work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            labels,
            buckets=DURATION_BUCKETS,
            namespace=ns,
            subsystem=sub,
            registry=reg,
        )
        self._unfinished = Gauge(
            "unfinished_work_seconds",
            "How many seconds of work has done that is in progress and hasn't been observed by "
            "work_duration. Large values indicate stuck threads. One can deduce the number of "
            "stuck threads by observing the rate at which this increases.",
            labels,
            namespace=ns,
            subsystem=sub,
            registry=reg,
        )
        self._longest = Gauge(
            "longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels,
            namespace=ns,
            subsystem=sub,
            registry=reg,
        )
        self._retries = Counter(
            "retries",
            "Total number of retries handled by workqueue",
            labels,
            namespace=ns,
            subsystem=sub,
            registry=reg,
        )

    def new_depth_metric(self, name: str) -> GaugeMetric:
        """``workqueue_depth{name=...}``."""
        return self._depth.labels(name)

    def new_adds_metric(self, name: str) -> CounterMetric:
        """``workqueue_adds_total{name=...}``."""
        return self._adds.labels(name)

    def new_latency_metric(self, name: str) -> HistogramMetric:
        """``workqueue_queue_duration_seconds{name=...}``."""
        return self._latency.labels(name)

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        """``workqueue_work_duration_seconds{name=...}``."""
        return self._work_duration.labels(name)

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """``workqueue_unfinished_work_seconds{name=...}``."""
        return self._unfinished.labels(name)

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """``workqueue_longest_running_processor_seconds{name=...}``."""
        return self._longest.labels(name)

    def new_retries_metric(self, name: str) -> CounterMetric:
        """``workqueue_retries_total{name=...}``."""
        return self._retries.labels(name)

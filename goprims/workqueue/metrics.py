"""Work queue metrics: the provider protocol, the no-op default and the per-queue bookkeeping.

Mirrors client-go ``util/workqueue/metrics.go``. A :class:`MetricsProvider` makes one metric of
each kind per queue *name*; the queue feeds them while it holds its own lock:

* ``depth`` (gauge): +1 for every add that makes an item newly dirty (merged duplicates are not
  counted; an add while the item is being processed is), -1 when a worker takes an item;
* ``adds`` (counter): the same adds as ``depth`` +1;
* ``latency`` (histogram, seconds): from the first such add to the ``get`` that takes the item;
* ``work_duration`` (histogram, seconds): from ``get`` to ``done``;
* ``unfinished_work_seconds`` and ``longest_running_processor_seconds`` (settable gauges): the
  sum and the maximum of the ages of the items being processed, refreshed every 0.5 s on the
  queue's clock while the queue is not shut down;
* ``retries`` (counter): one per ``add_after`` call on a queue that is not shutting down (this
  includes the immediate adds of a zero or negative delay).

A queue with an empty name, or whose provider is the :class:`NoopMetricsProvider`, records
nothing and schedules no refresh. A queue made without ``metrics=`` uses the global provider,
which :func:`set_provider` sets once for the process (later calls are ignored, as in Go).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Protocol, runtime_checkable

from goprims.clock import Alarm, Clock

__all__ = [
    "CounterMetric",
    "GaugeMetric",
    "HistogramMetric",
    "MetricsProvider",
    "NoopMetricsProvider",
    "SettableGaugeMetric",
    "global_provider",
    "set_provider",
]

UNFINISHED_WORK_UPDATE_PERIOD = 0.5
"""Seconds between two refreshes of the unfinished-work gauges (client-go's 500 ms)."""


@runtime_checkable
class GaugeMetric(Protocol):
    """A gauge that moves by one: the queue depth."""

    def inc(self) -> None:
        """Add one."""
        ...

    def dec(self) -> None:
        """Subtract one."""
        ...


@runtime_checkable
class SettableGaugeMetric(Protocol):
    """A gauge set to an absolute value: the unfinished-work gauges."""

    def set(self, value: float) -> None:
        """Set the gauge to ``value``."""
        ...


@runtime_checkable
class CounterMetric(Protocol):
    """A monotonic counter: adds and retries."""

    def inc(self) -> None:
        """Add one."""
        ...


@runtime_checkable
class HistogramMetric(Protocol):
    """A distribution of durations in seconds: queue latency and work duration."""

    def observe(self, value: float) -> None:
        """Record one observation (seconds)."""
        ...


@runtime_checkable
class MetricsProvider(Protocol):
    """Makes the metrics of one queue; every method receives the queue's name.

    A provider may be called several times with the same name (two queues sharing a name share
    their series, as with client-go's Prometheus provider).
    """

    def new_depth_metric(self, name: str) -> GaugeMetric:
        """Items waiting to be processed."""
        ...

    def new_adds_metric(self, name: str) -> CounterMetric:
        """Adds handled by the queue (merged duplicates excluded)."""
        ...

    def new_latency_metric(self, name: str) -> HistogramMetric:
        """Seconds an item waits in the queue before a worker takes it."""
        ...

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        """Seconds from ``get`` to ``done``."""
        ...

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """Sum of the ages of the items being processed."""
        ...

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """Age of the oldest item being processed."""
        ...

    def new_retries_metric(self, name: str) -> CounterMetric:
        """``add_after`` calls (rate-limited re-adds included)."""
        ...


class _Noop:
    __slots__ = ()

    def inc(self) -> None:
        pass

    def dec(self) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float) -> None:
        pass


_NOOP = _Noop()


class NoopMetricsProvider:
    """A provider whose metrics do nothing; queues using it skip all metric bookkeeping."""

    def new_depth_metric(self, name: str) -> GaugeMetric:
        """A gauge that ignores updates."""
        return _NOOP

    def new_adds_metric(self, name: str) -> CounterMetric:
        """A counter that ignores updates."""
        return _NOOP

    def new_latency_metric(self, name: str) -> HistogramMetric:
        """A histogram that ignores observations."""
        return _NOOP

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        """A histogram that ignores observations."""
        return _NOOP

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """A gauge that ignores updates."""
        return _NOOP

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        """A gauge that ignores updates."""
        return _NOOP

    def new_retries_metric(self, name: str) -> CounterMetric:
        """A counter that ignores updates."""
        return _NOOP


_global_lock = threading.Lock()
_global_provider: MetricsProvider = NoopMetricsProvider()
_global_set = False  # guarded by _global_lock: set_provider has taken effect once


def set_provider(provider: MetricsProvider) -> None:
    """Set the process-wide provider used by queues made without ``metrics=``.

    Only the first call has an effect (client-go's ``SetProvider`` runs under a ``sync.Once``);
    later calls are silently ignored. Queues created before the call keep the provider they
    were made with.
    """
    global _global_provider, _global_set
    with _global_lock:
        if not _global_set:
            _global_provider = provider
            _global_set = True


def global_provider() -> MetricsProvider:
    """The process-wide provider (the no-op one until :func:`set_provider` is called)."""
    return _global_provider


def _choose(provider: MetricsProvider | None) -> MetricsProvider:
    return _global_provider if provider is None else provider


class QueueMetrics:
    """client-go's ``defaultQueueMetrics``: one queue's metrics and the times they derive from.

    Every method is called with the owning queue's lock held, which guards ``_add_times`` and
    ``_processing_start_times`` (a plain dict each; no lock of their own).
    """

    __slots__ = (
        "_add_times",
        "_adds",
        "_clock",
        "_depth",
        "_latency",
        "_longest",
        "_processing_start_times",
        "_unfinished",
        "_work_duration",
    )

    def __init__(self, name: str, provider: MetricsProvider, clock: Clock) -> None:
        self._clock = clock
        self._depth = provider.new_depth_metric(name)
        self._adds = provider.new_adds_metric(name)
        self._latency = provider.new_latency_metric(name)
        self._work_duration = provider.new_work_duration_metric(name)
        self._unfinished = provider.new_unfinished_work_seconds_metric(name)
        self._longest = provider.new_longest_running_processor_seconds_metric(name)
        # item -> clock time of the add that made it dirty; removed by the get that takes it.
        self._add_times: dict[Hashable, float] = {}
        # item -> clock time of the get that took it; removed by its done.
        self._processing_start_times: dict[Hashable, float] = {}

    def add(self, item: Hashable) -> None:
        """An add made ``item`` newly dirty."""
        self._adds.inc()
        self._depth.inc()
        if item not in self._add_times:
            self._add_times[item] = self._clock.now()

    def get(self, item: Hashable) -> None:
        """A worker took ``item``."""
        self._depth.dec()
        now = self._clock.now()
        self._processing_start_times[item] = now
        start = self._add_times.pop(item, None)
        if start is not None:
            self._latency.observe(now - start)

    def done(self, item: Hashable) -> None:
        """A worker finished ``item``."""
        start = self._processing_start_times.pop(item, None)
        if start is not None:
            self._work_duration.observe(self._clock.now() - start)

    def update_unfinished_work(self) -> None:
        """Set the two unfinished-work gauges from the ages of the items being processed."""
        now = self._clock.now()
        total = 0.0
        oldest = 0.0
        for start in self._processing_start_times.values():
            age = now - start
            total += age
            if age > oldest:
                oldest = age
        self._unfinished.set(total)
        self._longest.set(oldest)


def new_queue_metrics(
    name: str, provider: MetricsProvider | None, clock: Clock
) -> QueueMetrics | None:
    """The metrics of a queue, or None (record nothing) for an unnamed queue or a no-op provider."""
    p = _choose(provider)
    if not name or isinstance(p, NoopMetricsProvider):
        return None
    return QueueMetrics(name, p, clock)


def new_retries_metric(name: str, provider: MetricsProvider | None) -> CounterMetric | None:
    """The retry counter of a delaying queue, or None for an unnamed queue."""
    if not name:
        return None
    return _choose(provider).new_retries_metric(name)


class UnfinishedWorkTicker:
    """Refreshes a queue's unfinished-work gauges every 0.5 s on its clock until stopped.

    One :class:`~goprims.clock.Alarm`, re-armed by each refresh. It holds the queue only weakly,
    so a queue that is dropped without being shut down stops its refresh at the next tick
    instead of living forever.
    """

    __slots__ = ("__weakref__", "_alarm", "_lock", "_target")

    def __init__(self, clock: Clock, target: Callable[[], bool]) -> None:
        # target() refreshes the gauges under the queue lock and returns False once the queue
        # is shutting down (then the ticker stops re-arming).
        self._target = weakref.WeakMethod(target)
        self._lock = threading.Lock()  # guards the alarm
        self._alarm = Alarm(clock, self._tick, self._lock)
        with self._lock:
            self._alarm.arm_after(UNFINISHED_WORK_UPDATE_PERIOD)

    def _tick(self) -> None:
        # Lock held (the alarm's contract); the queue lock is taken inside it (lock order:
        # ticker, then queue; the queue never calls into the ticker holding its own lock).
        fn = self._target()
        if fn is not None and fn():
            self._alarm.arm_after(UNFINISHED_WORK_UPDATE_PERIOD)

    def stop(self) -> None:
        """Cancel the pending refresh; no refresh is scheduled afterwards."""
        with self._lock:
            self._alarm.stop()

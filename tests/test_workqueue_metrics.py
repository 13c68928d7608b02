"""Work queue metrics: client-go metrics.go bookkeeping, and the Prometheus provider."""

from __future__ import annotations

import gc
import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from goprims.clock import FakeClock
from goprims.workqueue import (
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    NoopMetricsProvider,
    Queue,
    RateLimitingQueue,
    metrics,
)
from goprims.workqueue.prometheus import PrometheusMetricsProvider


class Recorder:
    """A metric of every kind that remembers what it was told."""

    def __init__(self) -> None:
        self.value = 0.0
        self.observations: list[float] = []

    def inc(self) -> None:
        self.value += 1

    def dec(self) -> None:
        self.value -= 1

    def set(self, value: float) -> None:
        self.value = value

    def observe(self, value: float) -> None:
        self.observations.append(value)


class RecordingProvider:
    def __init__(self) -> None:
        self.made: dict[tuple[str, str], Recorder] = {}

    def _new(self, kind: str, name: str) -> Recorder:
        r = Recorder()
        self.made[kind, name] = r
        return r

    def new_depth_metric(self, name: str) -> Recorder:
        return self._new("depth", name)

    def new_adds_metric(self, name: str) -> Recorder:
        return self._new("adds", name)

    def new_latency_metric(self, name: str) -> Recorder:
        return self._new("latency", name)

    def new_work_duration_metric(self, name: str) -> Recorder:
        return self._new("work", name)

    def new_unfinished_work_seconds_metric(self, name: str) -> Recorder:
        return self._new("unfinished", name)

    def new_longest_running_processor_seconds_metric(self, name: str) -> Recorder:
        return self._new("longest", name)

    def new_retries_metric(self, name: str) -> Recorder:
        return self._new("retries", name)


def make(
    cls: type[Queue[str]] = Queue, name: str = "q"
) -> tuple[Queue[str], FakeClock, dict[str, Recorder]]:
    clock = FakeClock()
    p = RecordingProvider()
    q = cls(name, clock=clock, metrics=p)
    return q, clock, {kind: r for (kind, _), r in p.made.items()}


def test_adds_and_depth_count_new_dirty_items_only() -> None:
    q, _, m = make()
    q.add("a")
    q.add("a")  # merged: not counted
    q.add("b")
    assert m["adds"].value == 2
    assert m["depth"].value == 2
    q.get()
    assert m["depth"].value == 1
    q.add("a")  # while processing: counted, depth up although not queued yet
    assert m["adds"].value == 3
    assert m["depth"].value == 2
    assert len(q) == 1
    q.shut_down()
    q.add("c")  # dropped: not counted
    assert m["adds"].value == 3


def test_latency_is_the_wait_from_first_add_to_get() -> None:
    q, clock, m = make()
    q.add("a")
    clock.step(1.5)
    q.add("a")  # merged: does not restart the wait
    clock.step(0.5)
    q.get()
    assert m["latency"].observations == [2.0]


def test_work_duration_is_the_time_from_get_to_done() -> None:
    q, clock, m = make()
    q.add("a")
    q.get()
    clock.set_time(0.25)
    q.done("a")
    q.done("a")  # not processing: nothing observed
    assert m["work"].observations == [0.25]


def test_unfinished_work_gauges_refresh_every_half_second_until_shutdown() -> None:
    q, clock, m = make()
    q.add("a")
    q.add("b")
    q.get()  # a starts at t=0
    clock.set_time(0.25)
    q.get()  # b starts at t=0.25
    assert m["unfinished"].value == 0
    assert m["longest"].value == 0
    clock.set_time(0.5)
    assert m["unfinished"].value == 0.5 + 0.25
    assert m["longest"].value == 0.5
    q.done("a")
    clock.set_time(1.0)
    assert m["unfinished"].value == 0.75
    assert m["longest"].value == 0.75
    q.shut_down()
    assert not clock.has_waiters()  # the refresh stops with the queue
    clock.set_time(1.5)
    assert m["unfinished"].value == 0.75


def test_retries_count_every_add_after_call_before_shutdown() -> None:
    q, _, m = make(DelayingQueue)
    assert isinstance(q, DelayingQueue)
    q.add_after("a", 1.0)
    q.add_after("a", 2.0)  # discarded later time: still a retry
    q.add_after("b", 0)  # immediate: still a retry
    assert m["retries"].value == 3
    q.shut_down()
    q.add_after("c", 1.0)
    assert m["retries"].value == 3


def test_rate_limited_adds_count_as_retries() -> None:
    clock = FakeClock()
    p = RecordingProvider()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(0.001, 1.0), "rl", clock=clock, metrics=p
    )
    q.add_rate_limited("x")
    q.add_rate_limited("x")
    assert p.made["retries", "rl"].value == 2
    q.shut_down()


def test_unnamed_queue_or_noop_provider_records_nothing_and_schedules_nothing() -> None:
    clock = FakeClock()
    p = RecordingProvider()
    q: DelayingQueue[str] = DelayingQueue(clock=clock, metrics=p)
    q.add("a")
    assert p.made == {}
    assert not clock.has_waiters()
    q2: Queue[str] = Queue("named", clock=clock, metrics=NoopMetricsProvider())
    q2.add("a")
    assert not clock.has_waiters()


def test_set_provider_takes_effect_once_for_queues_without_metrics_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics, "_global_provider", NoopMetricsProvider())
    monkeypatch.setattr(metrics, "_global_set", False)
    first, second = RecordingProvider(), RecordingProvider()
    metrics.set_provider(first)
    metrics.set_provider(second)  # ignored
    assert metrics.global_provider() is first
    clock = FakeClock()
    q: Queue[str] = Queue("global", clock=clock)
    q.add("a")
    assert first.made["adds", "global"].value == 1
    assert second.made == {}
    q.shut_down()


def test_a_dropped_queue_stops_its_metrics_refresh() -> None:
    clock = FakeClock()
    q: Queue[str] = Queue("dropped", clock=clock, metrics=RecordingProvider())
    assert clock.has_waiters()
    del q
    gc.collect()
    clock.step(0.5)  # the tick finds no queue and does not re-arm
    assert not clock.has_waiters()


# ----------------------------------------------------------------------------- Prometheus


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    """Every sample of the exposition text, keyed by (sample name, le or queue name)."""
    text = generate_latest(registry).decode()
    out: dict[tuple[str, str], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[s.name, s.labels.get("le", s.labels.get("name", ""))] = s.value
    return out


def test_prometheus_metrics_read_back_from_a_registry() -> None:
    registry = CollectorRegistry()
    provider = PrometheusMetricsProvider(registry=registry)
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(0.001, 1.0), "pods", clock=clock, metrics=provider
    )
    q.add("a")
    q.add("a")
    q.add("b")
    clock.set_time(0.002)
    item, _ = q.get()
    clock.set_time(0.5)  # refresh: "a" has run 0.498 s
    q.add_rate_limited("c")
    s = samples(registry)
    assert s["workqueue_depth", "pods"] == 1
    assert s["workqueue_adds_total", "pods"] == 2
    assert s["workqueue_retries_total", "pods"] == 1
    assert s["workqueue_queue_duration_seconds_count", "pods"] == 1
    assert s["workqueue_queue_duration_seconds_sum", "pods"] == 0.002
    assert s["workqueue_queue_duration_seconds_bucket", "0.001"] == 0
    assert s["workqueue_queue_duration_seconds_bucket", "0.01"] == 1
    assert s["workqueue_unfinished_work_seconds", "pods"] == pytest.approx(0.498)
    assert s["workqueue_longest_running_processor_seconds", "pods"] == pytest.approx(0.498)
    clock.set_time(1.75)
    assert item is not None
    q.done(item)
    s = samples(registry)
    assert s["workqueue_work_duration_seconds_count", "pods"] == 1
    assert s["workqueue_work_duration_seconds_sum", "pods"] == pytest.approx(1.748)
    assert s["workqueue_work_duration_seconds_bucket", "+Inf"] == 1
    q.shut_down()


def test_prometheus_buckets_are_client_gos_exponential_buckets() -> None:
    registry = CollectorRegistry()
    q: Queue[str] = Queue("b", clock=FakeClock(), metrics=PrometheusMetricsProvider(registry))
    text = generate_latest(registry).decode()
    les = [
        line.split('le="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("workqueue_queue_duration_seconds_bucket")
    ]
    assert [float(x) for x in les] == pytest.approx([1e-8 * 10**i for i in range(12)] + [math.inf])
    q.shut_down()


def test_prometheus_namespace_prefixes_the_families() -> None:
    registry = CollectorRegistry()
    q: Queue[str] = Queue(
        "n", clock=FakeClock(), metrics=PrometheusMetricsProvider(registry, namespace="app")
    )
    q.add("x")
    assert registry.get_sample_value("app_workqueue_adds_total", {"name": "n"}) == 1
    q.shut_down()


def test_queues_sharing_a_name_share_series_and_names_are_separate_labels() -> None:
    registry = CollectorRegistry()
    provider = PrometheusMetricsProvider(registry)
    clock = FakeClock()
    a: Queue[str] = Queue("same", clock=clock, metrics=provider)
    b: Queue[str] = Queue("same", clock=clock, metrics=provider)
    c: Queue[str] = Queue("other", clock=clock, metrics=provider)
    a.add("x")
    b.add("y")
    c.add("z")
    assert registry.get_sample_value("workqueue_adds_total", {"name": "same"}) == 2
    assert registry.get_sample_value("workqueue_adds_total", {"name": "other"}) == 1
    for q in (a, b, c):
        q.shut_down()

"""Fault injection: dropped watch streams, injected expiry and list errors, real compaction and a
slow handler. After 10k random changes the informer's cache, and each handler's own view built
from the notifications it received, equal the storage's final state exactly."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from goprims.cache import (
    DeletedFinalStateUnknown,
    ListResult,
    ResourceExpired,
    SharedIndexInformer,
    wait_for_cache_sync,
)
from goprims.cache.reflector import Backoff
from goprims.chan import Chan
from goprims.clock import REAL_CLOCK
from goprims.storage import MemoryStorage, list_watch

PREFIX = "/widgets/"


class FlakyWatch:
    """Wraps a storage watch; drops the stream or raises expiry at random points."""

    def __init__(self, inner: Any, rng: random.Random, lock: threading.Lock) -> None:
        self.inner = inner
        self.rng = rng
        self.lock = lock

    def _roll(self) -> float:
        with self.lock:
            return self.rng.random()

    def __iter__(self) -> Iterator[Any]:
        for ev in self.inner:
            r = self._roll()
            if r < 0.01:  # the connection drops: this event was read but never delivered
                self.inner.stop()
                return
            if r < 0.015:
                self.inner.stop()
                raise ResourceExpired("injected: too old resource version")
            yield ev

    def stop(self) -> None:
        self.inner.stop()


class FlakyLW:
    """Injects list failures and watch expiry into ``inner`` (default: the storage's own
    list_watch over PREFIX; tests/test_kube_informer_faults.py passes a KubeListWatch)."""

    def __init__(self, storage: MemoryStorage, seed: int, inner: Any = None) -> None:
        self.inner: Any = inner if inner is not None else list_watch(storage, PREFIX)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults = {"list": 0, "watch": 0}

    def list(self, resource_version: str = "") -> ListResult:
        with self.lock:
            fail = self.rng.random() < 0.5
        if fail:
            self.faults["list"] += 1
            raise ConnectionError("injected list failure")
        listed: ListResult = self.inner.list(resource_version)
        return listed

    def watch(self, resource_version: str) -> Any:
        return self.flaky_watch(self.inner.watch, resource_version, "injected watch expiry")

    def flaky_watch(
        self, open_watch: Callable[[str], Any], resource_version: str, expiry: str
    ) -> FlakyWatch:
        """Fail one open in 20 with ResourceExpired(``expiry``); else wrap the opened watch."""
        with self.lock:
            fail = self.rng.random() < 0.05
        if fail:
            self.faults["watch"] += 1
            raise ResourceExpired(expiry)
        return FlakyWatch(open_watch(resource_version), self.rng, self.lock)


class View:
    """A handler that rebuilds the state from the notifications it gets."""

    def __init__(self, slow: bool = False) -> None:
        self.objs: dict[str, Any] = {}
        self.slow = slow
        self.changed: Chan[None] = Chan(None)  # one value per notification handled
        self.counts = {"add": 0, "update": 0, "delete": 0}
        self.marker_rv = 0  # the newest marker revision this view has seen

    @staticmethod
    def key(obj: Any) -> str:
        if isinstance(obj, DeletedFinalStateUnknown):
            return obj.key
        md = obj["metadata"]
        return f"{md['namespace']}/{md['name']}"

    def _work(self) -> None:
        if self.slow:  # burn a little CPU per event: this handler lags far behind the others
            sum(range(2000))

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self._work()
        self.counts["add"] += 1
        self._put(obj)

    def _put(self, obj: Any) -> None:
        self.objs[self.key(obj)] = obj
        if obj["metadata"]["name"] == "marker":
            self.marker_rv = max(self.marker_rv, int(obj["metadata"]["resourceVersion"]))
        self.changed.send(None)

    def on_update(self, old: Any, new: Any) -> None:
        self._work()
        self.counts["update"] += 1
        self._put(new)

    def on_delete(self, obj: Any) -> None:
        self._work()
        self.counts["delete"] += 1
        self.objs.pop(self.key(obj), None)
        self.changed.send(None)

    def reach_marker(self, rv: int, timeout: float) -> None:
        """Wait, notification by notification, until the marker at ``rv`` was seen."""
        deadline = REAL_CLOCK.now() + timeout
        while self.marker_rv < rv:
            self.changed.recv(timeout=max(0.0, deadline - REAL_CLOCK.now()))

    def converge_to(self, want: dict[str, Any], timeout: float) -> None:
        """Wait, notification by notification, until this view equals ``want``."""
        deadline = REAL_CLOCK.now() + timeout
        while self.objs != want:
            self.changed.recv(timeout=max(0.0, deadline - REAL_CLOCK.now()))


MARKER = f"{PREFIX}z/marker"


def churn(
    storage: MemoryStorage,
    n: int,
    seed: int,
    round_done: Callable[[int], None] | None = None,
    prefix: str = PREFIX,
    type_meta: dict[str, str] | None = None,
) -> None:
    """``n`` random creates/updates/deletes over 150 keys under ``prefix``, compacting now and
    then. Every 500 changes a marker object is bumped and ``round_done(its revision)`` called,
    so a test can let the informer catch up (and watch, and fail) between rounds. The objects
    carry ``type_meta`` (e.g. apiVersion and kind, as an API server's objects do)."""
    rng = random.Random(seed)
    tm = dict(type_meta or {})
    marker = f"{prefix}z/marker"
    storage.create(
        marker, {**tm, "metadata": {"name": "marker", "namespace": "z"}, "spec": {"round": 0}}
    )
    names = [f"w{i:03d}" for i in range(150)]
    live: set[str] = set()
    for i in range(n):
        name = rng.choice(names)
        ns = "a" if name < "w075" else "b"
        k = f"{prefix}{ns}/{name}"
        if name not in live:
            storage.create(k, {**tm, "metadata": {"name": name, "namespace": ns}, "spec": {"v": i}})
            live.add(name)
        elif rng.random() < 0.3:
            storage.delete(k)
            live.discard(name)
        else:
            storage.guaranteed_update(k, lambda o, i=i: {**o, "spec": {"v": i}})  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
        if i % 2500 == 2499:  # genuine compaction: old watch positions really expire
            storage.compact(storage.revision() - 20)
        if i % 500 == 499 and round_done is not None:
            m = storage.guaranteed_update(marker, lambda o, i=i: {**o, "spec": {"round": i}})  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
            round_done(int(m["metadata"]["resourceVersion"]))


def state_of(storage: MemoryStorage, prefix: str = PREFIX) -> dict[str, Any]:
    out = {}
    for o in storage.list(prefix).items:
        md = o["metadata"]
        out[f"{md['namespace']}/{md['name']}"] = o
    return out


def converge_under_faults(
    storage: MemoryStorage,
    lw: FlakyLW,
    changes: int,
    *,
    writer_timeout: float = 60,
    prefix: str = PREFIX,
    type_meta: dict[str, str] | None = None,
) -> None:
    """Run a SharedIndexInformer over ``lw`` with a fast and a slow handler while ``changes``
    random writes (objects under ``prefix`` carrying ``type_meta``) are churned into
    ``storage``; then the cache and both handlers' views must equal the storage exactly, both
    kinds of fault must have been injected, and the informer must stop cleanly."""
    inf = SharedIndexInformer(lw, backoff=Backoff(REAL_CLOCK, initial=0.001, cap=0.01))
    fast, slow = View(), View(slow=True)
    inf.add_event_handler(fast)
    inf.add_event_handler(slow)
    stop: Chan[None] = Chan()
    runner = threading.Thread(target=inf.run, args=(stop,))
    runner.start()
    try:
        writer = threading.Thread(
            target=churn,
            args=(storage, changes, 11, lambda rv: fast.reach_marker(rv, 30)),
            kwargs={"prefix": prefix, "type_meta": type_meta},
        )
        writer.start()
        writer.join(writer_timeout)
        assert not writer.is_alive()
        assert wait_for_cache_sync(stop, inf.synced(), timeout=60)
        # No more writes: each view must reach the final state exactly (a lost or misordered
        # notification leaves it different forever and the wait times out).
        want = state_of(storage, prefix)
        fast.converge_to(want, timeout=60)
        slow.converge_to(want, timeout=60)
        cache = {View.key(o): o for o in inf.get_store().list()}
        assert cache == want
        assert lw.faults["list"] > 0
        assert lw.faults["watch"] > 0
    finally:
        stop.close()
        runner.join(10)
    assert not runner.is_alive()
    assert inf.is_stopped()


def test_informer_converges_exactly_under_injected_faults() -> None:
    storage = MemoryStorage()
    converge_under_faults(storage, FlakyLW(storage, seed=7), 10_000)

"""SharedIndexInformer, handlers, wait_for_cache_sync and the factory, over MemoryStorage."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from goprims.cache import (
    NAMESPACE_INDEX,
    FilteringResourceEventHandler,
    InformerStarted,
    InformerStopped,
    ResourceEventHandlerDetailedFuncs,
    ResourceEventHandlerFuncs,
    SharedIndexInformer,
    SharedInformerFactory,
    meta_namespace_index_func,
    wait_for_cache_sync,
)
from goprims.chan import Chan
from goprims.clock import FakeClock
from goprims.storage import MemoryStorage, list_watch

PREFIX = "/things/"


def thing(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": dict(spec)}


def key(name: str, ns: str = "default") -> str:
    return f"{PREFIX}{ns}/{name}"


class Recorder:
    """A handler that records notifications and forwards each to a channel."""

    def __init__(self) -> None:
        self.events: Chan[tuple[Any, ...]] = Chan(None)
        self.log: list[tuple[Any, ...]] = []

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self._note(("add", obj["metadata"]["name"], is_in_initial_list))

    def on_update(self, old: Any, new: Any) -> None:
        self._note(
            (
                "update",
                new["metadata"]["name"],
                old["metadata"]["resourceVersion"],
                new["metadata"]["resourceVersion"],
            )
        )

    def on_delete(self, obj: Any) -> None:
        name = obj["metadata"]["name"] if isinstance(obj, dict) else obj.key
        self._note(("delete", name))

    def _note(self, ev: tuple[Any, ...]) -> None:
        self.log.append(ev)
        self.events.send(ev)

    def next(self) -> tuple[Any, ...]:
        return self.events.recv(timeout=5)


class Running:
    """An informer running on a thread; stop() closes stop and joins."""

    def __init__(self, inf: SharedIndexInformer) -> None:
        self.inf = inf
        self.stop_ch: Chan[None] = Chan()
        self.thread = threading.Thread(target=inf.run, args=(self.stop_ch,), name="informer-run")
        self.thread.start()

    def stop(self) -> None:
        if not self.stop_ch.closed:
            self.stop_ch.close()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.inf.is_stopped()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def informer(storage: MemoryStorage) -> SharedIndexInformer:
    inf = SharedIndexInformer(
        list_watch(storage, PREFIX), indexers={NAMESPACE_INDEX: meta_namespace_index_func}
    )
    return inf


def test_handler_sees_initial_list_then_live_changes(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    storage.create(key("a"), thing("a"))
    rec = Recorder()
    reg = informer.add_event_handler(rec)
    run = Running(informer)
    try:
        assert rec.next() == ("add", "a", True)
        assert wait_for_cache_sync(run.stop_ch, informer.synced(), reg.synced(), timeout=5)
        assert informer.has_synced()
        assert reg.has_synced()
        storage.create(key("b"), thing("b"))
        assert rec.next() == ("add", "b", False)
        cur = storage.get(key("b"))
        cur["spec"]["x"] = 1
        new = storage.update(key("b"), cur)
        ev = rec.next()
        assert ev[:2] == ("update", "b")
        assert ev[3] == new["metadata"]["resourceVersion"]
        storage.delete(key("a"))
        assert rec.next() == ("delete", "a")
        _, exists = informer.get_indexer().get_by_key("default/a")
        assert not exists
    finally:
        run.stop()


def test_empty_initial_list_still_syncs(informer: SharedIndexInformer) -> None:
    reg = informer.add_event_handler(Recorder())
    run = Running(informer)
    try:
        assert wait_for_cache_sync(run.stop_ch, informer.synced(), reg.synced(), timeout=5)
    finally:
        run.stop()


def test_registration_syncs_only_after_its_initial_adds_are_handled(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    for i in range(3):
        storage.create(key(f"o{i}"), thing(f"o{i}"))
    gate = threading.Event()
    handled: list[str] = []

    def slow_add(obj: Any) -> None:
        gate.wait(5)
        handled.append(obj["metadata"]["name"])

    reg = informer.add_event_handler(ResourceEventHandlerFuncs(on_add=slow_add))
    run = Running(informer)
    try:
        assert wait_for_cache_sync(run.stop_ch, informer.synced(), timeout=5)
        assert not reg.has_synced()
        gate.set()
        assert wait_for_cache_sync(run.stop_ch, reg.synced(), timeout=5)
        assert sorted(handled) == ["o0", "o1", "o2"]
    finally:
        run.stop()


def test_handler_added_while_running_gets_the_current_contents(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    storage.create(key("a"), thing("a"))
    storage.create(key("b"), thing("b"))
    run = Running(informer)
    try:
        assert wait_for_cache_sync(run.stop_ch, informer.synced(), timeout=5)
        late = Recorder()
        reg = informer.add_event_handler(late)
        got = {late.next(), late.next()}
        assert got == {("add", "a", True), ("add", "b", True)}
        assert wait_for_cache_sync(run.stop_ch, reg.synced(), timeout=5)
        storage.create(key("c"), thing("c"))
        assert late.next() == ("add", "c", False)
    finally:
        run.stop()


def test_slow_handler_does_not_block_other_handlers(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    gate = threading.Event()
    informer.add_event_handler(ResourceEventHandlerFuncs(on_add=lambda o: gate.wait(5)))
    fast = Recorder()
    informer.add_event_handler(fast)
    run = Running(informer)
    try:
        for i in range(50):
            storage.create(key(f"o{i}"), thing(f"o{i}"))
        names = {fast.next()[1] for _ in range(50)}
        assert names == {f"o{i}" for i in range(50)}
    finally:
        gate.set()
        run.stop()


def test_handler_exception_skips_that_event_only(
    storage: MemoryStorage, informer: SharedIndexInformer, caplog: pytest.LogCaptureFixture
) -> None:
    seen: Chan[str] = Chan(None)

    def on_add(obj: Any) -> None:
        name = obj["metadata"]["name"]
        if name == "bad":
            raise RuntimeError("handler bug")
        seen.send(name)

    informer.add_event_handler(ResourceEventHandlerFuncs(on_add=on_add))
    run = Running(informer)
    try:
        with caplog.at_level(logging.ERROR, logger="goprims.cache.informer"):
            storage.create(key("bad"), thing("bad"))
            storage.create(key("good"), thing("good"))
            assert seen.recv(timeout=5) == "good"
        assert any("handler bug" in r.getMessage() or r.exc_info for r in caplog.records)
        assert not informer.is_stopped()
    finally:
        run.stop()


def test_removed_handler_gets_nothing_more_and_removal_is_idempotent(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    a, b = Recorder(), Recorder()
    reg_a = informer.add_event_handler(a)
    informer.add_event_handler(b)
    run = Running(informer)
    try:
        storage.create(key("x"), thing("x"))
        assert a.next()[1] == "x"
        assert b.next()[1] == "x"
        informer.remove_event_handler(reg_a)
        informer.remove_event_handler(reg_a)
        storage.create(key("y"), thing("y"))
        assert b.next()[1] == "y"
        assert [e[1] for e in a.log] == ["x"]
        with pytest.raises(TypeError):
            informer.remove_event_handler("not a registration")
    finally:
        run.stop()


def test_lifecycle_errors(informer: SharedIndexInformer) -> None:
    run = Running(informer)
    with pytest.raises(InformerStarted):
        informer.set_transform(lambda o: o)
    with pytest.raises(InformerStarted):
        informer.set_watch_error_handler(lambda r, e: None)
    run.stop()
    with pytest.raises(InformerStopped):
        informer.add_event_handler(Recorder())
    with pytest.raises(InformerStopped):
        informer.add_indexers({"x": lambda o: []})
    with pytest.raises(TypeError):
        SharedIndexInformer(list_watch(MemoryStorage(), PREFIX)).add_event_handler(object())  # type: ignore[arg-type]


def test_transform_applies_before_storing(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    def strip(o: Any) -> Any:
        if isinstance(o, dict):
            o = dict(o)
            o.pop("spec", None)
        return o

    informer.set_transform(strip)
    storage.create(key("a"), thing("a", big="x" * 100))
    run = Running(informer)
    try:
        assert wait_for_cache_sync(run.stop_ch, informer.synced(), timeout=5)
        item, ok = informer.get_store().get_by_key("default/a")
        assert ok
        assert "spec" not in item
    finally:
        run.stop()


def test_namespace_index_and_add_indexers_after_start(
    storage: MemoryStorage, informer: SharedIndexInformer
) -> None:
    storage.create(key("a", "ns1"), thing("a", "ns1", color="red"))
    storage.create(key("b", "ns2"), thing("b", "ns2", color="red"))
    storage.create(key("c", "ns1"), thing("c", "ns1", color="blue"))
    run = Running(informer)
    try:
        assert wait_for_cache_sync(run.stop_ch, informer.synced(), timeout=5)
        idx = informer.get_indexer()
        assert sorted(o["metadata"]["name"] for o in idx.by_index(NAMESPACE_INDEX, "ns1")) == [
            "a",
            "c",
        ]
        informer.add_indexers({"color": lambda o: [o["spec"]["color"]]})
        assert sorted(idx.index_keys("color", "red")) == ["ns1/a", "ns2/b"]
    finally:
        run.stop()


def test_resync_goes_only_to_handlers_due(storage: MemoryStorage) -> None:
    clk = FakeClock()
    inf = SharedIndexInformer(list_watch(storage, PREFIX), resync_period=10, clock=clk)
    storage.create(key("a"), thing("a"))
    resyncing, quiet = Recorder(), Recorder()
    inf.add_event_handler(resyncing)  # the informer's default period
    inf.add_event_handler(quiet, resync_period=0)
    run = Running(inf)
    try:
        assert resyncing.next() == ("add", "a", True)
        assert quiet.next() == ("add", "a", True)
        clk.block_until_waiters(timeout=5)
        clk.step(10)
        ev = resyncing.next()
        assert ev[:2] == ("update", "a")
        assert ev[2] == ev[3]
        storage.create(key("b"), thing("b"))
        assert quiet.next() == ("add", "b", False)
        assert [e[0] for e in quiet.log] == ["add", "add"]
    finally:
        run.stop()


def test_informer_without_resync_cannot_resync_a_handler(storage: MemoryStorage) -> None:
    inf = SharedIndexInformer(list_watch(storage, PREFIX), resync_period=0)
    reg = inf.add_event_handler(Recorder(), resync_period=10)
    assert reg.resync_period == 0  # client-go: the informer does not support resyncing


def test_filtering_handler_turns_updates_into_adds_and_deletes() -> None:
    rec = Recorder()
    f = FilteringResourceEventHandler(lambda o: o["spec"].get("on", False), rec)
    on = {"metadata": {"name": "x", "resourceVersion": "2"}, "spec": {"on": True}}
    off = {"metadata": {"name": "x", "resourceVersion": "1"}, "spec": {"on": False}}
    f.on_update(off, on)
    f.on_update(on, off)
    f.on_update(off, off)
    f.on_add(off, True)
    assert rec.log == [("add", "x", False), ("delete", "x")]


def test_detailed_funcs_pass_is_in_initial_list() -> None:
    got: list[Any] = []
    h = ResourceEventHandlerDetailedFuncs(on_add=lambda o, initial: got.append(initial))
    h.on_add({}, True)
    h.on_update({}, {})
    h.on_delete({})
    assert got == [True]


def test_wait_for_cache_sync_returns_false_when_stopped_and_polls_callables() -> None:
    stop: Chan[None] = Chan()
    never: Chan[None] = Chan()
    threading.Timer(0.05, stop.close).start()
    assert wait_for_cache_sync(stop, never) is False
    flag = threading.Event()
    threading.Timer(0.05, flag.set).start()
    assert wait_for_cache_sync(Chan(), flag.is_set, timeout=5) is True
    with pytest.raises(TimeoutError):
        wait_for_cache_sync(Chan(), never, timeout=0.05)
    with pytest.raises(TypeError):
        wait_for_cache_sync(Chan(), 42)  # type: ignore[arg-type]


def test_factory_shares_informers_starts_syncs_and_shuts_down(storage: MemoryStorage) -> None:
    storage.create(key("a"), thing("a"))
    factory = SharedInformerFactory(default_resync=0)
    made: list[float] = []

    def new(resync: float) -> SharedIndexInformer:
        made.append(resync)
        return SharedIndexInformer(list_watch(storage, PREFIX), resync_period=resync)

    inf = factory.informer_for("things", new)
    assert factory.informer_for("things", new) is inf
    assert made == [0]
    stop: Chan[None] = Chan()
    factory.start(stop)
    factory.start(stop)  # idempotent for started informers
    assert factory.wait_for_cache_sync(stop, timeout=5) == {"things": True}
    assert [o["metadata"]["name"] for o in inf.get_store().list()] == ["a"]
    stop.close()
    factory.shutdown()
    assert inf.is_stopped()
    factory.start(stop)  # after shutdown: a no-op


def test_informer_stops_via_context(storage: MemoryStorage) -> None:
    from goprims.context import background, with_cancel

    inf = SharedIndexInformer(list_watch(storage, PREFIX))
    ctx, cancel = with_cancel(background())
    t = threading.Thread(target=inf.run, args=(ctx,))
    t.start()
    assert wait_for_cache_sync(ctx, inf.synced(), timeout=5)
    cancel()
    t.join(10)
    assert inf.is_stopped()

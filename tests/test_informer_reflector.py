"""Reflector: resourceVersion rules, re-watch without relist, expiry, backoff, resync, stop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from goprims.cache import ListResult, ResourceExpired, WatchEvent
from goprims.cache.reflector import Backoff, Reflector, WatchError
from goprims.chan import Chan
from goprims.clock import FakeClock
from goprims.watch import EventType


def obj(name: str, rv: int | str, ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": str(rv)}}


class ScriptedWatch:
    """A watch that yields scripted events, then ends (or raises), or blocks until stop()."""

    def __init__(self, events: list[Any], block: bool = False) -> None:
        self.events = events
        self.block = block
        self.stopped = Chan[None]()

    def __iter__(self) -> Any:
        for ev in self.events:
            if isinstance(ev, BaseException):
                raise ev
            yield ev
        if self.block:
            self.stopped.recv_ok()

    def stop(self) -> None:
        if not self.stopped.closed:
            self.stopped.close()


class ScriptedLW:
    """Records list/watch calls; serves scripted results in order."""

    def __init__(self, lists: list[Any], watches: list[Any]) -> None:
        self.lists = lists
        self.watches = watches
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.called: Chan[None] = Chan(None)

    def wait_calls(self, n: int) -> None:
        """Block until ``n`` calls have been made in all."""
        while True:
            with self.lock:
                if len(self.calls) >= n:
                    return
            self.called.recv(timeout=5)

    def list(self, resource_version: str = "") -> ListResult:
        with self.lock:
            self.calls.append(("list", resource_version))
            r = self.lists.pop(0)
        self.called.send(None)
        if isinstance(r, BaseException):
            raise r
        return r  # type: ignore[no-any-return]

    def watch(self, resource_version: str) -> Any:
        with self.lock:
            self.calls.append(("watch", resource_version))
            w = self.watches.pop(0)
        self.called.send(None)
        if isinstance(w, BaseException):
            raise w
        return w


class RecordingStore:
    def __init__(self) -> None:
        self.ops: list[tuple[str, Any]] = []
        self.seen: Chan[tuple[str, Any]] = Chan(None)

    def wait_for(self, op: tuple[str, Any]) -> None:
        """Block until ``op`` has been applied."""
        while self.seen.recv(timeout=5) != op:
            pass

    def _record(self, op: tuple[str, Any]) -> None:
        self.ops.append(op)
        self.seen.send(op)

    def add(self, o: Any) -> None:
        self._record(("add", o["metadata"]["name"]))

    def update(self, o: Any) -> None:
        self._record(("update", o["metadata"]["name"]))

    def delete(self, o: Any) -> None:
        self._record(("delete", o["metadata"]["name"]))

    def replace(self, items: list[Any], rv: str) -> None:
        self._record(("replace", (sorted(i["metadata"]["name"] for i in items), rv)))

    def resync(self) -> None:
        self._record(("resync", None))


@contextmanager
def running(target: Callable[[Chan[None]], object]) -> Iterator[None]:
    """Run ``target(stop)`` in a thread for the ``with`` block; then close ``stop``: the
    thread must end within 5 s."""
    stop = Chan[None]()
    t = threading.Thread(target=target, args=(stop,))
    t.start()
    try:
        yield
    finally:
        stop.close()
        t.join(5)
    assert not t.is_alive()


def test_first_list_asks_for_version_zero_then_watches_from_the_list_version() -> None:
    w = ScriptedWatch([WatchEvent(EventType.ADDED, obj("b", 11))], block=True)
    lw = ScriptedLW([ListResult([obj("a", 10)], "10")], [w])
    store = RecordingStore()
    r = Reflector(lw, store, clock=FakeClock())
    with running(r.list_and_watch):
        # the watch blocks after its one event until stop: wait for the event to be applied
        store.wait_for(("add", "b"))
    assert lw.calls == [("list", "0"), ("watch", "10")]
    assert store.ops == [("replace", (["a"], "10")), ("add", "b")]
    assert r.last_sync_resource_version() == "11"


def test_clean_watch_close_rewatches_from_last_version_without_relisting() -> None:
    lw = ScriptedLW(
        [ListResult([], "5")],
        [
            ScriptedWatch(
                [
                    WatchEvent(EventType.ADDED, obj("a", 6)),
                    WatchEvent(EventType.MODIFIED, obj("a", 7)),
                ]
            ),
            ScriptedWatch([WatchEvent(EventType.BOOKMARK, obj("", 9))]),
            ScriptedWatch([WatchEvent(EventType.DELETED, obj("a", 10))], block=True),
        ],
    )
    store = RecordingStore()
    r = Reflector(lw, store, clock=FakeClock())
    with running(r.list_and_watch):
        store.wait_for(("delete", "a"))
    assert lw.calls == [("list", "0"), ("watch", "5"), ("watch", "7"), ("watch", "9")]
    # bookmarks advance the version but do not touch the store
    assert store.ops[1:] == [("add", "a"), ("update", "a"), ("delete", "a")]
    assert r.last_sync_resource_version() == "10"


def test_expired_list_is_retried_at_once_with_a_consistent_read() -> None:
    lw = ScriptedLW(
        [ResourceExpired("too old"), ListResult([obj("a", 3)], "30")],
        [ScriptedWatch([], block=True)],
    )
    store = RecordingStore()
    r = Reflector(lw, store, clock=FakeClock())
    with running(r.list_and_watch):
        lw.wait_calls(3)
    assert lw.calls == [("list", "0"), ("list", ""), ("watch", "30")]


def test_expired_watch_returns_cleanly_and_next_round_relists_at_last_version() -> None:
    stop = Chan[None]()
    lw = ScriptedLW(
        [ListResult([], "5"), ListResult([obj("a", 9)], "9")],
        [ScriptedWatch([WatchEvent(EventType.ADDED, obj("a", 6)), ResourceExpired("gone")])],
    )
    store = RecordingStore()
    r = Reflector(lw, store, clock=FakeClock())
    r.list_and_watch(stop)  # returns normally on expiry
    assert r.last_sync_resource_version() == "6"
    lw.watches.append(ScriptedWatch([], block=True))
    with running(r.list_and_watch):
        lw.wait_calls(4)
    assert lw.calls == [("list", "0"), ("watch", "5"), ("list", "6"), ("watch", "9")]


def test_error_event_and_very_short_watch_are_errors() -> None:
    stop = Chan[None]()
    lw = ScriptedLW(
        [ListResult([], "1")], [ScriptedWatch([WatchEvent(EventType.ERROR, {"code": 500})])]
    )
    with pytest.raises(WatchError):
        Reflector(lw, RecordingStore(), clock=FakeClock()).list_and_watch(stop)
    lw = ScriptedLW([ListResult([], "1")], [ScriptedWatch([])])
    with pytest.raises(WatchError, match="very short watch"):
        Reflector(lw, RecordingStore(), clock=FakeClock()).list_and_watch(stop)


def test_list_error_propagates_from_list_and_watch() -> None:
    lw = ScriptedLW([ConnectionError("down")], [])
    with pytest.raises(ConnectionError):
        Reflector(lw, RecordingStore(), clock=FakeClock()).list_and_watch(Chan())


def test_backoff_doubles_from_800ms_to_30s_and_resets_after_two_quiet_minutes() -> None:
    clk = FakeClock()
    b = Backoff(clk, rand=lambda: 0.0)
    waits = [b.next() for _ in range(8)]
    assert waits == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    clk.step(119)
    assert b.next() == 30.0
    clk.step(120)
    assert b.next() == 0.8
    jittered = Backoff(clk, rand=lambda: 0.5)
    assert jittered.next() == pytest.approx(1.2)


def test_run_backs_off_on_the_clock_between_rounds_and_stops_promptly() -> None:
    clk = FakeClock()
    lw = ScriptedLW([ConnectionError("a"), ConnectionError("b"), ConnectionError("c")], [])
    errors: list[BaseException] = []
    seen = Chan[None](None)

    def on_error(_: Reflector, err: BaseException) -> None:
        errors.append(err)
        seen.send(None)

    r = Reflector(lw, RecordingStore(), clock=clk, watch_error_handler=on_error)
    r.backoff = Backoff(clk, rand=lambda: 0.0)
    with running(r.run):
        seen.recv(timeout=5)
        # the second round waits for the 0.8 s backoff on the fake clock
        clk.block_until_waiters(timeout=5)
        assert len(errors) == 1
        clk.step(0.8)
        seen.recv(timeout=5)
        assert len(errors) == 2


def test_resync_period_calls_store_resync_while_watching() -> None:
    clk = FakeClock()
    lw = ScriptedLW([ListResult([], "1")], [ScriptedWatch([], block=True)])
    store = RecordingStore()
    resynced = Chan[None](None)

    class Store(RecordingStore):
        def resync(self) -> None:
            super().resync()
            resynced.send(None)

    store = Store()
    r = Reflector(lw, store, resync_period=10, clock=clk)
    with running(r.list_and_watch):
        for _ in range(2):
            clk.block_until_waiters(timeout=5)
            clk.step(10)
            resynced.recv(timeout=5)
    assert store.ops.count(("resync", None)) == 2


def test_should_resync_false_skips_resync() -> None:
    clk = FakeClock()
    asked = Chan[None](None)

    def should() -> bool:
        asked.send(None)
        return False

    lw = ScriptedLW([ListResult([], "1")], [ScriptedWatch([], block=True)])
    store = RecordingStore()
    r = Reflector(lw, store, resync_period=5, clock=clk, should_resync=should)
    with running(r.list_and_watch):
        clk.block_until_waiters(timeout=5)
        clk.step(5)
        asked.recv(timeout=5)
    assert ("resync", None) not in store.ops


def test_stop_may_be_a_context() -> None:
    from goprims.context import background, with_cancel

    ctx, cancel = with_cancel(background())
    lw = ScriptedLW([ListResult([], "1")], [ScriptedWatch([], block=True)])
    r = Reflector(lw, RecordingStore(), clock=FakeClock())
    t = threading.Thread(target=r.list_and_watch, args=(ctx,))
    t.start()
    lw.wait_calls(2)
    cancel()
    t.join(5)
    assert not t.is_alive()


def test_bad_stop_is_a_type_error() -> None:
    r = Reflector(ScriptedLW([], []), RecordingStore())
    with pytest.raises(TypeError):
        r.run(object())  # type: ignore[arg-type]  # deliberately not a Chan or Context


def test_stopping_during_backoff_leaves_no_timer_pending_on_the_clock() -> None:
    clk = FakeClock()
    failed = Chan[None](None)
    lw = ScriptedLW([ConnectionError("down")], [])
    r = Reflector(lw, RecordingStore(), clock=clk, watch_error_handler=lambda *_: failed.send(None))
    with running(r.run):
        failed.recv(timeout=5)
        clk.block_until_waiters(timeout=5)  # the backoff timer is armed
    assert not clk.has_waiters()


class FailingResyncStore(RecordingStore):
    """client-go's TestReflectorResync store: the second resync fails."""

    def __init__(self) -> None:
        super().__init__()
        self.iteration = 0
        self.resynced: Chan[int] = Chan(None)

    def resync(self) -> None:
        self.iteration += 1
        self.resynced.send(self.iteration)
        if self.iteration == 2:
            raise RuntimeError("expected resync reached")


def test_a_failing_resync_ends_list_and_watch_without_raising_after_exactly_two_resyncs() -> None:
    # client-go's TestReflectorResync: the resync error is not propagated to ListAndWatch's
    # caller, ListAndWatch returns, and there is no third resync.
    clk = FakeClock()
    w = ScriptedWatch([], block=True)
    lw = ScriptedLW([ListResult([], "0")], [w])
    store = FailingResyncStore()
    r = Reflector(lw, store, resync_period=0.001, clock=clk)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            r.list_and_watch(Chan[None]())
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=body)
    t.start()
    for expected in (1, 2):
        clk.block_until_waiters(timeout=10)
        clk.step(0.001)
        assert store.resynced.recv(timeout=10) == expected
    t.join(10)
    assert not t.is_alive(), "list_and_watch kept watching after the resync failed"
    assert errors == []
    assert store.iteration == 2
    assert w.stopped.closed  # the watch was stopped on the way out
    assert not clk.has_waiters()  # and the resync helper left no timer behind


def test_run_lists_again_after_its_backoff_when_the_resync_failed() -> None:
    clk = FakeClock()
    stop = Chan[None]()
    first, second = ScriptedWatch([], block=True), ScriptedWatch([], block=True)
    lw = ScriptedLW([ListResult([], "5"), ListResult([], "6")], [first, second])
    store = FailingResyncStore()
    r = Reflector(lw, store, resync_period=10, clock=clk)
    r.backoff = Backoff(clk, rand=lambda: 0.0)
    t = threading.Thread(target=r.run, args=(stop,))
    t.start()
    lw.wait_calls(2)  # list, watch
    for expected in (1, 2):
        clk.block_until_waiters(timeout=10)
        clk.step(10)
        assert store.resynced.recv(timeout=10) == expected
    # the round ended: run() now waits its 0.8 s backoff on the clock, then lists again
    clk.block_until_waiters(timeout=10)
    assert first.stopped.closed
    assert [c for c in lw.calls if c[0] == "list"] == [("list", "0")]
    clk.step(0.8)
    lw.wait_calls(4)
    assert lw.calls[2:] == [("list", "5"), ("watch", "6")]
    stop.close()
    t.join(10)
    assert not t.is_alive()

"""The reflector's watch-list mode (client-go's WatchListClient): one watch whose initial
events replace the list, synced at the initial-events-end bookmark; fallbacks to list+watch."""

from __future__ import annotations

import threading
from typing import Any

from goprims.cache.reflector import INITIAL_EVENTS_END_ANNOTATION, Reflector
from goprims.chan import Chan
from goprims.watch import (
    ChanWatch,
    EventType,
    ListResult,
    ListWatch,
    ResourceExpired,
    WatchEvent,
    WatchListUnsupported,
)


def obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


def end_bookmark(rv: int) -> WatchEvent:
    md = {"resourceVersion": str(rv), "annotations": {INITIAL_EVENTS_END_ANNOTATION: "true"}}
    return WatchEvent(EventType.BOOKMARK, {"metadata": md})


class RecordingStore:
    def __init__(self) -> None:
        self.ops: list[tuple[str, Any]] = []
        self.changed: Chan[None] = Chan(None)

    def _rec(self, op: str, arg: Any) -> None:
        self.ops.append((op, arg))
        self.changed.send(None)

    def add(self, o: Any) -> None:
        self._rec("add", o["metadata"]["name"])

    def update(self, o: Any) -> None:
        self._rec("update", o["metadata"]["name"])

    def delete(self, o: Any) -> None:
        self._rec("delete", o["metadata"]["name"])

    def replace(self, items: list[Any], rv: str) -> None:
        self._rec("replace", (sorted(o["metadata"]["name"] for o in items), rv))

    def resync(self) -> None:
        pass

    def wait_ops(self, n: int) -> None:
        while len(self.ops) < n:
            self.changed.recv(timeout=10)


class WatchListLW:
    """A ListerWatcher with watch_list; each call takes the next scripted answer."""

    def __init__(self, watch_lists: list[Any], lists: list[ListResult] | None = None) -> None:
        self.watch_lists = watch_lists
        self.lists = lists or []
        self.calls: list[tuple[str, str]] = []
        self.watches: list[ChanWatch] = []
        self.watched: Chan[None] = Chan(None)  # one value per watch opened

    def watch_list(self, rv: str) -> Any:
        self.calls.append(("watch_list", rv))
        nxt = self.watch_lists.pop(0)
        if isinstance(nxt, BaseException):
            raise nxt
        return nxt

    def list(self, rv: str = "") -> ListResult:
        self.calls.append(("list", rv))
        return self.lists.pop(0)

    def watch(self, rv: str) -> ChanWatch:
        self.calls.append(("watch", rv))
        w = ChanWatch()
        self.watches.append(w)
        self.watched.send(None)
        return w


def run_round(r: Reflector, until: Any) -> tuple[Chan[None], threading.Thread]:
    stop: Chan[None] = Chan()
    t = threading.Thread(target=r.list_and_watch, args=(stop,))
    t.start()
    until()
    return stop, t


def test_initial_events_replace_the_store_at_the_bookmark_then_the_watch_goes_on() -> None:
    w = ChanWatch()
    for ev in (
        WatchEvent(EventType.ADDED, obj("a", 3)),
        WatchEvent(EventType.ADDED, obj("b", 4)),
        WatchEvent(EventType.MODIFIED, obj("a", 5)),
        end_bookmark(6),
        WatchEvent(EventType.DELETED, obj("b", 7)),
    ):
        w.send(ev)
    lw = WatchListLW([w])
    store = RecordingStore()
    r = Reflector(lw, store)
    stop, t = run_round(r, lambda: store.wait_ops(2))
    stop.close()
    t.join(10)
    assert store.ops == [("replace", (["a", "b"], "6")), ("delete", "b")]
    assert lw.calls == [("watch_list", "")]  # no list, no second watch
    assert r.last_sync_resource_version() == "7"


def test_a_refused_watch_list_falls_back_to_list_and_watch_for_good() -> None:
    lw = WatchListLW(
        [WatchListUnsupported("422")],
        lists=[ListResult([obj("a", 1)], "1"), ListResult([obj("a", 1)], "1")],
    )
    store = RecordingStore()
    r = Reflector(lw, store)
    stop, t = run_round(r, lambda: lw.watched.recv(timeout=10))
    stop.close()
    t.join(10)
    assert lw.calls == [("watch_list", ""), ("list", "0"), ("watch", "1")]
    assert not r.use_watch_list
    stop2, t2 = run_round(r, lambda: lw.watched.recv(timeout=10))
    stop2.close()
    t2.join(10)
    assert lw.calls[3:] == [("list", "1"), ("watch", "1")]


def test_a_stream_that_ends_before_the_bookmark_lists_that_round() -> None:
    w = ChanWatch()
    w.send(WatchEvent(EventType.ADDED, obj("a", 3)))
    w.close()
    lw = WatchListLW([w], lists=[ListResult([obj("a", 3)], "3")])
    store = RecordingStore()
    r = Reflector(lw, store)
    stop, t = run_round(r, lambda: lw.watched.recv(timeout=10))
    stop.close()
    t.join(10)
    assert store.ops == [("replace", (["a"], "3"))]
    assert lw.calls == [("watch_list", ""), ("list", "0"), ("watch", "3")]
    assert r.use_watch_list  # not refused: the next round tries watch-list again


def test_an_expired_version_retries_the_watch_list_at_the_most_recent_state() -> None:
    w = ChanWatch()
    w.send(end_bookmark(9))
    lw = WatchListLW([ResourceExpired("gone"), w])
    store = RecordingStore()
    r = Reflector(lw, store)
    r._set_rv("4")
    stop, t = run_round(r, lambda: store.wait_ops(1))
    stop.close()
    t.join(10)
    assert lw.calls == [("watch_list", "4"), ("watch_list", "")]
    assert store.ops == [("replace", ([], "9"))]


def test_watch_list_is_used_only_where_offered_and_wanted() -> None:
    plain = ListWatch(lambda rv: ListResult([], "1"), lambda rv: ChanWatch())
    assert not Reflector(plain, RecordingStore()).use_watch_list
    assert not Reflector(WatchListLW([]), RecordingStore(), use_watch_list=False).use_watch_list
    assert Reflector(WatchListLW([]), RecordingStore()).use_watch_list


def test_stop_during_the_initial_events_replaces_nothing() -> None:
    w = ChanWatch()
    w.send(WatchEvent(EventType.ADDED, obj("a", 3)))
    lw = WatchListLW([w])
    store = RecordingStore()
    r = Reflector(lw, store)
    stop: Chan[None] = Chan()
    t = threading.Thread(target=r.list_and_watch, args=(stop,))
    t.start()
    stop.close()
    t.join(10)
    assert not t.is_alive()
    assert store.ops == []
    assert w.stopped

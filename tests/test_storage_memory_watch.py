"""MemoryStorage watches: replay from a version, live changes, compaction and expiry, bookmarks,
slow watchers, async consumers, and ``list_watch``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import trio

from goprims.storage import (
    AlreadyExists,
    InvalidResourceVersion,
    MemoryStorage,
    ResourceExpired,
    TooLargeResourceVersion,
    list_watch,
)
from goprims.watch import EventType, ListerWatcher, Watch, WatchEvent

ADDED, MODIFIED, DELETED, BOOKMARK = (
    EventType.ADDED,
    EventType.MODIFIED,
    EventType.DELETED,
    EventType.BOOKMARK,
)

pytest_plugins = ["storage_support"]


def obj(name: str, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, **fields}


def rv(o: Any) -> int:
    return int(o["metadata"]["resourceVersion"])


def take(w: Any, n: int) -> list[WatchEvent]:
    out: list[WatchEvent] = []
    for _ in range(n):
        e = w.next_event(5)
        assert e is not None, f"watch ended after {len(out)} events"
        out.append(e)
    return out


def summary(events: list[WatchEvent]) -> list[tuple[str, str, int]]:
    return [(str(e.type), e.object["metadata"].get("name", ""), rv(e.object)) for e in events]


def assert_idle(w: Any) -> None:
    with pytest.raises(TimeoutError):
        w.next_event(0)


def test_watch_returns_a_watch(s: MemoryStorage) -> None:
    w = s.watch("/", "")
    assert isinstance(w, Watch)
    w.stop()


# -------------------------------------------------------------------------- replay + live


def test_watch_from_a_version_replays_every_later_change_in_order_then_live(
    s: MemoryStorage,
) -> None:
    a = s.create("/a", obj("a"))  # 2
    s.create("/b", obj("b"))  # 3
    s.update("/a", {**a, "n": 1})  # 4
    s.delete("/b")  # 5
    w = s.watch("/", "2")
    assert summary(take(w, 3)) == [("ADDED", "b", 3), ("MODIFIED", "a", 4), ("DELETED", "b", 5)]
    assert_idle(w)
    s.create("/c", obj("c"))  # 6
    assert summary(take(w, 1)) == [("ADDED", "c", 6)]
    w.stop()


def test_watch_at_the_current_revision_sees_only_later_changes(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    w = s.watch("/", str(s.revision()))
    assert_idle(w)
    s.delete("/a")
    assert summary(take(w, 1)) == [("DELETED", "a", 3)]
    w.stop()


def test_deleted_event_carries_the_last_state_with_the_deletion_revision(
    s: MemoryStorage,
) -> None:
    a = s.create("/a", obj("a", spec={"x": 1}))
    s.update("/a", {**a, "spec": {"x": 2}})
    w = s.watch("/", "3")
    s.delete("/a")
    (e,) = take(w, 1)
    assert e.type is DELETED
    assert e.object["spec"] == {"x": 2}
    assert rv(e.object) == 4
    w.stop()


def test_watch_without_a_version_starts_with_synthetic_adds_sorted_by_key(
    s: MemoryStorage,
) -> None:
    s.create("/x/b", obj("b"))
    s.create("/x/a", obj("a"))
    s.create("/y/c", obj("c"))
    s.update("/x/b", {**s.get("/x/b"), "n": 1})
    expected = [("ADDED", "a", 3), ("ADDED", "b", 5)]
    for version in ("", "0"):
        w = s.watch("/x/", version)
        assert summary(take(w, len(expected))) == expected
        assert_idle(w)
        s.create(f"/x/new{version}", obj("new"))
        assert summary(take(w, 1)) == [("ADDED", "new", s.revision())]
        expected.append(("ADDED", "new", s.revision()))
        w.stop()


def test_watch_filters_by_plain_string_prefix(s: MemoryStorage) -> None:
    w = s.watch("/pods/", "1")
    s.create("/pods/a", obj("a"))
    s.create("/podsx/b", obj("b"))
    s.create("/nodes/c", obj("c"))
    s.create("/pods/d", obj("d"))
    assert summary(take(w, 2)) == [("ADDED", "a", 2), ("ADDED", "d", 5)]
    assert_idle(w)
    w.stop()


def test_watch_version_validation(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    with pytest.raises(TooLargeResourceVersion) as ei:
        s.watch("/", "3")
    assert (ei.value.resource_version, ei.value.current) == ("3", "2")
    with pytest.raises(InvalidResourceVersion):
        s.watch("/", "abc")
    with pytest.raises(TypeError):
        s.watch(None, "")  # type: ignore[arg-type]
    assert s.watch_count == 0


def test_each_watcher_gets_private_copies(s: MemoryStorage) -> None:
    w1 = s.watch("/", "1")
    w2 = s.watch("/", "1")
    s.create("/a", obj("a", spec={"n": [1]}))
    (e1,) = take(w1, 1)
    e1.object["spec"]["n"].append(2)
    (e2,) = take(w2, 1)
    assert e2.object["spec"]["n"] == [1]
    assert s.get("/a")["spec"]["n"] == [1]
    w1.stop()
    w2.stop()


def test_stop_deregisters_the_watch_and_ends_its_iteration(s: MemoryStorage) -> None:
    w = s.watch("/", "1")
    other = s.watch("/", "1")
    assert s.watch_count == 2
    s.create("/a", obj("a"))
    w.stop()
    assert s.watch_count == 1
    assert list(w) == []
    s.create("/b", obj("b"))
    assert summary(take(other, 2)) == [("ADDED", "a", 2), ("ADDED", "b", 3)]
    other.stop()
    assert s.watch_count == 0


def test_a_slow_watcher_never_blocks_writers(s: MemoryStorage) -> None:
    w = s.watch("/", "1")
    n = 3000
    for i in range(n):
        s.create(f"/k{i:05}", obj(str(i)))  # nobody reads: every write still completes
    assert s.revision() == n + 1
    assert [rv(e.object) for e in take(w, n)] == list(range(2, n + 2))
    w.stop()


# ------------------------------------------------------------------------ concurrency


def test_concurrent_writers_watchers_see_strictly_increasing_revisions_with_no_gap(
    s: MemoryStorage, fast_switching: None
) -> None:
    start = s.revision()
    watchers = [s.watch("/", str(start)) for _ in range(3)]
    writers, per_writer = 4, 200
    go = threading.Barrier(writers)

    def write(i: int) -> None:
        go.wait()
        for j in range(per_writer):
            key = f"/w{i}/k{j % 7}"
            try:
                s.create(key, obj(key, j=j))
            except AlreadyExists:
                s.delete(key)

    received: list[list[int]] = [[] for _ in watchers]

    def consume(k: int) -> None:
        for e in watchers[k]:
            received[k].append(rv(e.object))
            if len(received[k]) == writers * per_writer:
                return

    consumers = [threading.Thread(target=consume, args=(k,)) for k in range(len(watchers))]
    producers = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in consumers + producers:
        t.start()
    for t in producers + consumers:
        t.join(30)
    end = s.revision()
    assert end == start + writers * per_writer
    for got in received:
        assert got == list(range(start + 1, end + 1))
    # a late watcher from the same version replays exactly the same history
    late = s.watch("/", str(start))
    assert [rv(e.object) for e in take(late, end - start)] == list(range(start + 1, end + 1))
    for w in [*watchers, late]:
        w.stop()


def test_a_watch_racing_compaction_never_skips_a_change_it_ends_with_expiry_instead(
    fast_switching: None,
) -> None:
    # A reflector-like consumer against writers and a tiny automatic history: every watch
    # delivers consecutive revisions, and ends only when its next change was compacted.
    s = MemoryStorage(history_limit=8)
    writers, per_writer = 4, 300
    target = s.revision() + writers * per_writer

    def write(i: int) -> None:
        for j in range(per_writer):
            s.create(f"/w{i}/{j}", obj(f"{i}-{j}"))

    ts = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in ts:
        t.start()

    def relist_and_watch() -> tuple[int, Any]:
        while True:
            last = int(s.list().resource_version)
            try:
                return last, s.watch("/", str(last))
            except ResourceExpired:  # compacted between the list and the watch: again
                assert last < s.compacted_revision

    last, w = relist_and_watch()
    while last < target:
        try:
            e = w.next_event(5)
        except ResourceExpired:
            assert last + 1 <= s.compacted_revision  # its next change really was compacted
            last, w = relist_and_watch()
            continue
        assert e is not None
        assert rv(e.object) == last + 1
        last += 1
    for t in ts:
        t.join(30)
    w.stop()
    assert last == target == s.revision()
    assert s.watch_count == 0


# ------------------------------------------------------------------------ compaction


def test_watch_from_a_compacted_version_raises_resource_expired(s: MemoryStorage) -> None:
    for i in range(5):
        s.create(f"/k{i}", obj(str(i)))  # revisions 2..6
    s.compact(4)
    assert s.compacted_revision == 4
    with pytest.raises(ResourceExpired) as ei:
        s.watch("/", "3")
    assert ei.value.resource_version == "3"
    assert ei.value.code == 410
    w = s.watch("/", "4")  # the compaction point itself is still a valid start
    assert [rv(e.object) for e in take(w, 2)] == [5, 6]
    w.stop()
    w0 = s.watch("/", "0")  # "any": synthetic adds, never expired
    assert len(take(w0, 5)) == 5
    w0.stop()


def test_compact_validation(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    with pytest.raises(TooLargeResourceVersion):
        s.compact(3)
    s.compact("2")
    s.compact(1)  # at or below the compaction point: nothing happens
    assert s.compacted_revision == 2
    with pytest.raises(InvalidResourceVersion):
        s.compact("x")


def test_running_watch_with_an_undelivered_change_below_compaction_expires(
    s: MemoryStorage,
) -> None:
    w = s.watch("/", "1")
    for i in range(4):
        s.create(f"/k{i}", obj(str(i)))  # 2..5, all buffered, none taken
    assert rv(take(w, 1)[0].object) == 2
    s.compact(3)  # the change at 3 is still undelivered
    assert s.watch_count == 0
    with pytest.raises(ResourceExpired) as ei:
        w.next_event(0)
    assert ei.value.resource_version == "2"
    s.create("/late", obj("late"))  # the expired watch is no longer fed
    with pytest.raises(ResourceExpired):
        list(w)


def test_running_watch_that_is_caught_up_survives_compaction(s: MemoryStorage) -> None:
    w = s.watch("/", "1")
    for i in range(3):
        s.create(f"/k{i}", obj(str(i)))
    take(w, 3)
    s.compact(s.revision())
    s.create("/after", obj("after"))
    assert summary(take(w, 1)) == [("ADDED", "after", 5)]
    assert s.watch_count == 1
    w.stop()


def test_running_watch_whose_pending_changes_are_above_compaction_survives(
    s: MemoryStorage,
) -> None:
    s.create("/a", obj("a"))  # 2
    s.create("/b", obj("b"))  # 3
    w = s.watch("/", "3")
    s.create("/c", obj("c"))  # 4, pending
    s.compact(3)
    assert summary(take(w, 1)) == [("ADDED", "c", 4)]
    w.stop()


def test_compaction_only_expires_watches_whose_prefix_had_undelivered_changes(
    s: MemoryStorage,
) -> None:
    quiet = s.watch("/quiet/", "1")
    busy = s.watch("/busy/", "1")
    for i in range(3):
        s.create(f"/busy/{i}", obj(str(i)))
    s.compact(s.revision())
    assert s.watch_count == 1
    with pytest.raises(ResourceExpired):
        busy.next_event(0)
    s.create("/quiet/x", obj("x"))
    assert summary(take(quiet, 1)) == [("ADDED", "x", 5)]
    quiet.stop()


def test_synthetic_initial_events_do_not_expire_with_compaction(s: MemoryStorage) -> None:
    s.create("/a", obj("a"))
    s.create("/b", obj("b"))
    w = s.watch("/", "")
    s.compact(s.revision())
    assert summary(take(w, 2)) == [("ADDED", "a", 2), ("ADDED", "b", 3)]
    w.stop()


def test_history_limit_compacts_automatically_keeping_the_last_limit_changes() -> None:
    s = MemoryStorage(history_limit=4)
    lagging = s.watch("/", "1")
    for i in range(7):
        s.create(f"/k{i}", obj(str(i)))  # revisions 2..8: 7 changes, below 2 * 4
    assert s.compacted_revision == 1
    s.create("/k7", obj("7"))  # revision 9: 8 changes -> compact(9 - 4)
    assert s.compacted_revision == 5
    with pytest.raises(ResourceExpired):
        s.watch("/", "4")
    w = s.watch("/", "5")  # the last 4 changes are still replayable
    assert [rv(e.object) for e in take(w, 4)] == [6, 7, 8, 9]
    with pytest.raises(ResourceExpired):
        lagging.next_event(0)
    w.stop()


def test_unbounded_history_keeps_everything_until_compact() -> None:
    s = MemoryStorage(history_limit=None)
    for i in range(50):
        s.create(f"/k{i}", obj(str(i)))
    w = s.watch("/", "1")
    assert len(take(w, 50)) == 50
    assert s.compacted_revision == 1
    w.stop()


# --------------------------------------------------------------------------- bookmarks


def test_request_progress_sends_a_bookmark_after_the_pending_changes(s: MemoryStorage) -> None:
    w = s.watch("/a/", "1")
    s.create("/a/1", obj("1"))
    s.create("/b/2", obj("2"))  # not in the prefix, but the bookmark covers it
    s.request_progress()
    e1, e2 = take(w, 2)
    assert e1.type is ADDED
    assert e2 == WatchEvent(BOOKMARK, {"metadata": {"resourceVersion": "3"}})
    w.stop()


# --------------------------------------------------------------------------- async


def _writer(s: MemoryStorage, n: int) -> threading.Thread:
    def write() -> None:
        for i in range(n):
            s.create(f"/k{i:04}", obj(str(i)))

    return threading.Thread(target=write)


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_task_consumes_a_watch_fed_by_a_thread(s: MemoryStorage, lib: str) -> None:
    w = s.watch("/", "1")
    t = _writer(s, 200)

    async def main() -> list[int]:
        t.start()
        got = []
        async for e in w:
            got.append(rv(e.object))
            if len(got) == 200:
                w.stop()
        return got

    got = asyncio.run(main()) if lib == "asyncio" else trio.run(main)
    assert got == list(range(2, 202))
    t.join(5)


# --------------------------------------------------------------------------- list_watch


def test_list_watch_lists_and_watches_one_prefix(s: MemoryStorage) -> None:
    s.create("/pods/a", obj("a"))
    s.create("/nodes/n", obj("n"))
    lw = list_watch(s, "/pods/")
    assert isinstance(lw, ListerWatcher)
    res = lw.list("0")
    assert [o["metadata"]["name"] for o in res.items] == ["a"]
    assert res.resource_version == "3"
    w = lw.watch(res.resource_version)
    s.create("/nodes/m", obj("m"))
    s.create("/pods/b", obj("b"))
    assert summary(take(w, 1)) == [("ADDED", "b", 5)]
    w.stop()


def test_list_watch_passes_expiry_and_too_large_versions_on_to_the_reflector(
    s: MemoryStorage,
) -> None:
    for i in range(3):
        s.create(f"/pods/{i}", obj(str(i)))
    s.compact(3)
    lw = list_watch(s, "/pods/")
    with pytest.raises(ResourceExpired):
        lw.list("2")
    with pytest.raises(ResourceExpired):
        lw.watch("2")
    with pytest.raises(TooLargeResourceVersion):
        lw.list("99")
    assert len(lw.list("").items) == 3  # what a reflector does next

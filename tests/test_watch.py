"""The watch protocol (goprims.watch): EventType, WatchEvent, ListResult, ListWatch, ChanWatch."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import trio
import trio.testing

from goprims.chan import Chan
from goprims.watch import (
    ChanWatch,
    EventType,
    ListerWatcher,
    ListResult,
    ListWatch,
    ResourceExpired,
    TooLargeResourceVersion,
    Watch,
    WatchEvent,
)


def ev(name: str, t: EventType = EventType.ADDED) -> WatchEvent:
    return WatchEvent(t, {"metadata": {"name": name}})


# ---------------------------------------------------------------------------- value types


def test_event_type_members_equal_their_names_as_plain_strings() -> None:
    for name in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"):
        member = EventType[name]
        assert member == name
        assert isinstance(member, str)
        assert str(member) == name
        assert f"{member}" == name
    assert EventType("DELETED") is EventType.DELETED


def test_watch_event_and_list_result_are_named_tuples() -> None:
    e = WatchEvent(EventType.MODIFIED, {"x": 1})
    assert (e.type, e.object) == ("MODIFIED", {"x": 1})
    t, o = e
    assert t is EventType.MODIFIED
    assert o == {"x": 1}
    r = ListResult([1, 2], "7")
    assert r.items == [1, 2]
    assert r.resource_version == "7"


def test_errors_carry_versions_and_are_distinct_from_timeouts() -> None:
    e = ResourceExpired("too old", "5")
    assert e.code == 410
    assert e.reason == "Expired"
    assert e.resource_version == "5"
    t = TooLargeResourceVersion("too large", "9", "4")
    assert (t.resource_version, t.current) == ("9", "4")
    assert not isinstance(e, TimeoutError)
    assert not isinstance(t, TimeoutError)


# ------------------------------------------------------------------------------ ListWatch


def test_list_watch_delegates_with_the_resource_version() -> None:
    calls: list[tuple[str, str]] = []
    w = ChanWatch()

    def list_func(rv: str) -> ListResult:
        calls.append(("list", rv))
        return ListResult(["a"], "3")

    def watch_func(rv: str) -> Watch:
        calls.append(("watch", rv))
        return w

    lw = ListWatch(list_func, watch_func)
    assert lw.list() == ListResult(["a"], "3")
    assert lw.list("0") == ListResult(["a"], "3")
    assert lw.watch("3") is w
    assert calls == [("list", ""), ("list", "0"), ("watch", "3")]
    assert isinstance(lw, ListerWatcher)
    assert isinstance(w, Watch)


def test_list_watch_converts_a_plain_pair_to_a_list_result() -> None:
    lw = ListWatch(lambda rv: (["a", "b"], "12"), lambda rv: ChanWatch())
    res = lw.list("")
    assert isinstance(res, ListResult)
    assert res == (["a", "b"], "12")


def test_list_watch_propagates_errors_unchanged() -> None:
    err = ResourceExpired("gone", "1")

    def boom(rv: str) -> Any:
        raise err

    lw = ListWatch(boom, boom)
    with pytest.raises(ResourceExpired) as ei:
        lw.list("1")
    assert ei.value is err
    with pytest.raises(ResourceExpired):
        lw.watch("1")


# ------------------------------------------------------------------------------ ChanWatch


def test_chan_watch_delivers_sent_events_in_order() -> None:
    w = ChanWatch()
    events = [ev(str(i)) for i in range(5)]
    for e in events:
        assert w.send(e)
    assert [w.next_event(0) for _ in range(5)] == events


def test_close_delivers_buffered_events_then_ends_iteration() -> None:
    w = ChanWatch()
    w.send(ev("a"))
    w.send(ev("b"))
    assert w.close()
    assert not w.send(ev("c"))
    assert [e.object["metadata"]["name"] for e in w] == ["a", "b"]
    assert w.next_event(0) is None
    assert not w.close()


def test_close_with_error_raises_it_after_the_buffered_events() -> None:
    w = ChanWatch()
    w.send(ev("a"))
    w.close(ResourceExpired("gone"))
    got: list[WatchEvent] = []
    with pytest.raises(ResourceExpired):
        got.extend(w)
    assert got == [ev("a")]
    with pytest.raises(ResourceExpired):  # the stream stays ended with its error
        w.next_event(0)


def test_abort_drops_buffered_events_and_raises_at_once() -> None:
    w = ChanWatch()
    w.send(ev("a"))
    w.send(ev("b"))
    assert w.abort(ResourceExpired("gone"))
    assert not w.send(ev("c"))
    with pytest.raises(ResourceExpired):
        w.next_event(0)
    assert not w.abort(ResourceExpired("again"))


def test_stop_drops_buffered_events_calls_on_stop_once_and_refuses_sends() -> None:
    stops: list[int] = []
    w = ChanWatch(on_stop=lambda: stops.append(1))
    w.send(ev("a"))
    w.stop()
    w.stop()
    assert stops == [1]
    assert w.stopped
    assert list(w) == []
    assert w.next_event(0) is None
    assert not w.send(ev("b"))
    assert not w.abort(ResourceExpired("late"))  # a stopped watch stays quietly stopped
    assert w.next_event(0) is None


def test_stop_after_an_error_end_reports_a_quiet_end() -> None:
    w = ChanWatch()
    w.close(ResourceExpired("gone"))
    w.stop()
    assert w.next_event(0) is None


def test_context_manager_stops_the_watch() -> None:
    with ChanWatch() as w:
        w.send(ev("a"))
    assert w.stopped
    assert w.next_event(0) is None


def test_next_event_times_out_without_consuming() -> None:
    w = ChanWatch()
    with pytest.raises(TimeoutError):
        w.next_event(0)
    with pytest.raises(TimeoutError):
        w.next_event(0.01)
    w.send(ev("a"))
    assert w.next_event(0) == ev("a")


def test_stop_from_another_thread_ends_a_blocked_iteration() -> None:
    w = ChanWatch()
    first: Chan[None] = Chan(0)
    got: list[WatchEvent] = []

    def consume() -> None:
        for e in w:
            got.append(e)
            first.send(None)

    t = threading.Thread(target=consume)
    t.start()
    w.send(ev("a"))
    first.recv(timeout=5)  # the consumer took the event and goes back to waiting
    w.stop()
    t.join(5)
    assert not t.is_alive()
    assert got == [ev("a")]


def test_producer_thread_feeds_a_consumer_in_order() -> None:
    w = ChanWatch()
    n = 2000

    def produce() -> None:
        for i in range(n):
            w.send(ev(str(i)))
        w.close()

    t = threading.Thread(target=produce)
    t.start()
    names = [e.object["metadata"]["name"] for e in w]
    t.join(5)
    assert names == [str(i) for i in range(n)]


def test_repr_shows_state_and_buffered_count() -> None:
    w = ChanWatch()
    w.send(ev("a"))
    assert "open" in repr(w)
    assert "buffered=1" in repr(w)
    w.close()
    assert "closed" in repr(w)
    w.stop()
    assert "stopped" in repr(w)


# ---------------------------------------------------------------------------------- async


def _thread_producer(w: ChanWatch, n: int) -> threading.Thread:
    def produce() -> None:
        for i in range(n):
            w.send(ev(str(i)))
        w.close()

    return threading.Thread(target=produce)


def test_asyncio_task_iterates_events_sent_by_a_thread() -> None:
    w = ChanWatch()
    t = _thread_producer(w, 300)

    async def main() -> list[str]:
        t.start()
        return [e.object["metadata"]["name"] async for e in w]

    assert asyncio.run(main()) == [str(i) for i in range(300)]
    t.join(5)


def test_trio_task_iterates_events_sent_by_a_thread() -> None:
    w = ChanWatch()
    t = _thread_producer(w, 300)

    async def main() -> list[str]:
        t.start()
        return [e.object["metadata"]["name"] async for e in w]

    assert trio.run(main) == [str(i) for i in range(300)]
    t.join(5)


def test_async_next_event_raises_the_stream_error_and_times_out() -> None:
    async def main() -> None:
        w = ChanWatch()
        with pytest.raises(TimeoutError):
            await w.async_next_event(0.01)
        w.close(ResourceExpired("gone"))
        with pytest.raises(ResourceExpired):
            await w.async_next_event()
        w.stop()
        assert await w.async_next_event() is None

    asyncio.run(main())


def test_trio_cancelled_wait_consumes_nothing() -> None:
    async def main() -> None:
        w = ChanWatch()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.async_next_event)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        w.send(ev("a"))
        assert await w.async_next_event(0) == ev("a")

    trio.run(main)


def test_asyncio_cancelled_wait_consumes_nothing() -> None:
    async def main() -> None:
        w = ChanWatch()
        task = asyncio.ensure_future(w.async_next_event())
        await asyncio.sleep(0)  # let the task park (a scheduling step, not a timing guess)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        w.send(ev("a"))
        assert await w.async_next_event(0) == ev("a")

    asyncio.run(main())

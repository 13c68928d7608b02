"""goprims.workqueue.Queue: client-go queue.go semantics (dirty/processing, shutdown vs drain)."""

from __future__ import annotations

import gc
import inspect
import threading
import time
import weakref
from collections.abc import Callable

import pytest

from goprims.workqueue import Queue


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield the GIL until ``pred()`` holds (used only to know that a thread has parked)."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0)


def parked_getters(q: Queue[str]) -> int:
    return len(q._getters)


def start(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


# ------------------------------------------------------------------------- fair and stingy


def test_items_are_handed_out_in_the_order_first_added() -> None:
    q: Queue[str] = Queue()
    for k in ["c", "a", "b", "a", "c"]:
        q.add(k)
    assert [q.get()[0] for _ in range(3)] == ["c", "a", "b"]


def test_duplicate_adds_before_processing_merge_into_one() -> None:
    q: Queue[str] = Queue()
    q.add("foo")
    q.add("bar")
    q.add("foo")  # merged: length unchanged (client-go TestLen)
    assert len(q) == 2
    assert q.get() == ("foo", False)
    assert q.get() == ("bar", False)
    with pytest.raises(TimeoutError):
        q.get(timeout=0)


def test_readd_while_processing_is_not_handed_to_another_worker_until_done() -> None:
    q: Queue[str] = Queue()
    q.add("foo")
    item, _ = q.get()
    assert item is not None
    q.add(item)  # dirty while processing
    assert len(q) == 0
    with pytest.raises(TimeoutError):
        q.get(timeout=0)
    assert item is not None
    q.done(item)  # re-queued by done (client-go TestReinsert)
    assert len(q) == 1
    assert q.get() == ("foo", False)
    q.done("foo")
    assert len(q) == 0


def test_readd_while_processing_merges_several_adds_into_one_requeue() -> None:
    q: Queue[str] = Queue()
    q.add("foo")
    q.get()
    q.add("foo")
    q.add("foo")
    q.done("foo")
    assert len(q) == 1


def test_len_excludes_items_being_processed() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    q.get()
    assert len(q) == 1


def test_done_for_an_item_never_taken_is_harmless() -> None:
    q: Queue[str] = Queue()
    q.done("ghost")  # empty queue
    q.add("a")
    q.done("a")  # queued, not processing: must not queue it a second time
    assert len(q) == 1
    assert q.get() == ("a", False)
    with pytest.raises(TimeoutError):
        q.get(timeout=0)
    q.done("a")
    q.done("a")  # second done is a no-op too
    assert len(q) == 0


def test_get_blocks_until_an_item_is_added_from_another_thread() -> None:
    q: Queue[str] = Queue()
    t, out = start(q.get)
    wait_for(lambda: parked_getters(q) == 1)
    q.add("x")
    t.join()
    assert out == [("x", False)]
    assert len(q) == 0
    assert q._processing == {"x"}


def test_parked_getters_are_served_oldest_first() -> None:
    q: Queue[str] = Queue()
    t1, out1 = start(q.get)
    wait_for(lambda: parked_getters(q) == 1)
    t2, out2 = start(q.get)
    wait_for(lambda: parked_getters(q) == 2)
    q.add("first")
    t1.join()
    q.add("second")
    t2.join()
    assert out1 == [("first", False)]
    assert out2 == [("second", False)]


def test_done_hands_a_dirty_item_to_a_parked_getter() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.get()
    q.add("a")
    t, out = start(q.get)
    wait_for(lambda: parked_getters(q) == 1)
    q.done("a")
    t.join()
    assert out == [("a", False)]


def test_get_timeout_raises_and_withdraws_the_waiter() -> None:
    q: Queue[str] = Queue()
    with pytest.raises(TimeoutError):
        q.get(timeout=0.01)
    assert parked_getters(q) == 0
    q.add("a")  # not swallowed by a stale waiter
    assert q.get(timeout=0) == ("a", False)


def test_get_timeout_zero_returns_a_queued_item() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    assert q.get(timeout=0) == ("a", False)


# ------------------------------------------------------------------------------- shutdown


def test_add_after_shutdown_is_silently_dropped() -> None:
    q: Queue[str] = Queue()
    q.shut_down()
    q.add("added after shutdown!")
    assert len(q) == 0
    assert q.get() == (None, True)


def test_get_after_shutdown_hands_out_queued_items_then_reports_shutdown() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    q.shut_down()
    assert q.shutting_down()
    assert q.get() == ("a", False)
    assert q.get() == ("b", False)
    assert q.get() == (None, True)
    assert q.get(timeout=0) == (None, True)


def test_shutdown_wakes_every_parked_getter() -> None:
    q: Queue[str] = Queue()
    started = [start(q.get) for _ in range(3)]
    wait_for(lambda: parked_getters(q) == 3)
    q.shut_down()
    for t, out in started:
        t.join()
        assert out == [(None, True)]


def test_readd_during_processing_before_shutdown_is_requeued_by_done_after_it() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.get()
    q.add("a")
    q.shut_down()
    q.done("a")
    assert q.get() == ("a", False)
    q.done("a")
    assert q.get() == (None, True)


def test_shut_down_returns_without_waiting_for_items_in_processing() -> None:
    q: Queue[str] = Queue()
    q.add("foo")
    q.add("bar")
    q.get()
    q.get()
    q.shut_down()  # client-go TestNoQueueDrainageUsingShutDown: must not block
    assert q.shutting_down()


def test_shut_down_with_drain_waits_for_items_in_processing() -> None:
    q: Queue[str] = Queue()
    q.add("foo")
    q.add("bar")
    first, _ = q.get()
    second, _ = q.get()
    with pytest.raises(TimeoutError):
        q.shut_down_with_drain(timeout=0)  # still processing: the queue stays shut down
    assert q.get() == (None, True)
    t, out = start(q.shut_down_with_drain)
    wait_for(lambda: len(q._drainers) == 1)
    assert first is not None
    q.done(first)
    assert len(q._drainers) == 1
    assert not out
    assert second is not None
    q.done(second)
    t.join()
    assert out == [None]


def test_shut_down_with_drain_returns_at_once_when_nothing_is_processing() -> None:
    q: Queue[str] = Queue()
    q.add("queued")  # queued items are not waited for
    q.shut_down_with_drain(timeout=0)
    assert q.get() == ("queued", False)


def test_shut_down_forces_a_pending_drain_to_return() -> None:
    q: Queue[str] = Queue()
    q.add("foo")
    q.get()
    t, out = start(q.shut_down_with_drain)
    wait_for(lambda: len(q._drainers) == 1)
    q.shut_down()  # the "second SIGTERM"
    t.join()
    assert out == [None]


def test_drain_ends_when_processing_empties_even_if_done_requeued_the_item() -> None:
    # client-go TestQueueDrainageUsingShutDownWithDrainWithDirtyItem; like client-go, whose
    # Done signals the drain waiter, the drain returns once nothing is being processed, and
    # the re-queued item is still handed out afterwards.
    q: Queue[str] = Queue()
    q.add("foo")
    gotten, _ = q.get()
    q.add("foo")
    t, out = start(q.shut_down_with_drain)
    wait_for(lambda: len(q._drainers) == 1)
    assert q.get() == (None, True)  # nothing queued yet: "foo" is dirty while processing
    assert gotten is not None
    q.done(gotten)
    t.join()
    assert out == [None]
    again, shutdown = q.get()
    assert (again, shutdown) == ("foo", False)
    assert again is not None
    q.done(again)
    assert q.get() == (None, True)


def test_shut_down_with_drain_timeout_withdraws_and_a_later_drain_completes() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.get()
    with pytest.raises(TimeoutError):
        q.shut_down_with_drain(timeout=0.01)
    assert len(q._drainers) == 0
    q.done("a")
    q.shut_down_with_drain(timeout=0)


# --------------------------------------------------------------------- concurrency / misc


@pytest.mark.parametrize("drain", [False, True])
def test_many_producers_and_consumers_process_everything_and_drop_late_adds(drain: bool) -> None:
    # client-go TestBasic and TestAddWhileProcessing, without sleeps.
    q: Queue[object] = Queue()
    seen: list[object] = []
    lock = threading.Lock()

    def producer(i: int) -> None:
        for _ in range(50):
            q.add(i)

    def consumer() -> None:
        counters: dict[object, int] = {}
        while True:
            item, quit_ = q.get()
            if quit_:
                return
            assert item != "added after shutdown!"
            counters[item] = counters.get(item, 0) + 1
            if counters[item] < 2:
                q.add(item)  # dirty-while-processing
            with lock:
                seen.append(item)
            q.done(item)

    producers = [threading.Thread(target=producer, args=(i,)) for i in range(20)]
    consumers = [threading.Thread(target=consumer) for _ in range(5)]
    for t in producers + consumers:
        t.start()
    for t in producers:
        t.join()
    (q.shut_down_with_drain if drain else q.shut_down)()
    q.add("added after shutdown!")
    for t in consumers:
        t.join()
    assert len(q) == 0
    assert set(seen) == set(range(20))


def test_items_taken_and_done_can_be_garbage_collected() -> None:
    class Big:
        pass

    q: Queue[Big] = Queue()
    obj = Big()
    ref = weakref.ref(obj)
    q.add(obj)
    got, _ = q.get()
    assert got is not None
    q.done(got)
    del obj, got
    gc.collect()
    assert ref() is None


def test_unnamed_queue_schedules_no_metrics_timer() -> None:
    from goprims.clock import FakeClock

    clock = FakeClock()
    Queue(clock=clock)
    assert not clock.has_waiters()


def test_an_unhashable_item_raises_type_error_and_leaves_the_queue_usable() -> None:
    q: Queue[object] = Queue()
    with pytest.raises(TypeError):
        q.add([1, 2])
    with pytest.raises(TypeError):
        q.done([1, 2])
    q.add("ok")  # the lock was released
    assert q.get(timeout=0) == ("ok", False)


def test_get_is_typed_to_return_none_on_shutdown() -> None:
    """``get``/``async_get`` say what they return: ``(None, True)`` on shutdown, so the item is
    ``T | None`` to a type checker (not a ``T`` that may be None)."""
    for method in (Queue.get, Queue.async_get):
        assert inspect.signature(method).return_annotation == "tuple[T | None, bool]"
    q: Queue[str] = Queue()
    q.shut_down()
    assert q.get() == (None, True)

"""The work queue's lock-free get (goprims/workqueue/queue.py, module docstring).

A get that finds a queued item pops it without the queue lock, then adds it to ``processing``
and only then takes it out of ``dirty``. These tests stop a get inside each of those two steps
(a set whose ``add`` or ``discard`` waits for a gate) and pin what the other parties see
meanwhile: an add of the same item merges with the get, no second worker is handed the item,
and ``done`` re-queues only what was added after the get.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import deque
from typing import Any

import pytest

from goprims.workqueue import Queue
from goprims.workqueue import queue as queue_module

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
from chan_support import Bg  # noqa: E402

needs_gil = pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="without the GIL every get takes the lock",
)


class GatedSet(set[str]):
    """A set whose ``gated`` method (``add`` or ``discard``) stops the calling thread once,
    until ``release`` is set; ``reached`` tells that a thread is stopped there."""

    def __init__(self, gated: str) -> None:
        super().__init__()
        self.gated = gated
        self.reached = threading.Event()
        self.release = threading.Event()

    def _gate(self, name: str) -> None:
        if name == self.gated and not self.reached.is_set():
            self.reached.set()
            assert self.release.wait(10), "the test never released the gate"

    def add(self, item: str) -> None:
        self._gate("add")
        super().add(item)

    def discard(self, item: object) -> None:
        self._gate("discard")
        super().discard(item)


def nothing_queued(q: Queue[Any]) -> bool:
    try:
        q.get(timeout=0)
    except TimeoutError:
        return True
    return False


@needs_gil
def test_a_queued_item_is_taken_while_the_queue_lock_is_held() -> None:
    # The point of the lock-free get: a worker never waits for a lock whose holder the
    # interpreter has switched away from (the convoy of five threads on one lock).
    q: Queue[str] = Queue()
    q.add("a")
    with q._lock:
        got = Bg(q.get)
        assert got.done.wait(10), "get waited for the queue lock"
    assert got.join() == ("a", False)


@needs_gil
@pytest.mark.parametrize(
    ("field", "step"),
    [("_processing", "add"), ("_dirty", "discard")],
    ids=["popped-not-yet-processing", "processing-still-dirty"],
)
def test_an_add_during_a_lock_free_get_merges_with_it(field: str, step: str) -> None:
    q: Queue[str] = Queue()
    gated = GatedSet(step)
    gated |= getattr(q, field)
    setattr(q, field, gated)
    q.add("x")
    got = Bg(q.get)
    assert gated.reached.wait(10)
    q.add("x")  # does not wait: the stopped get holds no lock
    assert len(q) == 0  # merged with the get under way, not queued again
    assert nothing_queued(q)  # so no second worker is handed "x"
    gated.release.set()
    assert got.join() == ("x", False)
    q.done("x")
    assert nothing_queued(q)  # the add was served by this get: nothing to redo
    # An add after the get returned is the usual "re-added while processing".
    q.add("y")
    assert q.get(timeout=0) == ("y", False)
    q.add("y")
    assert nothing_queued(q)
    q.done("y")
    assert q.get(timeout=0) == ("y", False)


@needs_gil
def test_a_drain_that_meets_a_get_between_pop_and_processing_returns() -> None:
    # Nothing is processing yet: the drain returns, and the get completes as if it came right
    # after it (a shut-down queue still hands out what was queued).
    q: Queue[str] = Queue()
    gated = GatedSet("add")
    q._processing = gated
    q.add("x")
    got = Bg(q.get)
    assert gated.reached.wait(10)
    q.shut_down_with_drain(timeout=10)
    gated.release.set()
    assert got.join() == ("x", False)
    q.done("x")
    assert q.get(timeout=0) == (None, True)


def test_without_the_lock_free_get_a_get_waits_for_the_lock(monkeypatch: Any) -> None:
    # Free-threaded builds take this path; so does a queue that records metrics.
    monkeypatch.setattr(queue_module, "_LOCK_FREE_GET", False)
    q: Queue[str] = Queue()
    q.add("a")
    with q._lock:
        got = Bg(q.get)
        assert not got.done.wait(0.2), "get did not take the lock"
    assert got.join() == ("a", False)


class EmptiedAfterTheLook(deque[str]):
    """A queue that looks non-empty but is empty at the pop: what a locked get sees when a
    lock-free get takes the last item between its look and its pop."""

    def __bool__(self) -> bool:
        return True


@pytest.mark.parametrize("lock_free", [True, False], ids=["lock-free", "locked"])
def test_a_locked_get_whose_item_was_taken_meanwhile_finds_the_queue_empty(
    lock_free: bool, monkeypatch: Any
) -> None:
    monkeypatch.setattr(queue_module, "_LOCK_FREE_GET", lock_free)
    q: Queue[str] = Queue()
    q._queue = EmptiedAfterTheLook()
    with pytest.raises(TimeoutError):
        q.get(timeout=0)

    async def async_get() -> None:
        await q.async_get(timeout=0)

    with pytest.raises(TimeoutError):
        asyncio.run(async_get())
    q.shut_down()
    assert q.get() == (None, True)

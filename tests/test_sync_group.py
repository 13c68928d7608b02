"""Group (errgroup): first error wins, context cancelled, limit respected, every world."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio
from sync_support import start_thread, wait_until

from goprims.context import Canceled, background, cause, with_cancel
from goprims.sync import Barrier, Group


def test_group_wait_returns_none_when_all_tasks_succeed_and_then_cancels_ctx() -> None:
    g = Group()
    out: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        with lock:
            out.append(i)

    for i in range(10):
        g.go(work, i)
    assert g.wait() is None
    assert sorted(out) == list(range(10))
    assert isinstance(g.ctx.err(), Canceled)  # errgroup: cancelled when Wait returns


def test_group_wait_without_tasks_returns_at_once() -> None:
    g = Group()
    g.wait(timeout=0)


def test_group_first_error_wins_and_cancels_ctx() -> None:
    g = Group()
    first = ValueError("first")

    def fail_first() -> None:
        raise first

    def fail_after_cancel() -> None:
        g.ctx.done().recv_ok(timeout=10)  # runs until the first error cancels the ctx
        raise KeyError("second")

    observed: list[BaseException | None] = []

    def watcher() -> None:
        g.ctx.done().recv_ok(timeout=10)
        observed.append(g.ctx.err())

    g.go(fail_after_cancel)
    g.go(watcher)
    g.go(fail_first)
    with pytest.raises(ValueError, match="first") as info:
        g.wait(timeout=10)
    assert info.value is first
    assert len(observed) == 1
    assert isinstance(observed[0], Canceled)
    assert cause(g.ctx) is first  # errgroup cancels its context with the first error


def test_group_limit_is_never_exceeded_and_is_reached() -> None:
    limit, tasks = 3, 24
    g = Group(limit=limit)
    meet = Barrier(limit)  # tasks can only finish in groups of `limit` running together
    lock = threading.Lock()
    running = peak = 0

    def task() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        meet.wait(timeout=10)
        with lock:
            running -= 1

    for _ in range(tasks):
        g.go(task)
    g.wait(timeout=30)
    assert peak == limit


def test_group_try_go_declines_at_the_limit() -> None:
    g = Group(limit=2)
    release = threading.Event()
    assert g.try_go(release.wait, 10)
    assert g.try_go(release.wait, 10)
    assert not g.try_go(release.wait, 10)
    release.set()
    g.wait(timeout=10)
    assert g.try_go(lambda: None)
    g.wait(timeout=10)


def test_group_go_blocks_while_at_the_limit() -> None:
    g = Group(limit=1)
    release = threading.Event()
    g.go(release.wait, 10)
    second = start_thread(g.go, lambda: None)
    wait_until(lambda: len(g._sem._waiters) == 1)  # type: ignore[union-attr]
    assert not second.done()
    release.set()
    second.result(10)
    g.wait(timeout=10)


def test_group_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="Group limit must be >= 1 or None, got 0"):
        Group(limit=0)


def test_group_ctx_is_child_of_the_given_ctx() -> None:
    parent, cancel = with_cancel(background())
    g = Group(parent)

    def fail() -> None:
        raise RuntimeError("x")

    g.go(fail)
    with pytest.raises(RuntimeError):
        g.wait(timeout=10)
    assert parent.err() is None  # the group's failure never cancels the parent
    g2 = Group(parent)
    cancel()
    assert isinstance(g2.ctx.err(), Canceled)  # the parent's cancellation reaches the group


def test_group_wait_timeout_leaves_ctx_alone() -> None:
    g = Group()
    release = threading.Event()
    g.go(release.wait, 10)
    with pytest.raises(TimeoutError):
        g.wait(timeout=0.01)
    assert g.ctx.err() is None
    release.set()
    g.wait(timeout=10)


def test_group_async_go_and_async_wait_under_asyncio_and_trio() -> None:
    async def main() -> None:
        g = Group(limit=2)
        meet = Barrier(2)
        for _ in range(4):
            await g.async_go(meet.wait, 10)

        def fail() -> None:
            raise OSError("io")

        await g.async_go(fail)
        with pytest.raises(OSError, match="io"):
            await g.async_wait(timeout=10)
        assert isinstance(g.ctx.err(), Canceled)

    asyncio.run(main())
    trio.run(main)


def test_group_cancelled_async_go_starts_nothing_and_keeps_the_slot_free() -> None:
    g = Group(limit=1)
    release = threading.Event()
    g.go(release.wait, 10)
    started: list[int] = []

    async def main() -> None:
        task = asyncio.ensure_future(g.async_go(started.append, 1))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    release.set()
    g.wait(timeout=10)
    assert started == []
    assert g.try_go(started.append, 2)  # the slot was not leaked
    g.wait(timeout=10)
    assert started == [2]

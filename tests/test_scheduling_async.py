"""BackoffPriorityQueue.async_pop under asyncio and trio, fed and closed by threads."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

pytest.register_assert_rewrite("scheduling_support")
from scheduling_support import Job, new_queue, parked_poppers, wait_for  # noqa: E402

from goprims.scheduling import BackoffPriorityQueue, QueueClosed  # noqa: E402


def in_thread_once_parked(q: BackoffPriorityQueue[Job], n: int, fn: object) -> threading.Thread:
    def run() -> None:
        wait_for(lambda: parked_poppers(q) == n)
        fn()  # type: ignore[operator]

    t = threading.Thread(target=run)
    t.start()
    return t


def test_asyncio_pop_blocks_until_a_thread_adds() -> None:
    q = new_queue()

    async def main() -> str:
        t = in_thread_once_parked(q, 1, lambda: q.add(Job("a")))
        qi = await q.async_pop()
        t.join()
        q.done(qi)
        return qi.item.name

    assert asyncio.run(main()) == "a"


def test_trio_pop_blocks_until_a_thread_adds() -> None:
    q = new_queue()

    async def main() -> str:
        t = in_thread_once_parked(q, 1, lambda: q.add(Job("a")))
        qi = await q.async_pop()
        t.join()
        return qi.item.name

    assert trio.run(main) == "a"


def test_asyncio_and_trio_poppers_are_woken_by_a_thread_close() -> None:
    q = new_queue()
    errors: list[BaseException] = []

    async def pop_expecting_close() -> None:
        try:
            await q.async_pop()
        except QueueClosed as exc:
            errors.append(exc)

    def asyncio_side() -> None:
        asyncio.run(pop_expecting_close())

    def trio_side() -> None:
        trio.run(pop_expecting_close)

    threads = [threading.Thread(target=asyncio_side), threading.Thread(target=trio_side)]
    for t in threads:
        t.start()
    wait_for(lambda: parked_poppers(q) == 2)
    q.close()
    for t in threads:
        t.join(10)
    assert len(errors) == 2


def test_a_cancelled_asyncio_pop_takes_nothing() -> None:
    q = new_queue()

    async def main() -> None:
        task = asyncio.ensure_future(q.async_pop())
        # Yield the loop to the task under test until it has parked (no wall-clock wait).
        while parked_poppers(q) == 0:  # noqa: ASYNC110
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert parked_poppers(q) == 0
        q.add(Job("a"))
        assert q.pending() == (1, 0, 0)  # still there for the next popper
        assert (await q.async_pop()).item.name == "a"

    asyncio.run(main())


def test_a_cancelled_trio_pop_takes_nothing_and_a_timeout_raises() -> None:
    q = new_queue()

    async def main() -> None:
        with trio.move_on_after(0.01):
            await q.async_pop()
        assert parked_poppers(q) == 0
        with pytest.raises(TimeoutError):
            await q.async_pop(timeout=0.01)
        with pytest.raises(TimeoutError):
            await q.async_pop(timeout=0)
        q.add(Job("a"))
        assert (await q.async_pop()).item.name == "a"

    trio.run(main)


def test_an_asyncio_pop_on_a_closed_queue_raises_at_once() -> None:
    q = new_queue()
    q.close()

    async def main() -> None:
        with pytest.raises(QueueClosed):
            await q.async_pop()

    asyncio.run(main())

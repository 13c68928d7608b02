"""async_get and async_shut_down_with_drain under asyncio and trio, fed by threads."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio
import trio.testing

from goprims.clock import FakeClock
from goprims.workqueue import DelayingQueue, Queue

N = 2000


def produce_in_thread(q: Queue[int], n: int) -> threading.Thread:
    def run() -> None:
        for i in range(n):
            q.add(i)
        q.shut_down()

    t = threading.Thread(target=run)
    t.start()
    return t


async def consume(q: Queue[int]) -> list[int]:
    got: list[int] = []
    while True:
        item, shutdown = await q.async_get()
        if shutdown:
            return got
        assert item is not None  # not shut down: an item
        got.append(item)
        q.done(item)


def test_asyncio_workers_fed_by_a_thread_get_every_item_once_in_order() -> None:
    q: Queue[int] = Queue()

    async def main() -> list[list[int]]:
        t = produce_in_thread(q, N)
        res = await asyncio.gather(*(consume(q) for _ in range(3)))
        t.join()
        return list(res)

    results = asyncio.run(main())
    merged = sorted(i for r in results for i in r)
    assert merged == list(range(N))
    for r in results:
        assert r == sorted(r)  # fair: each worker sees items in add order


def test_trio_workers_fed_by_a_thread_get_every_item_once_in_order() -> None:
    q: Queue[int] = Queue()
    results: list[list[int]] = []

    async def worker() -> None:
        results.append(await consume(q))

    async def main() -> None:
        t = produce_in_thread(q, N)
        async with trio.open_nursery() as n:
            for _ in range(3):
                n.start_soon(worker)
        t.join()

    trio.run(main)
    merged = sorted(i for r in results for i in r)
    assert merged == list(range(N))


def test_asyncio_parked_getter_is_woken_by_shutdown() -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        task = asyncio.ensure_future(q.async_get())
        await asyncio.sleep(0)  # let it park
        assert len(q._getters) == 1
        q.shut_down()
        assert await task == (None, True)

    asyncio.run(main())


def test_asyncio_cancelled_getter_takes_nothing() -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        task = asyncio.ensure_future(q.async_get())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(q._getters) == 0
        q.add("kept")
        assert q.get(timeout=0) == ("kept", False)

    asyncio.run(main())


def test_asyncio_getter_cancelled_after_the_hand_off_returns_the_item() -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        task = asyncio.ensure_future(q.async_get())
        await asyncio.sleep(0)
        q.add("handed")  # fired: the item is already being processed by the task
        task.cancel()
        assert await task == ("handed", False)
        q.done("handed")
        assert len(q) == 0

    asyncio.run(main())


def test_asyncio_get_timeout_raises_and_withdraws() -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        with pytest.raises(TimeoutError):
            await q.async_get(timeout=0.01)
        with pytest.raises(TimeoutError):
            await q.async_get(timeout=0)
        assert len(q._getters) == 0

    asyncio.run(main())


def test_trio_cancelled_getter_takes_nothing() -> None:
    q: Queue[str] = Queue()

    async def main() -> None:
        with trio.move_on_after(0.01):
            await q.async_get()
        assert len(q._getters) == 0
        q.add("kept")
        assert await q.async_get() == ("kept", False)

    trio.run(main)


def test_trio_fast_path_still_honours_a_pending_cancellation() -> None:
    q: Queue[str] = Queue()
    q.add("x")

    async def main() -> None:
        with trio.CancelScope() as scope:
            scope.cancel()
            await q.async_get()  # checkpoint first: raises Cancelled, takes nothing
        assert len(q) == 1

    trio.run(main)


def test_trio_getter_is_woken_by_a_delay_firing_in_another_thread() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)

    async def main() -> None:
        async with trio.open_nursery() as n:
            got: list[object] = []

            async def getter() -> None:
                got.append(await q.async_get())

            n.start_soon(getter)
            await trio.testing.wait_all_tasks_blocked()
            q.add_after("later", 5.0)
            stepper = threading.Thread(target=clock.step, args=(5.0,))
            stepper.start()
        stepper.join()
        assert got == [("later", False)]

    trio.run(main)


def test_async_shut_down_with_drain_waits_for_done_from_a_thread() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    item, _ = q.get()

    async def main() -> None:
        async with trio.open_nursery() as n:
            finished = trio.Event()

            async def drainer() -> None:
                await q.async_shut_down_with_drain()
                finished.set()

            n.start_soon(drainer)
            await trio.testing.wait_all_tasks_blocked()
            assert not finished.is_set()
            worker = threading.Thread(target=q.done, args=(item,))
            worker.start()
            await finished.wait()
        worker.join()

    trio.run(main)


def test_asyncio_shut_down_with_drain_timeout() -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        q.add("a")
        q.get()
        with pytest.raises(TimeoutError):
            await q.async_shut_down_with_drain(timeout=0.01)
        assert len(q._drainers) == 0
        q.done("a")
        await q.async_shut_down_with_drain()

    asyncio.run(main())

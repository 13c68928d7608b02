"""Pool from asyncio and trio: the async twins wait for a worker without blocking the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
import trio
from pool_support import Gate, Pools, held_pool, pools_fixture, worker_threads

import goprims.pool as gp
from goprims._waiter import async_waiter
from goprims.pool import PoolClosed, PoolOverload

__all__ = ["pools_fixture"]


class Queued:
    """Calls ``on_queue()`` in the waiting task when it queues its async waiter in the pool.

    Creating the waiter and awaiting it happen in one synchronous step of that task, so for any
    other task of the same loop "queued" means "parked".
    """

    def __init__(self) -> None:
        self.on_queue: Callable[[], Any] = lambda: None


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    q = Queued()

    def make() -> Any:
        w = async_waiter()
        q.on_queue()
        return w

    monkeypatch.setattr(gp, "async_waiter", make)
    return q


def test_async_submit_and_go_run_tasks_under_asyncio_and_trio(pools: Pools) -> None:
    p = pools(2)

    async def body() -> int:
        done = threading.Event()
        await p.async_go(done.set)
        f = await p.async_submit(pow, 2, 5)
        assert done.wait(5)
        return int(f.result(5))

    assert asyncio.run(body()) == 32
    assert trio.run(body) == 32


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_submit_waits_for_a_worker_while_the_loop_keeps_running(
    pools: Pools, queued: Queued, lib: str
) -> None:
    p, g = held_pool(pools)

    async def main_asyncio() -> int:
        parked = asyncio.Event()
        queued.on_queue = parked.set

        async def opener() -> None:  # runs on the loop while async_submit is parked
            await parked.wait()
            assert p.waiting == 1
            g.open()

        t = asyncio.create_task(opener())
        f = await p.async_submit(pow, 3, 2)
        await t
        result = await asyncio.wrap_future(f)
        return int(result)

    async def main_trio() -> int:
        parked = trio.Event()
        queued.on_queue = parked.set

        async def opener() -> None:
            await parked.wait()
            assert p.waiting == 1
            g.open()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(opener)
            f = await p.async_submit(pow, 3, 2)
        return int(f.result(5))

    assert (asyncio.run(main_asyncio()) if lib == "asyncio" else trio.run(main_trio)) == 9


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_submit_cancelled_while_waiting_submits_nothing(
    pools: Pools, queued: Queued, lib: str
) -> None:
    p, g = held_pool(pools)
    ran: list[int] = []

    async def main_asyncio() -> None:
        parked = asyncio.Event()
        queued.on_queue = parked.set
        t = asyncio.create_task(p.async_submit(ran.append, 1))
        await parked.wait()
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t

    async def main_trio() -> None:
        parked = trio.Event()
        queued.on_queue = parked.set
        async with trio.open_nursery() as nursery:

            async def submit() -> None:
                await p.async_submit(ran.append, 1)

            nursery.start_soon(submit)
            await parked.wait()
            nursery.cancel_scope.cancel()

    asyncio.run(main_asyncio()) if lib == "asyncio" else trio.run(main_trio)
    assert p.waiting == 0
    g.open()
    assert p.submit(ran.append, 2).result(5) is None
    assert ran == [2]


def test_async_calls_raise_closed_and_overload(pools: Pools) -> None:
    p = pools(1, nonblocking=True)
    g = Gate()
    p.submit(g)
    assert g.started.wait(5)

    async def overload() -> None:
        with pytest.raises(PoolOverload):
            await p.async_submit(print)

    asyncio.run(overload())
    trio.run(overload)
    g.open()
    p.shutdown()

    async def closed() -> None:
        with pytest.raises(PoolClosed):
            await p.async_go(print)

    asyncio.run(closed())
    trio.run(closed)


def test_async_submit_blocked_at_shutdown_raises_pool_closed(pools: Pools, queued: Queued) -> None:
    p, g = held_pool(pools)

    async def main() -> None:
        parked = trio.Event()
        queued.on_queue = parked.set

        async def closer() -> None:
            await parked.wait()
            p.shutdown(wait=False)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(closer)
            with pytest.raises(PoolClosed):
                await p.async_submit(print)

    trio.run(main)
    g.open()


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_release_waits_for_tasks_and_threads(pools: Pools, lib: str) -> None:
    p = pools(2)
    g = Gate()
    f = p.submit(g, "done")
    assert g.started.wait(5)
    threads = worker_threads(p)

    async def main() -> None:
        threading.Thread(target=g.open, name="opener").start()
        await p.async_release()

    asyncio.run(main()) if lib == "asyncio" else trio.run(main)
    assert f.result(0) == "done"
    assert p.closed
    assert not any(t.is_alive() for t in threads)

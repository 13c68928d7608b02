"""One channel, every world: threads, asyncio and trio sharing channels; async semantics."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing

from goprims.chan import Chan, ChanClosed, Recv, Selected, Send, async_select

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
import chan_support  # noqa: E402
from chan_support import collect, no_entries, produce  # noqa: E402

N = 1000


class Bg(chan_support.Bg):
    join_timeout = 20


async def collect_beside(lib: str, side: Callable[[], Awaitable[None]], ch: Chan[int]) -> list[int]:
    """``collect(ch)`` while ``side()`` runs as another task of the same ``lib`` loop (a trio
    nursery's, or an asyncio task awaited after the collection)."""
    if lib == "trio":
        async with trio.open_nursery() as n:
            n.start_soon(side)
            return await collect(ch)
    task = asyncio.ensure_future(side())
    got = await collect(ch)
    await task
    return got


# ------------------------------------------------------------------------------ cross-world

CAPS = [0, 1, 16, None]


@pytest.mark.parametrize("cap", CAPS)
def test_thread_to_asyncio_delivers_every_value_in_order(cap: int | None) -> None:
    ch: Chan[int] = Chan(cap)
    p = Bg(produce, ch, N)
    assert asyncio.run(collect(ch)) == list(range(N))
    p.join()


@pytest.mark.parametrize("cap", CAPS)
def test_thread_to_trio_delivers_every_value_in_order(cap: int | None) -> None:
    ch: Chan[int] = Chan(cap)
    p = Bg(produce, ch, N)
    assert trio.run(collect, ch) == list(range(N))
    p.join()


@pytest.mark.parametrize("cap", [0, 4])
def test_asyncio_and_trio_to_thread(cap: int | None) -> None:
    async def aproduce(ch: Chan[int]) -> None:
        for i in range(N):
            await ch.async_send(i)
        ch.close()

    a: Chan[int] = Chan(cap)
    t: Chan[int] = Chan(cap)
    pa = Bg(asyncio.run, aproduce(a))
    pt = Bg(trio.run, aproduce, t)
    assert list(a) == list(range(N))
    assert list(t) == list(range(N))
    pa.join()
    pt.join()


def test_asyncio_and_trio_in_two_threads_ping_pong_over_unbuffered_channels() -> None:
    ping: Chan[int] = Chan()
    pong: Chan[int] = Chan()
    rounds = 300

    async def asyncio_side() -> list[int]:
        got = []
        for i in range(rounds):
            await ping.async_send(i)
            got.append(await pong.async_recv())
        ping.close()
        return got

    async def trio_side() -> int:
        n = 0
        async for v in ping:
            await pong.async_send(v * 10)
            n += 1
        return n

    a = Bg(asyncio.run, asyncio_side())
    assert trio.run(trio_side) == rounds
    assert a.join() == [i * 10 for i in range(rounds)]


def test_trio_sends_to_asyncio_through_a_rendezvous() -> None:
    ch: Chan[int] = Chan()

    async def tproduce() -> None:
        for i in range(N):
            await ch.async_send(i)
        ch.close()

    p = Bg(trio.run, tproduce)
    assert asyncio.run(collect(ch)) == list(range(N))
    p.join()


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_select_fed_by_threads_gets_every_value(lib: str) -> None:
    chans: list[Chan[int]] = [Chan(c) for c in (0, 2, None)]
    producers = []
    for k, ch in enumerate(chans):

        def run(ch: Chan[int] = ch, k: int = k) -> None:
            for i in range(300):
                ch.send(k * 1000 + i)
            ch.close()

        producers.append(Bg(run))

    async def consume() -> list[int]:
        got = []
        live: list[Chan[int] | None] = list(chans)
        while any(c is not None for c in live):
            sel = await async_select(*(Recv(c) for c in live))
            if sel.ok:
                got.append(sel.value)
            else:
                live[sel.index] = None  # Go's idiom: a nil channel disables its case
        return got

    got = asyncio.run(consume()) if lib == "asyncio" else trio.run(consume)
    for p in producers:
        p.join()
    assert sorted(got) == sorted(k * 1000 + i for k in range(3) for i in range(300))
    assert no_entries(*chans)


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_for_is_ended_by_a_thread_closing_the_channel(lib: str) -> None:
    ch: Chan[int] = Chan()
    parked = threading.Event()

    async def consume() -> list[int]:
        async def signal() -> None:
            if lib == "trio":
                await trio.testing.wait_all_tasks_blocked()
            else:
                for _ in range(3):
                    await asyncio.sleep(0)
            parked.set()

        return await collect_beside(lib, signal, ch)

    c = Bg(asyncio.run, consume()) if lib == "asyncio" else Bg(trio.run, consume)
    assert parked.wait(10)
    ch.close()
    assert c.join() == []


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_a_blocked_async_sender_is_released_by_a_thread_close_with_chan_closed(lib: str) -> None:
    ch: Chan[int] = Chan()
    started = threading.Event()

    async def send() -> str:
        started.set()
        try:
            await ch.async_send(1)
        except ChanClosed:
            return "raised"
        return "sent"

    c = Bg(asyncio.run, send()) if lib == "asyncio" else Bg(trio.run, send)
    assert started.wait(10)
    # the sender may not have parked yet: either way the close makes it raise
    ch.close()
    assert c.join() == "raised"


# --------------------------------------------------------------------------- async semantics


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_closed_channel_semantics(lib: str) -> None:
    async def main() -> None:
        ch: Chan[int] = Chan(2)
        await ch.async_send(1)
        ch.close()
        with pytest.raises(ChanClosed):
            await ch.async_send(2)
        assert await ch.async_recv() == 1
        assert await ch.async_recv_ok() == (None, False)
        with pytest.raises(ChanClosed):
            await ch.async_recv()
        assert await async_select(Recv(ch)) == Selected(0, None, False)
        with pytest.raises(ChanClosed):
            await async_select(Send(ch, 1))

    asyncio.run(main()) if lib == "asyncio" else trio.run(main)


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_timeouts_raise_timeout_error_and_leave_nothing_behind(lib: str) -> None:
    async def main() -> None:
        ch: Chan[int] = Chan(1)
        with pytest.raises(TimeoutError):
            await ch.async_recv(timeout=0)
        with pytest.raises(TimeoutError):
            await ch.async_recv_ok(timeout=0.01)
        await ch.async_send(1, timeout=0)
        with pytest.raises(TimeoutError):
            await ch.async_send(2, timeout=0)
        with pytest.raises(TimeoutError):
            await ch.async_send(2, timeout=0.01)
        other: Chan[int] = Chan()
        with pytest.raises(TimeoutError):
            await async_select(Recv(other), Send(ch, 3), timeout=0.01)
        assert await async_select(Recv(other), default=True) == Selected(-1, None, False)
        assert no_entries(ch, other)
        assert await ch.async_recv() == 1

    asyncio.run(main()) if lib == "asyncio" else trio.run(main)


@pytest.mark.parametrize("lib", ["asyncio", "trio"])
def test_async_tasks_of_one_loop_rendezvous_with_each_other(lib: str) -> None:
    async def main() -> list[int]:
        ch: Chan[int] = Chan()

        async def producer() -> None:
            for i in range(100):
                await ch.async_send(i)
            ch.close()

        return await collect_beside(lib, producer, ch)

    got = asyncio.run(main()) if lib == "asyncio" else trio.run(main)
    assert got == list(range(100))


def test_trio_recv_in_a_cancelled_scope_raises_and_consumes_nothing() -> None:
    async def main() -> None:
        ch: Chan[int] = Chan(1)
        await ch.async_send(1)
        with trio.CancelScope() as cs:
            cs.cancel()
            await ch.async_recv()
        assert cs.cancelled_caught
        assert len(ch) == 1
        with trio.CancelScope() as cs:
            cs.cancel()
            await async_select(Recv(ch))
        assert cs.cancelled_caught
        assert await ch.async_recv() == 1

    trio.run(main)


def test_asyncio_cancel_before_a_value_is_committed_raises_and_consumes_nothing() -> None:
    async def main() -> None:
        ch: Chan[int] = Chan()
        task = asyncio.ensure_future(ch.async_recv())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert no_entries(ch)
        with pytest.raises(TimeoutError):
            ch.send(1, timeout=0)  # nobody is left to take it

    asyncio.run(main())


def test_asyncio_cancel_after_a_value_is_committed_returns_the_value() -> None:
    async def main() -> None:
        ch: Chan[int] = Chan()
        task = asyncio.ensure_future(ch.async_recv())
        await asyncio.sleep(0)
        ch.send(5, timeout=0)  # hands 5 to the parked task
        task.cancel()  # ... before it resumed
        assert await task == 5
        assert not task.cancelled()

    asyncio.run(main())


def test_async_calls_outside_asyncio_or_trio_raise_runtime_error() -> None:
    ch: Chan[int] = Chan()
    coro = ch.async_recv()
    with pytest.raises(RuntimeError):
        coro.send(None)
    coro.close()

"""Cancellation stress: thousands of cancel races, and every value is received exactly once.

A producer sends 0..N-1 and closes; consumers' receives and selects are cancelled at random
moments (asyncio timeouts, trio cancel scopes, Task.cancel). A receive cancelled before a value
was committed consumed nothing; one cancelled after returns the value. So the multiset of
received values must be exactly range(N), whatever the cancellations hit.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter

import pytest
import trio

from goprims.chan import Chan, Recv, Send, async_select

if sys.version_info >= (3, 11):
    from asyncio import timeout as asyncio_timeout
else:  # the backport asyncio.timeout was made from; it cancels the task the same way
    from async_timeout import timeout as asyncio_timeout

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
import chan_support  # noqa: E402
from chan_support import produce  # noqa: E402

N = 3000  # values per run
MIN_CANCELS = 500  # cancellations each run must have provoked (typically 800-2000)


class Bg(chan_support.Bg):
    join_timeout = 60


def assert_exactly_once(got: list[int], n: int = N) -> None:
    dup = [v for v, c in Counter(got).items() if c > 1]
    missing = set(range(n)) - set(got)
    assert not dup, f"duplicated {dup[:10]}"
    assert not missing, f"missing {sorted(missing)[:10]}"


DELAYS = [0, 0, 0.00002, 0.0001, 0.0005]


# ----------------------------------------------------------------------------------- asyncio


@pytest.mark.parametrize("cap", [0, 3])
def test_asyncio_receivers_cancelled_at_random_lose_and_duplicate_nothing(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    never: Chan[int] = Chan()
    rnd = random.Random(cap)

    async def consumer(got: list[int], stats: Counter[str], use_select: bool) -> None:
        while True:
            try:
                async with asyncio_timeout(rnd.choice(DELAYS)):
                    if use_select:
                        sel = await async_select(Recv(never), Recv(ch))
                        v, ok = sel.value, sel.ok
                    else:
                        v, ok = await ch.async_recv_ok()
            except asyncio.TimeoutError:
                stats["cancelled"] += 1
                continue
            if not ok:
                return
            got.append(v)

    async def canceller(got: list[int], stats: Counter[str]) -> None:
        # Task.cancel() of a task whose whole body is one receive.
        while True:
            task = asyncio.ensure_future(ch.async_recv_ok())
            for _ in range(rnd.randrange(3)):
                await asyncio.sleep(0)
            task.cancel()
            try:
                v, ok = await task
            except asyncio.CancelledError:
                stats["cancelled"] += 1
                continue
            if not ok:
                return
            assert v is not None
            got.append(v)

    async def main() -> tuple[list[int], Counter[str]]:
        got: list[int] = []
        stats: Counter[str] = Counter()
        await asyncio.gather(
            consumer(got, stats, False),
            consumer(got, stats, True),
            canceller(got, stats),
        )
        return got, stats

    p = Bg(produce, ch, N)
    got, stats = asyncio.run(main())
    p.join()
    assert_exactly_once(got)
    assert stats["cancelled"] >= MIN_CANCELS, stats
    assert not ch._recvq
    assert not never._recvq


def test_asyncio_senders_cancelled_at_random_deliver_each_value_exactly_once() -> None:
    # A cancelled send either delivered (returns) or did not (raises): retrying exactly the
    # raised ones must give every value once.
    ch: Chan[int] = Chan()
    never: Chan[int] = Chan()
    rnd = random.Random(7)

    async def producer() -> int:
        cancels = 0
        i = 0
        while i < N:
            try:
                async with asyncio_timeout(rnd.choice(DELAYS)):
                    if i % 2:
                        await ch.async_send(i)
                    else:
                        await async_select(Recv(never), Send(ch, i))
            except asyncio.TimeoutError:
                cancels += 1
                continue
            i += 1
        ch.close()
        return cancels

    def consume() -> list[int]:
        got = []
        for v in ch:
            got.append(v)
            sum(range(5000))  # some work per item, so cancels land on parked sends
        return got

    c = Bg(consume)
    cancels = asyncio.run(producer())
    assert_exactly_once(c.join())
    assert cancels >= MIN_CANCELS // 2, cancels


# -------------------------------------------------------------------------------------- trio


@pytest.mark.parametrize("cap", [0, 3])
def test_trio_receivers_cancelled_at_random_lose_and_duplicate_nothing(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    never: Chan[int] = Chan()
    rnd = random.Random(10 + cap)

    async def consumer(got: list[int], stats: Counter[str], use_select: bool) -> None:
        while True:
            with trio.move_on_after(rnd.choice(DELAYS)) as cs:
                if use_select:
                    sel = await async_select(Recv(ch), Recv(never))
                    v, ok = sel.value, sel.ok
                else:
                    v, ok = await ch.async_recv_ok()
            if cs.cancelled_caught:
                stats["cancelled"] += 1
                continue
            if not ok:
                return
            got.append(v)

    async def main() -> tuple[list[int], Counter[str]]:
        got: list[int] = []
        stats: Counter[str] = Counter()
        async with trio.open_nursery() as n:
            n.start_soon(consumer, got, stats, False)
            n.start_soon(consumer, got, stats, True)
            n.start_soon(consumer, got, stats, False)
        return got, stats

    p = Bg(produce, ch, N)
    got, stats = trio.run(main)
    p.join()
    assert_exactly_once(got)
    assert stats["cancelled"] >= MIN_CANCELS, stats
    assert not ch._recvq
    assert not never._recvq


def test_asyncio_sender_and_trio_receivers_both_cancelled_at_random() -> None:
    ch: Chan[int] = Chan()
    rnd_a = random.Random(1)
    rnd_t = random.Random(2)
    n = N // 2

    async def asyncio_producer() -> int:
        cancels = 0
        i = 0
        while i < n:
            try:
                async with asyncio_timeout(rnd_a.choice(DELAYS)):
                    await ch.async_send(i)
            except asyncio.TimeoutError:
                cancels += 1
                continue
            i += 1
        ch.close()
        return cancels

    async def trio_consumers() -> tuple[list[int], int]:
        got: list[int] = []
        cancels = [0]

        async def consumer() -> None:
            while True:
                with trio.move_on_after(rnd_t.choice(DELAYS)) as cs:
                    v, ok = await ch.async_recv_ok()
                if cs.cancelled_caught:
                    cancels[0] += 1
                    continue
                if not ok:
                    return
                assert v is not None
                got.append(v)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consumer)
            nursery.start_soon(consumer)
        return got, cancels[0]

    p = Bg(asyncio.run, asyncio_producer())
    got, t_cancels = trio.run(trio_consumers)
    a_cancels = p.join()
    assert_exactly_once(got, n)
    assert a_cancels + t_cancels >= MIN_CANCELS // 2

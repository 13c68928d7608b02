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
from collections.abc import Awaitable, Callable

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


def receive_while_producing(
    ch: Chan[int], never: Chan[int], receive: Callable[[], tuple[list[int], Counter[str]]]
) -> None:
    """A thread sends 0..N-1 on ``ch`` and closes it while ``receive()`` runs the cancelled
    receivers (returning what they got and their stats): every value arrives exactly once,
    at least MIN_CANCELS receives were cancelled, and no receiver is left queued."""
    p = Bg(produce, ch, N)
    got, stats = receive()
    p.join()
    assert_exactly_once(got)
    assert stats["cancelled"] >= MIN_CANCELS, stats
    assert not ch._recvq
    assert not never._recvq


async def asyncio_send_all(
    ch: Chan[int], n: int, rnd: random.Random, never: Chan[int] | None = None
) -> int:
    """Send 0..n-1 on ``ch``, each under an asyncio timeout of a random delay, then close it;
    a cancelled send raised, so it did not deliver and is retried. With ``never``, every other
    send is a select of ``Recv(never)`` and the send. Returns how many sends were cancelled."""
    cancels = 0
    i = 0
    while i < n:
        try:
            async with asyncio_timeout(rnd.choice(DELAYS)):
                if never is None or i % 2:
                    await ch.async_send(i)
                else:
                    await async_select(Recv(never), Send(ch, i))
        except asyncio.TimeoutError:
            cancels += 1
            continue
        i += 1
    ch.close()
    return cancels


Received = tuple[int | None, bool] | None  # what one receive returned; None: it was cancelled


async def receive_until_closed(
    receive: Callable[[], Awaitable[Received]], got: list[int], stats: Counter[str]
) -> None:
    """Call ``receive()`` until it reports the channel closed: a cancelled receive counts in
    ``stats["cancelled"]``, a received value goes to ``got``."""
    while True:
        res = await receive()
        if res is None:
            stats["cancelled"] += 1
            continue
        v, ok = res
        if not ok:
            return
        assert v is not None
        got.append(v)


def trio_receive(
    ch: Chan[int], rnd: random.Random, never: Chan[int] | None = None
) -> Callable[[], Awaitable[Received]]:
    """One receive from ``ch`` (with ``never``: a select of ``Recv(ch)`` and ``Recv(never)``)
    in a trio cancel scope with a random deadline."""

    async def receive() -> Received:
        with trio.move_on_after(rnd.choice(DELAYS)):
            if never is not None:
                sel = await async_select(Recv(ch), Recv(never))
                return sel.value, sel.ok
            return await ch.async_recv_ok()
        return None

    return receive


# ----------------------------------------------------------------------------------- asyncio


@pytest.mark.parametrize("cap", [0, 3])
def test_asyncio_receivers_cancelled_at_random_lose_and_duplicate_nothing(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    never: Chan[int] = Chan()
    rnd = random.Random(cap)

    async def timed_out(use_select: bool) -> Received:
        try:
            async with asyncio_timeout(rnd.choice(DELAYS)):
                if use_select:
                    sel = await async_select(Recv(never), Recv(ch))
                    return sel.value, sel.ok
                return await ch.async_recv_ok()
        except asyncio.TimeoutError:
            return None

    async def task_cancelled() -> Received:
        # Task.cancel() of a task whose whole body is one receive.
        task = asyncio.ensure_future(ch.async_recv_ok())
        for _ in range(rnd.randrange(3)):
            await asyncio.sleep(0)
        task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            return None

    async def main() -> tuple[list[int], Counter[str]]:
        got: list[int] = []
        stats: Counter[str] = Counter()
        await asyncio.gather(
            receive_until_closed(lambda: timed_out(False), got, stats),
            receive_until_closed(lambda: timed_out(True), got, stats),
            receive_until_closed(task_cancelled, got, stats),
        )
        return got, stats

    receive_while_producing(ch, never, lambda: asyncio.run(main()))


def test_asyncio_senders_cancelled_at_random_deliver_each_value_exactly_once() -> None:
    # A cancelled send either delivered (returns) or did not (raises): retrying exactly the
    # raised ones must give every value once.
    ch: Chan[int] = Chan()
    never: Chan[int] = Chan()
    rnd = random.Random(7)

    def consume() -> list[int]:
        got = []
        for v in ch:
            got.append(v)
            sum(range(5000))  # some work per item, so cancels land on parked sends
        return got

    c = Bg(consume)
    cancels = asyncio.run(asyncio_send_all(ch, N, rnd, never))
    assert_exactly_once(c.join())
    assert cancels >= MIN_CANCELS // 2, cancels


# -------------------------------------------------------------------------------------- trio


@pytest.mark.parametrize("cap", [0, 3])
def test_trio_receivers_cancelled_at_random_lose_and_duplicate_nothing(cap: int) -> None:
    ch: Chan[int] = Chan(cap)
    never: Chan[int] = Chan()
    rnd = random.Random(10 + cap)

    async def main() -> tuple[list[int], Counter[str]]:
        got: list[int] = []
        stats: Counter[str] = Counter()
        async with trio.open_nursery() as n:
            n.start_soon(receive_until_closed, trio_receive(ch, rnd), got, stats)
            n.start_soon(receive_until_closed, trio_receive(ch, rnd, never), got, stats)
            n.start_soon(receive_until_closed, trio_receive(ch, rnd), got, stats)
        return got, stats

    receive_while_producing(ch, never, lambda: trio.run(main))


def test_asyncio_sender_and_trio_receivers_both_cancelled_at_random() -> None:
    ch: Chan[int] = Chan()
    rnd_a = random.Random(1)
    rnd_t = random.Random(2)
    n = N // 2

    async def trio_consumers() -> tuple[list[int], int]:
        got: list[int] = []
        stats: Counter[str] = Counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive_until_closed, trio_receive(ch, rnd_t), got, stats)
            nursery.start_soon(receive_until_closed, trio_receive(ch, rnd_t), got, stats)
        return got, stats["cancelled"]

    p = Bg(asyncio.run, asyncio_send_all(ch, n, rnd_a))
    got, t_cancels = trio.run(trio_consumers)
    a_cancels = p.join()
    assert_exactly_once(got, n)
    assert a_cancels + t_cancels >= MIN_CANCELS // 2

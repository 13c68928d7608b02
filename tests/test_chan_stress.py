"""Thread stress: timeouts racing hand-offs, and many producers/consumers selecting over
several channels. The multiset of values that comes out is the one that went in."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from typing import Any

import pytest
import trio

from goprims.chan import Chan, Recv, Send, async_select, select

N = 4000


def assert_same_multiset(got: list[int], want: list[int]) -> None:
    g, w = Counter(got), Counter(want)
    assert g == w, f"extra {list((g - w).items())[:10]}, missing {list((w - g).items())[:10]}"


def start(fn: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=fn, args=args)
    t.start()
    return t


def join_all(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.join(60)
        assert not t.is_alive()


TIMEOUTS = [0, 0, 0.00001, 0.0001, 0.001]


@pytest.mark.parametrize("cap", [0, 2])
def test_receivers_with_tiny_timeouts_racing_a_sender_lose_and_duplicate_nothing(
    cap: int,
) -> None:
    ch: Chan[int] = Chan(cap)
    got: list[int] = []
    timeouts = Counter[int]()

    def consumer(seed: int) -> None:
        rnd = random.Random(seed)
        while True:
            try:
                v, ok = ch.recv_ok(timeout=rnd.choice(TIMEOUTS))
            except TimeoutError:
                timeouts[seed] += 1
                continue
            if not ok:
                return
            assert v is not None  # ok: a value that was sent
            got.append(v)

    consumers = [start(consumer, s) for s in range(3)]
    for i in range(N):
        ch.send(i)
    ch.close()
    join_all(consumers)
    assert_same_multiset(got, list(range(N)))
    assert sum(timeouts.values()) > 0
    assert not ch._recvq
    assert not ch._sendq


@pytest.mark.parametrize("cap", [0, 2])
def test_senders_with_tiny_timeouts_retrying_deliver_each_value_exactly_once(cap: int) -> None:
    # A send that raised TimeoutError did not deliver; one that returned did. Retrying exactly
    # the timed-out sends must produce every value once.
    ch: Chan[int] = Chan(cap)
    timeouts = [0]

    def producer(values: range, seed: int) -> None:
        rnd = random.Random(seed)
        for v in values:
            while True:
                try:
                    if v % 2:
                        ch.send(v, timeout=rnd.choice(TIMEOUTS))
                    else:
                        select(Send(ch, v), timeout=rnd.choice(TIMEOUTS))
                    break
                except TimeoutError:
                    timeouts[0] += 1

    half = N // 2
    producers = [start(producer, range(0, half), 1), start(producer, range(half, N), 2)]
    closer = start(lambda: (join_all(producers), ch.close()))
    got = list(ch)
    closer.join(60)
    assert_same_multiset(got, list(range(N)))
    assert timeouts[0] > 0


def test_many_producers_and_consumers_selecting_over_several_channels() -> None:
    chans: list[Chan[int]] = [Chan(0), Chan(1), Chan(8)]
    n_producers, per_producer = 4, 1500
    results: list[list[int]] = []

    def producer(k: int) -> None:
        rnd = random.Random(k)
        for i in range(per_producer):
            v = k * per_producer + i
            # a select over all channels, a random subset, or a plain send
            r = rnd.random()
            if r < 0.6:
                select(*(Send(c, v) for c in chans))
            elif r < 0.9:
                select(
                    *(Send(c, v) if rnd.random() < 0.5 else Send(None, v) for c in chans[:2]),
                    Send(chans[2], v),
                )
            else:
                rnd.choice(chans).send(v)

    def consumer() -> None:
        got: list[int] = []
        live: list[Chan[int] | None] = list(chans)
        while any(c is not None for c in live):
            sel = select(*(Recv(c) for c in live))
            if sel.ok:
                got.append(sel.value)
            else:
                live[sel.index] = None
        results.append(got)

    async def async_consumer() -> None:
        got: list[int] = []
        live: list[Chan[int] | None] = list(chans)
        while any(c is not None for c in live):
            sel = await async_select(*(Recv(c) for c in live))
            if sel.ok:
                got.append(sel.value)
            else:
                live[sel.index] = None
        results.append(got)

    consumers = [start(consumer) for _ in range(3)]
    consumers.append(start(asyncio.run, async_consumer()))
    consumers.append(start(trio.run, async_consumer))
    producers = [start(producer, k) for k in range(n_producers)]
    join_all(producers)
    for c in chans:
        c.close()
    join_all(consumers)
    assert len(results) == 5
    assert_same_multiset([v for r in results for v in r], list(range(n_producers * per_producer)))
    assert all(not c._recvq and not c._sendq for c in chans)

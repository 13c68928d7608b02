"""goprims channels against their anchors (``python -m bench --only chan``).

Every workload builds its objects and threads first and times only the transfer: a producer
thread waits on a start gate, the clock starts when the gate opens and stops when the consumer
has received (and checked) the last item. ``bench/test_chan.py`` runs the same workloads, smaller.

Workloads (goprims subject vs anchor):

* thread SPSC, 200k ints, ``Chan(128)`` vs ``queue.Queue(128)``
* ping-pong between two threads (one round trip = two hand-offs), ``Chan(0)`` vs the physical
  limit: two pre-acquired ``threading.Lock`` s bounced between the threads, the cheapest
  two-thread hand-off there is; ``queue.Queue(1)`` is reported beside it
* trio task -> task, ``Chan(n)`` vs ``trio.open_memory_channel(n)`` for n = 0 and 128
* thread -> asyncio consumer, ``Chan(128)`` vs ``janus.Queue(128)`` and ``culsans.Queue(128)``
* thread SPSC unbounded, ``Chan(None)`` vs ``queue.SimpleQueue``
* asyncio task -> task, ``Chan(128)`` vs ``asyncio.Queue(128)``
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from bench._harness import Comparison
from goprims.chan import Chan

_perf = time.perf_counter

SPSC_ITEMS = 200_000
PINGPONG_ROUNDS = 20_000
TRIO_ITEMS = 100_000
ASYNC_ITEMS = 100_000
CAP = 128


def _want(n: int) -> int:
    return n * (n - 1) // 2


def _timed_producer(produce: Callable[[], None], consume: Callable[[], None]) -> float:
    """Start ``produce`` in a thread behind a gate; time ``consume`` here until both ended."""
    gate = threading.Event()

    def run() -> None:
        gate.wait()
        produce()

    t = threading.Thread(target=run, name="bench-producer")
    t.start()
    t0 = _perf()
    gate.set()
    consume()
    t.join()
    return _perf() - t0


# -------------------------------------------------------------------------------- thread SPSC


def _spsc(put: Callable[[int], object], get: Callable[[], int], n: int) -> float:
    """One producer thread ``put``s ``n`` ints; this thread ``get``s them."""
    total = 0

    def produce() -> None:
        send = put
        for i in range(n):
            send(i)

    def consume() -> None:
        nonlocal total
        recv = get
        s = 0
        for _ in range(n):
            s += recv()
        total = s

    dt = _timed_producer(produce, consume)
    assert total == _want(n)
    return dt


def spsc_chan(n: int = SPSC_ITEMS, cap: int | None = CAP) -> float:
    """One producer thread sends ``n`` ints into ``Chan(cap)``; this thread receives them."""
    ch: Chan[int] = Chan(cap)
    return _spsc(ch.send, ch.recv, n)


def spsc_queue(n: int = SPSC_ITEMS, cap: int = CAP) -> float:
    """The same with ``queue.Queue(cap)``."""
    q: queue.Queue[int] = queue.Queue(cap)
    return _spsc(q.put, q.get, n)


def spsc_simplequeue(n: int = SPSC_ITEMS) -> float:
    """The same with the unbounded C ``queue.SimpleQueue``."""
    q: queue.SimpleQueue[int] = queue.SimpleQueue()
    return _spsc(q.put, q.get, n)


# -------------------------------------------------------------------------------- ping-pong


def _pingpong(
    ping_put: Callable[[int], object],
    ping_get: Callable[[], int],
    pong_put: Callable[[int], object],
    pong_get: Callable[[], int],
    rounds: int,
) -> float:
    """Two threads bounce a counter ``rounds`` times: out over ping, back over pong."""
    last = 0

    def echo() -> None:
        recv, send = ping_get, pong_put
        for _ in range(rounds):
            send(recv() + 1)

    def drive() -> None:
        nonlocal last
        send, recv = ping_put, pong_get
        v = 0
        for _ in range(rounds):
            send(v)
            v = recv()
        last = v

    dt = _timed_producer(echo, drive)
    assert last == rounds
    return dt


def pingpong_chan(rounds: int = PINGPONG_ROUNDS) -> float:
    """Two threads bounce a counter over two unbuffered channels ``rounds`` times."""
    ping: Chan[int] = Chan(0)
    pong: Chan[int] = Chan(0)
    return _pingpong(ping.send, ping.recv, pong.send, pong.recv, rounds)


def pingpong_queue(rounds: int = PINGPONG_ROUNDS) -> float:
    """The same with two ``queue.Queue(1)``."""
    ping: queue.Queue[int] = queue.Queue(1)
    pong: queue.Queue[int] = queue.Queue(1)
    return _pingpong(ping.put, ping.get, pong.put, pong.get, rounds)


def pingpong_locks(rounds: int = PINGPONG_ROUNDS) -> float:
    """The physical limit of a two-thread hand-off: two pre-acquired locks bounced ``rounds``
    times (each release wakes the other thread, which needs the GIL back). No value moves."""
    ping = threading.Lock()
    pong = threading.Lock()
    ping.acquire()
    pong.acquire()

    def echo() -> None:
        take, give = ping.acquire, pong.release
        for _ in range(rounds):
            take()
            give()

    def drive() -> None:
        give, take = ping.release, pong.acquire
        for _ in range(rounds):
            give()
            take()

    return _timed_producer(echo, drive)


# ------------------------------------------------------------------------------ trio tasks

# (put, get) of a fresh channel: made inside the running event loop, as each library expects.
_Ends = tuple[Callable[[int], Awaitable[object]], Callable[[], Awaitable[int]]]


def _trio_tasks(make: Callable[[], _Ends], n: int) -> float:
    """A trio task ``put``s ``n`` ints; another ``get``s them."""

    async def main() -> float:
        put, get = make()
        total = 0

        async def produce() -> None:
            send = put
            for i in range(n):
                await send(i)

        async def consume() -> None:
            nonlocal total
            recv = get
            s = 0
            for _ in range(n):
                s += await recv()
            total = s

        t0 = _perf()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            nursery.start_soon(consume)
        dt = _perf() - t0
        assert total == _want(n)
        return dt

    return trio.run(main)


def trio_chan(n: int = TRIO_ITEMS, cap: int = CAP) -> float:
    """A trio task sends ``n`` ints to another through ``Chan(cap)``."""

    def make() -> _Ends:
        ch: Chan[int] = Chan(cap)
        return ch.async_send, ch.async_recv

    return _trio_tasks(make, n)


def trio_memory_channel(n: int = TRIO_ITEMS, cap: int = CAP) -> float:
    """The same with ``trio.open_memory_channel(cap)``."""

    def make() -> _Ends:
        tx, rx = trio.open_memory_channel[int](cap)
        return tx.send, rx.receive

    return _trio_tasks(make, n)


# ------------------------------------------------------------------- thread -> asyncio


def _thread_to_asyncio(
    make: Callable[[], Any],
    put_of: Callable[[Any], Callable[[int], Any]],
    get_of: Callable[[Any], Callable[[], Any]],
    n: int,
) -> float:
    async def main() -> float:
        q = make()  # inside the running loop: janus binds to it
        put, get = put_of(q), get_of(q)
        gate = threading.Event()

        def produce() -> None:
            gate.wait()
            for i in range(n):
                put(i)

        t = threading.Thread(target=produce, name="bench-producer")
        t.start()
        t0 = _perf()
        gate.set()
        s = 0
        for _ in range(n):
            s += await get()
        dt = _perf() - t0
        t.join()
        assert s == _want(n)
        closer = getattr(q, "aclose", None)
        if closer is not None:
            await closer()
        return dt

    return asyncio.run(main())


def thread_to_asyncio_chan(n: int = ASYNC_ITEMS, cap: int = CAP) -> float:
    """A producer thread sends ``n`` ints into ``Chan(cap)``; an asyncio task receives them."""
    return _thread_to_asyncio(lambda: Chan(cap), lambda q: q.send, lambda q: q.async_recv, n)


def thread_to_asyncio_janus(n: int = ASYNC_ITEMS, cap: int = CAP) -> float:
    """The same with ``janus.Queue(cap)`` (``sync_q.put`` -> ``await async_q.get()``)."""
    import janus

    return _thread_to_asyncio(
        lambda: janus.Queue(cap), lambda q: q.sync_q.put, lambda q: q.async_q.get, n
    )


def thread_to_asyncio_culsans(n: int = ASYNC_ITEMS, cap: int = CAP) -> float:
    """The same with ``culsans.Queue(cap)``."""
    import culsans

    return _thread_to_asyncio(
        lambda: culsans.Queue(cap), lambda q: q.sync_q.put, lambda q: q.async_q.get, n
    )


# ------------------------------------------------------------------------ asyncio tasks


def _asyncio_tasks(make: Callable[[], _Ends], n: int) -> float:
    """An asyncio task ``put``s ``n`` ints; another ``get``s them."""

    async def main() -> float:
        put, get = make()

        async def produce() -> None:
            send = put
            for i in range(n):
                await send(i)

        async def consume() -> int:
            recv = get
            s = 0
            for _ in range(n):
                s += await recv()
            return s

        t0 = _perf()
        _, total = await asyncio.gather(produce(), consume())
        dt = _perf() - t0
        assert total == _want(n)
        return dt

    return asyncio.run(main())


def asyncio_chan(n: int = ASYNC_ITEMS, cap: int = CAP) -> float:
    """An asyncio task sends ``n`` ints to another through ``Chan(cap)``."""

    def make() -> _Ends:
        ch: Chan[int] = Chan(cap)
        return ch.async_send, ch.async_recv

    return _asyncio_tasks(make, n)


def asyncio_queue(n: int = ASYNC_ITEMS, cap: int = CAP) -> float:
    """The same with ``asyncio.Queue(cap)``."""

    def make() -> _Ends:
        q: asyncio.Queue[int] = asyncio.Queue(cap)
        return q.put, q.get

    return _asyncio_tasks(make, n)


# ------------------------------------------------------------------------------ the table


def comparisons() -> list[Comparison]:
    """The channel rows of ``python -m bench``."""
    return [
        Comparison(
            "chan",
            f"thread SPSC {SPSC_ITEMS // 1000}k, cap {CAP}",
            f"queue.Queue({CAP})",
            spsc_chan,
            spsc_queue,
            goal=2.0,
            items=SPSC_ITEMS,
        ),
        Comparison(
            "chan",
            f"thread ping-pong {PINGPONG_ROUNDS // 1000}k rounds, Chan(0)",
            "two Locks bounced (the limit)",
            pingpong_chan,
            pingpong_locks,
            goal=0.8,
            items=PINGPONG_ROUNDS,
        ),
        Comparison(
            "chan",
            f"thread ping-pong {PINGPONG_ROUNDS // 1000}k rounds, Chan(0)",
            "queue.Queue(1)",
            pingpong_chan,
            pingpong_queue,
            items=PINGPONG_ROUNDS,
        ),
        Comparison(
            "chan",
            f"trio task -> task {TRIO_ITEMS // 1000}k, cap 0",
            "trio.open_memory_channel(0)",
            lambda: trio_chan(TRIO_ITEMS, 0),
            lambda: trio_memory_channel(TRIO_ITEMS, 0),
            goal=0.9,
            items=TRIO_ITEMS,
        ),
        Comparison(
            "chan",
            f"trio task -> task {TRIO_ITEMS // 1000}k, cap {CAP}",
            f"trio.open_memory_channel({CAP})",
            trio_chan,
            trio_memory_channel,
            goal=0.9,
            items=TRIO_ITEMS,
        ),
        Comparison(
            "chan",
            f"thread -> asyncio {ASYNC_ITEMS // 1000}k, cap {CAP}",
            f"janus.Queue({CAP})",
            thread_to_asyncio_chan,
            thread_to_asyncio_janus,
            goal=1.0,
            items=ASYNC_ITEMS,
        ),
        Comparison(
            "chan",
            f"thread -> asyncio {ASYNC_ITEMS // 1000}k, cap {CAP}",
            f"culsans.Queue({CAP})",
            thread_to_asyncio_chan,
            thread_to_asyncio_culsans,
            goal=1.0,
            items=ASYNC_ITEMS,
        ),
        Comparison(
            "chan",
            f"thread SPSC {SPSC_ITEMS // 1000}k, unbounded Chan(None)",
            "queue.SimpleQueue",
            lambda: spsc_chan(SPSC_ITEMS, None),
            spsc_simplequeue,
            goal=0.3,
            items=SPSC_ITEMS,
        ),
        Comparison(
            "chan",
            f"asyncio task -> task {ASYNC_ITEMS // 1000}k, cap {CAP}",
            f"asyncio.Queue({CAP})",
            asyncio_chan,
            asyncio_queue,
            goal=1.0,
            items=ASYNC_ITEMS,
        ),
    ]

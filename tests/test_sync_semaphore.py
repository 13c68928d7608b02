"""Semaphore: weighted, strict FIFO (no barging), timeouts, cancellation, every world."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest
import trio
import trio.lowlevel
import trio.testing
from sync_support import HandTimeouts, asyncio_thread, start_thread, trio_thread, wait_until

from goprims.sync import Semaphore


def _queued(s: Semaphore) -> int:
    return len(s._waiters)


def test_semaphore_rejects_bad_sizes_and_weights() -> None:
    with pytest.raises(ValueError, match="Semaphore size must be >= 0, got -1"):
        Semaphore(-1)
    s = Semaphore(3)
    with pytest.raises(ValueError, match="Semaphore: cannot acquire 4 units of 3"):
        s.acquire(4)  # can never be served
    with pytest.raises(ValueError, match="Semaphore: cannot acquire 4 units of 3"):
        s.try_acquire(4)
    with pytest.raises(ValueError, match="Semaphore: cannot acquire -1 units of 3"):
        s.acquire(-1)
    with pytest.raises(ValueError, match="Semaphore: cannot acquire 4 units of 3"):
        asyncio.run(s.async_acquire(4))
    assert s.available == 3


def test_semaphore_try_acquire_takes_free_units_only() -> None:
    s = Semaphore(3)
    assert s.try_acquire(2)
    assert not s.try_acquire(2)
    assert s.try_acquire(1)
    assert not s.try_acquire(1)
    assert s.available == 0
    s.release(3)
    assert s.available == 3


def test_semaphore_over_release_raises_value_error_and_changes_nothing() -> None:
    s = Semaphore(4)
    s.acquire(2)
    with pytest.raises(ValueError, match="released"):
        s.release(3)
    assert s.available == 2
    with pytest.raises(ValueError, match="Semaphore: released -1 units, 2 held"):
        s.release(-1)
    s.release(2)
    with pytest.raises(ValueError, match="Semaphore: released 1 units, 0 held"):
        s.release()
    assert s.available == 4


def test_semaphore_acquire_timeout_raises_and_takes_nothing() -> None:
    s = Semaphore(2)
    s.acquire(2)
    with pytest.raises(TimeoutError):
        s.acquire(1, timeout=0)
    with pytest.raises(TimeoutError):
        s.acquire(1, timeout=0.01)
    assert _queued(s) == 0
    s.release(2)
    assert s.available == 2


def test_semaphore_large_request_is_not_starved_by_small_ones() -> None:
    s = Semaphore(10)
    s.acquire(10)
    log: list[str] = []
    big = start_thread(lambda: (s.acquire(10), log.append("big")))
    wait_until(lambda: _queued(s) == 1)
    s.release(2)  # 2 free, the big request still does not fit
    # No barging: 2 units are free, but a small request queues behind the big one.
    assert not s.try_acquire(1)
    smalls = [start_thread(lambda i=i: (s.acquire(1), log.append(f"small{i}"))) for i in range(3)]
    wait_until(lambda: _queued(s) == 4)
    assert log == []
    assert s.available == 2
    s.release(8)
    big.result(10)
    assert log == ["big"]
    assert _queued(s) == 3  # the small ones wait for the big one to give back
    s.release(10)
    for f in smalls:
        f.result(10)
    assert sorted(log[1:]) == ["small0", "small1", "small2"]
    assert s.available == 7


def test_semaphore_serves_waiters_in_arrival_order() -> None:
    s = Semaphore(1)
    s.acquire()
    order: list[int] = []

    def take(i: int) -> None:
        s.acquire()
        order.append(i)
        s.release()

    futs = []
    for i in range(8):
        futs.append(start_thread(take, i))
        wait_until(lambda i=i: _queued(s) == i + 1)  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
    s.release()
    for f in futs:
        f.result(10)
    assert order == list(range(8))


def test_semaphore_head_timing_out_lets_the_requests_behind_it_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timeouts = HandTimeouts(monkeypatch)
    s = Semaphore(2)
    s.acquire(2)
    big = start_thread(s.acquire, 2, 10)  # times out when the test says so
    wait_until(lambda: _queued(s) == 1)
    small = start_thread(s.acquire, 1)
    wait_until(lambda: _queued(s) == 2)
    s.release(1)  # the head (2) does not fit; the small one stays queued behind it
    assert _queued(s) == 2
    timeouts.expire()
    with pytest.raises(TimeoutError):
        big.result(10)
    small.result(10)  # served as soon as the head withdrew
    assert s.available == 0
    s.release(2)


def test_semaphore_withdrawing_head_is_skipped_not_charged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """White-box: a head whose timeout fired but who has not withdrawn yet is skipped by a
    release (no units charged to it) and the next request is served."""
    timeouts = HandTimeouts(monkeypatch)
    s = Semaphore(1)
    s.acquire()
    head = start_thread(s.acquire, 1, 10)  # times out when the test says so
    wait_until(lambda: _queued(s) == 1)
    nxt = start_thread(s.acquire, 1)
    wait_until(lambda: _queued(s) == 2)
    w = next(iter(s._waiters)).waiter
    with s._lock:  # hold the lock: the timed-out head cannot withdraw yet
        timeouts.expire()
        wait_until(w.claimed, what="head timed out")
        s._cur -= 1  # what release(1) does under the lock ...
        wake = s._grant()  # ... then serve the queue
    for x in wake:
        x.waiter.wake()
    with pytest.raises(TimeoutError):
        head.result(10)
    nxt.result(10)
    assert s.available == 0
    assert _queued(s) == 0
    s.release()


def test_semaphore_async_acquire_mixes_with_threads_in_fifo_order() -> None:
    s = Semaphore(3)
    s.acquire(3)

    async def take(n: int) -> None:
        await s.async_acquire(n)

    with asyncio_thread() as aio, trio_thread() as tr:
        a = aio.submit(take(2))
        wait_until(lambda: _queued(s) == 1)
        t = start_thread(s.acquire, 1)
        wait_until(lambda: _queued(s) == 2)
        r = tr.submit(lambda: take(3))
        wait_until(lambda: _queued(s) == 3)
        s.release(2)  # exactly the head's weight: the asyncio task is served, nobody else
        a.result(10)
        assert _queued(s) == 2
        assert not t.done()
        s.release(1)
        t.result(10)
        assert _queued(s) == 1
        assert not r.done()
        s.release(3)
        r.result(10)
    assert s.available == 0
    assert _queued(s) == 0


def test_semaphore_cancelled_async_acquire_takes_nothing_and_unblocks_followers() -> None:
    s = Semaphore(2)
    s.acquire(2)

    async def aio_main() -> None:
        big = asyncio.ensure_future(s.async_acquire(2))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(s.async_acquire(1))
        await asyncio.sleep(0)
        assert _queued(s) == 2
        s.release(1)
        assert not small.done()
        big.cancel()
        with pytest.raises(asyncio.CancelledError):
            await big
        await small  # served when the head withdrew (and keeps its unit)

    asyncio.run(aio_main())
    assert s.available == 0
    assert _queued(s) == 0

    async def trio_main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(s.async_acquire, 1)
            await trio.testing.wait_all_tasks_blocked()
            assert _queued(s) == 1
            nursery.cancel_scope.cancel()
        with pytest.raises(TimeoutError):
            await s.async_acquire(1, timeout=0.01)

    trio.run(trio_main)
    assert s.available == 0
    assert _queued(s) == 0
    s.release(2)


def test_semaphore_async_acquire_is_a_trio_checkpoint_when_free() -> None:
    s = Semaphore(1)

    async def main() -> None:
        with trio.CancelScope() as scope:
            scope.cancel()
            await s.async_acquire()
        assert scope.cancelled_caught

    trio.run(main)
    assert s.available == 1  # the cancelled call took nothing


def test_semaphore_context_managers() -> None:
    s = Semaphore(1)
    with s:
        assert s.available == 0
    assert s.available == 1

    async def main() -> None:
        async with s:
            assert s.available == 0
        assert s.available == 1

    asyncio.run(main())
    trio.run(main)


def test_semaphore_stress_weighted_holders_never_exceed_size() -> None:
    size, threads, rounds = 7, 16, 150
    s = Semaphore(size)
    lock = threading.Lock()
    held = 0
    peak = 0

    def worker(seed: int) -> None:
        nonlocal held, peak
        rnd = random.Random(seed)
        for _ in range(rounds):
            n = rnd.randint(1, size)
            try:
                s.acquire(n, timeout=rnd.choice([None, 0.001]))
            except TimeoutError:
                continue
            with lock:
                held += n
                peak = max(peak, held)
                assert held <= size
            with lock:
                held -= n
            s.release(n)

    for f in [start_thread(worker, i) for i in range(threads)]:
        f.result(60)
    assert s.available == size
    assert _queued(s) == 0
    assert peak <= size


def test_semaphore_stress_random_async_cancellation_never_leaks_units() -> None:
    """asyncio and trio tasks are cancelled at random while threads release units to them:
    a cancelled acquire takes nothing, a grant that races the cancel is kept and released."""
    size = 3
    s = Semaphore(size)
    stop = threading.Event()

    def thread_worker() -> None:
        while not stop.is_set():
            s.acquire(1, timeout=1)
            s.release(1)

    async def aio_main() -> None:
        rnd = random.Random(1)

        for _ in range(150):
            n = rnd.randint(1, size)

            async def once(n: int = n) -> None:
                await s.async_acquire(n)
                try:
                    await asyncio.sleep(0)
                finally:
                    s.release(n)

            tasks = [asyncio.ensure_future(once()) for _ in range(4)]
            await asyncio.sleep(0)
            tasks[rnd.randrange(4)].cancel()
            tasks[rnd.randrange(4)].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def trio_main() -> None:
        rnd = random.Random(2)

        async def once(n: int) -> None:
            with trio.move_on_after(rnd.choice([0, 0.0001, 0.001])):
                await s.async_acquire(n)
                try:
                    await trio.lowlevel.checkpoint()
                finally:
                    s.release(n)

        for _ in range(150):
            async with trio.open_nursery() as nursery:
                for _ in range(4):
                    nursery.start_soon(once, rnd.randint(1, size))

    threads = [start_thread(thread_worker) for _ in range(2)]
    try:
        asyncio.run(aio_main())
        trio.run(trio_main)
    finally:
        stop.set()
        for f in threads:
            f.result(10)
    assert s.available == size
    assert _queued(s) == 0

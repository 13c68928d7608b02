"""Barrier: cyclic rounds with arrival indices, in every world and mixed; timeouts withdraw."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import defaultdict

import pytest
import trio
import trio.testing
from sync_support import HandTimeouts, asyncio_thread, start_thread, trio_thread, wait_until

import goprims
from goprims.sync import Barrier, BrokenBarrierError

ROUNDS = 25


class RoundLog:
    """Checks the barrier property: nobody leaves round r before all parties arrived at it."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.lock = threading.Lock()
        self.arrived: dict[int, int] = defaultdict(int)
        self.indices: dict[int, list[int]] = defaultdict(list)

    def arrive(self, r: int) -> None:
        with self.lock:
            self.arrived[r] += 1

    def leave(self, r: int, index: int) -> None:
        with self.lock:
            assert self.arrived[r] == self.parties, f"left round {r} early"
            self.indices[r].append(index)

    def check(self, rounds: int) -> None:
        assert sorted(self.indices) == list(range(rounds))
        for r in range(rounds):
            assert sorted(self.indices[r]) == list(range(self.parties)), r


def _thread_party(b: Barrier, log: RoundLog) -> None:
    for r in range(ROUNDS):
        log.arrive(r)
        log.leave(r, b.wait(timeout=10))


async def _async_party(b: Barrier, log: RoundLog) -> None:
    for r in range(ROUNDS):
        log.arrive(r)
        log.leave(r, await b.async_wait(timeout=10))


def test_barrier_rejects_fewer_than_one_party() -> None:
    with pytest.raises(ValueError, match="Barrier parties must be >= 1, got 0"):
        Barrier(0)


def test_barrier_of_one_party_never_blocks() -> None:
    b = Barrier(1)
    assert [b.wait() for _ in range(3)] == [0, 0, 0]
    assert asyncio.run(b.async_wait()) == 0
    assert trio.run(b.async_wait) == 0


def test_barrier_cyclic_rounds_with_threads() -> None:
    b = Barrier(4)
    log = RoundLog(4)
    futs = [start_thread(_thread_party, b, log) for _ in range(4)]
    for f in futs:
        f.result(30)
    log.check(ROUNDS)
    assert b.n_waiting == 0


def test_barrier_cyclic_rounds_with_asyncio_tasks() -> None:
    b = Barrier(5)
    log = RoundLog(5)

    async def main() -> None:
        await asyncio.gather(*(_async_party(b, log) for _ in range(5)))

    asyncio.run(main())
    log.check(ROUNDS)


def test_barrier_cyclic_rounds_with_trio_tasks() -> None:
    b = Barrier(5)
    log = RoundLog(5)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(_async_party, b, log)

    trio.run(main)
    log.check(ROUNDS)


def test_barrier_mixed_threads_asyncio_loop_and_trio_run_at_one_barrier() -> None:
    b = Barrier(6)
    log = RoundLog(6)
    with asyncio_thread() as aio, trio_thread() as tr:
        futs = [start_thread(_thread_party, b, log) for _ in range(2)]
        futs += [aio.submit(_async_party(b, log)) for _ in range(2)]
        futs += [tr.submit(lambda: _async_party(b, log)) for _ in range(2)]
        for f in futs:
            f.result(30)
    log.check(ROUNDS)


def test_barrier_last_arriver_gets_parties_minus_one_and_order_is_arrival_order() -> None:
    b = Barrier(3)
    first = start_thread(b.wait)
    wait_until(lambda: b.n_waiting == 1)
    second = start_thread(b.wait)
    wait_until(lambda: b.n_waiting == 2)
    assert b.wait() == 2
    assert (first.result(10), second.result(10)) == (0, 1)


def test_barrier_timed_out_waiter_neither_releases_nor_breaks_the_others() -> None:
    b = Barrier(3)
    a = start_thread(b.wait)
    wait_until(lambda: b.n_waiting == 1)
    with pytest.raises(TimeoutError):
        b.wait(timeout=0.02)
    with pytest.raises(TimeoutError):
        b.wait(timeout=0)
    assert b.n_waiting == 1
    assert not a.done()
    c = start_thread(b.wait)
    wait_until(lambda: b.n_waiting == 2)
    assert b.wait() == 2
    assert (a.result(10), c.result(10)) == (0, 1)
    # the barrier goes on with a full next round
    futs = [start_thread(b.wait) for _ in range(3)]
    assert sorted(f.result(10) for f in futs) == [0, 1, 2]


def test_barrier_async_timeout_and_cancel_withdraw_without_breaking() -> None:
    b = Barrier(2)

    async def aio_main() -> None:
        with pytest.raises(TimeoutError):
            await b.async_wait(timeout=0.01)
        task = asyncio.ensure_future(b.async_wait())
        await asyncio.sleep(0)
        assert b.n_waiting == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert b.n_waiting == 0

    asyncio.run(aio_main())

    async def trio_main() -> None:
        with pytest.raises(TimeoutError):
            await b.async_wait(timeout=0.01)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(b.async_wait)
            await trio.testing.wait_all_tasks_blocked()
            assert b.n_waiting == 1
            nursery.cancel_scope.cancel()
        assert b.n_waiting == 0

    trio.run(trio_main)
    # still a working barrier for two
    other = start_thread(b.wait)
    assert {b.wait(timeout=10), other.result(10)} == {0, 1}


def test_barrier_stress_timeouts_racing_releases_keep_rounds_whole() -> None:
    """Many threads with tiny random timeouts: every completed round releases exactly
    `parties` callers with indices 0..parties-1, and nobody is lost or left behind."""
    parties, threads, attempts = 3, 9, 150
    b = Barrier(parties)
    lock = threading.Lock()
    passed: list[int] = []
    start = threading.Barrier(threads)

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        start.wait(10)
        for _ in range(attempts):
            try:
                i = b.wait(timeout=rnd.choice([0, 0.0002, 0.001, 0.003]))
            except TimeoutError:
                continue
            with lock:
                passed.append(i)

    for f in [start_thread(worker, s) for s in range(threads)]:
        f.result(60)
    assert b.n_waiting < parties
    leftovers = b.n_waiting
    assert leftovers == 0  # every worker finished, so nobody can still be parked
    counts = [passed.count(i) for i in range(parties)]
    assert len(passed) % parties == 0
    assert counts == [len(passed) // parties] * parties
    assert len(passed) > 0


def test_barrier_waiter_whose_timeout_races_the_release_passes_with_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """White-box: the waiter's timeout fires (it claims itself) but the round completes before
    its withdrawal gets the lock: it has passed, so it returns its index, not TimeoutError."""
    timeouts = HandTimeouts(monkeypatch)
    b = Barrier(2)
    a = start_thread(b.wait, 10)  # times out when the test says so
    wait_until(lambda: b.n_waiting == 1)
    (entry,) = b._waiters
    w = entry.waiter
    with b._lock:  # hold the lock: the timed-out waiter cannot withdraw yet
        timeouts.expire()
        wait_until(w.claimed, what="waiter timed out and claimed itself")
        wake = b._release()  # what the last arriver does under the lock
    assert wake == []  # nobody to wake: the waiter is running its withdrawal
    assert a.result(10) == 0
    assert b.n_waiting == 0


# ------------------------------------------------------------------------- abort() and reset()


def test_abort_breaks_every_waiter_of_every_world_and_later_waits() -> None:
    b = Barrier(4)
    with asyncio_thread() as loop, trio_thread() as run:
        waiters = [
            start_thread(b.wait, 10),
            loop.submit(b.async_wait(10)),
            run.submit(lambda: b.async_wait(10)),
        ]
        wait_until(lambda: b.n_waiting == 3)
        b.abort()
        for f in waiters:
            with pytest.raises(BrokenBarrierError):
                f.result(10)
    assert b.broken
    assert b.n_waiting == 0
    with pytest.raises(BrokenBarrierError):
        b.wait(timeout=0)
    with pytest.raises(BrokenBarrierError):
        asyncio.run(b.async_wait())
    b.abort()  # idempotent
    assert b.broken


def test_reset_breaks_the_current_waiters_then_the_barrier_works_again() -> None:
    b = Barrier(2)
    first = start_thread(b.wait, 10)
    wait_until(lambda: b.n_waiting == 1)
    b.reset()
    with pytest.raises(BrokenBarrierError):
        first.result(10)
    assert not b.broken
    assert b.n_waiting == 0
    other = start_thread(b.wait, 10)
    assert b.wait(timeout=10) in (0, 1)
    assert other.result(10) in (0, 1)


def test_reset_after_abort_unbreaks_the_barrier() -> None:
    b = Barrier(1)
    b.abort()
    with pytest.raises(BrokenBarrierError):
        b.wait()
    b.reset()
    assert not b.broken
    assert b.wait() == 0


def test_a_timeout_still_does_not_break_the_barrier() -> None:
    b = Barrier(2)
    with pytest.raises(TimeoutError):
        b.wait(timeout=0.01)
    assert not b.broken


def test_broken_barrier_error_is_the_stdlib_one_too_and_importable_from_goprims() -> None:
    assert issubclass(BrokenBarrierError, threading.BrokenBarrierError)
    assert goprims.BrokenBarrierError is BrokenBarrierError
    b = Barrier(2)
    b.abort()
    with pytest.raises(threading.BrokenBarrierError):
        b.wait()

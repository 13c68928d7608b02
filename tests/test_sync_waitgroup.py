"""WaitGroup: counter rules, release of every kind of waiter, timeouts, cancellation, go()."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio
import trio.testing
from sync_support import asyncio_thread, start_thread, trio_thread, wait_until

from goprims.sync import WaitGroup


def _parked(wg: WaitGroup) -> int:
    return len(wg._waiters)


def test_waitgroup_wait_returns_at_once_when_counter_is_zero() -> None:
    wg = WaitGroup()
    wg.wait()
    wg.wait(timeout=0)
    asyncio.run(wg.async_wait(timeout=0))
    trio.run(wg.async_wait)


def test_waitgroup_negative_counter_raises_value_error_and_keeps_counter() -> None:
    wg = WaitGroup()
    with pytest.raises(ValueError, match="negative"):
        wg.done()
    wg.add(2)
    with pytest.raises(ValueError, match="negative"):
        wg.add(-3)
    assert wg.count == 2
    wg.add(-2)
    assert wg.count == 0


def test_waitgroup_releases_threads_asyncio_and_trio_waiters_at_zero() -> None:
    wg = WaitGroup()
    wg.add(3)
    threads = [start_thread(wg.wait) for _ in range(3)]
    with asyncio_thread() as aio, trio_thread() as tr:
        a = aio.submit(wg.async_wait())
        t = tr.submit(wg.async_wait)
        wait_until(lambda: _parked(wg) == 5)
        wg.done()
        wg.done()
        assert not any(f.done() for f in [*threads, a, t])
        wg.done()
        for f in [*threads, a, t]:
            assert f.result(10) is None
    assert _parked(wg) == 0


def test_waitgroup_wait_timeout_raises_and_withdraws() -> None:
    wg = WaitGroup()
    wg.add(1)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.01)
    assert _parked(wg) == 0

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await wg.async_wait(timeout=0.01)

    asyncio.run(main())
    trio.run(main)
    assert _parked(wg) == 0
    wg.done()
    wg.wait(timeout=0)


def test_waitgroup_cancelled_async_wait_leaves_no_waiter() -> None:
    wg = WaitGroup()
    wg.add(1)

    async def aio_main() -> None:
        task = asyncio.ensure_future(wg.async_wait())
        await asyncio.sleep(0)
        assert _parked(wg) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(aio_main())
    assert _parked(wg) == 0

    async def trio_main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wg.async_wait)
            await trio.testing.wait_all_tasks_blocked()
            assert _parked(wg) == 1
            nursery.cancel_scope.cancel()

    trio.run(trio_main)
    assert _parked(wg) == 0
    wg.done()


def test_waitgroup_is_reusable_after_a_round() -> None:
    wg = WaitGroup()
    for _ in range(3):
        wg.add(2)
        waiter = start_thread(wg.wait)
        wg.done()
        wg.done()
        waiter.result(10)


def test_waitgroup_go_runs_fn_and_wait_returns_after_it() -> None:
    wg = WaitGroup()
    results: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        with lock:
            results.append(i)

    for i in range(20):
        wg.go(work, i)
    wg.wait(timeout=10)
    assert sorted(results) == list(range(20))
    assert wg.count == 0


def test_waitgroup_go_reports_exception_before_done(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[tuple[BaseException | None, int]] = []
    wg = WaitGroup()

    def hook(args: threading.ExceptHookArgs) -> None:
        reported.append((args.exc_value, wg.count))

    monkeypatch.setattr(threading, "excepthook", hook)

    def fail() -> None:
        raise ZeroDivisionError("in task")

    wg.go(fail)
    wg.wait(timeout=10)
    assert len(reported) == 1
    exc, count_at_report = reported[0]
    assert isinstance(exc, ZeroDivisionError)
    assert count_at_report == 1  # reported while the WaitGroup still counted the task


def test_waitgroup_stress_many_threads_add_and_done() -> None:
    wg = WaitGroup()
    workers, rounds = 32, 200
    wg.add(workers * rounds)
    start = threading.Barrier(workers + 4)
    waiters = [start_thread(lambda: (start.wait(10), wg.wait(30))) for _ in range(4)]

    def worker() -> None:
        start.wait(10)
        for _ in range(rounds):
            wg.done()

    futs = [start_thread(worker) for _ in range(workers)]
    for f in futs + waiters:
        f.result(30)
    assert wg.count == 0
    assert _parked(wg) == 0

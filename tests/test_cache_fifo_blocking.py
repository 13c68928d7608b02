"""Blocking pop on DeltaFIFO and RealFIFO: threads, timeouts, close, asyncio, trio, cancellation.

Tests that need a pop to be *parked* before acting wait on a spy wrapped around the waiter
core's ``wait`` (a pop registers its waiter before calling ``wait``, so anything done after the
spy fires is seen by the parked pop), never on a sleep.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import trio

import goprims.cache.queue as queue_mod
from goprims._waiter import AsyncioWaiter, ThreadWaiter, TrioWaiter, async_library
from goprims.cache import DeltaFIFO, Deltas, DeltaType, FIFOClosed, Queue, RealFIFO

FIFOS: list[Callable[[], Queue]] = [DeltaFIFO, RealFIFO]


def obj(name: str, val: int = 0) -> dict[str, Any]:
    return {"metadata": {"name": name}, "val": val}


def name_of(d: Deltas) -> str:
    newest = d.newest()
    assert newest is not None
    return str(newest.object["metadata"]["name"])


class ParkSpy:
    """Counts pops that parked (in any world); ``wait_for(n)`` blocks until n have."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.count = 0
        self.raise_in: set[str] = set()  # thread names whose woken wait raises Interrupt

    def note(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.count >= n, timeout=10), "pop never parked"


class Interrupt(BaseException):
    """Stands in for a KeyboardInterrupt delivered to a parked thread."""


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ParkSpy:
    s = ParkSpy()

    class SpyThreadWaiter(ThreadWaiter):
        def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:
            s.note()
            if threading.current_thread().name in s.raise_in:
                # Parked, then interrupted just after a firer claimed this waiter.
                woken = super().wait(timeout, withdraw)
                assert woken
                raise Interrupt
            return super().wait(timeout, withdraw)

    class SpyAsyncioWaiter(AsyncioWaiter):
        # The waiter interface takes its timeout as an argument.
        async def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:  # noqa: ASYNC109
            s.note()
            return await super().wait(timeout, withdraw)

    class SpyTrioWaiter(TrioWaiter):
        # The waiter interface takes its timeout as an argument.
        async def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:  # noqa: ASYNC109
            s.note()
            return await super().wait(timeout, withdraw)

    def spy_async_waiter() -> AsyncioWaiter | TrioWaiter:
        return SpyTrioWaiter() if async_library() == "trio" else SpyAsyncioWaiter()

    monkeypatch.setattr(queue_mod, "ThreadWaiter", SpyThreadWaiter)
    monkeypatch.setattr(queue_mod, "async_waiter", spy_async_waiter)
    return s


def run_threads(*targets: Callable[[], None]) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Result:
    """What a pop in another thread returned or raised."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


def popper(f: Queue, result: Result, timeout: float | None = None) -> threading.Thread:
    def run() -> None:
        try:
            result.value = f.pop(timeout=timeout)
        except BaseException as e:
            result.error = e

    t = threading.Thread(target=run)
    t.start()
    return t


def after_parked(spy: ParkSpy, action: Callable[[], object]) -> threading.Thread:
    """A started thread that runs ``action`` once a pop has parked."""

    def run() -> None:
        spy.wait_for(1)
        action()

    t = threading.Thread(target=run)
    t.start()
    return t


# ---------------------------------------------------------------------------------- threads


@pytest.mark.parametrize("make", FIFOS)
def test_pop_times_out_on_an_empty_fifo_after_the_timeout(make: Callable[[], Queue]) -> None:
    f = make()
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        f.pop(timeout=0.05)
    assert time.monotonic() - start >= 0.045
    assert not f._waiters  # the timed-out waiter withdrew


@pytest.mark.parametrize("make", FIFOS)
def test_a_parked_pop_is_woken_by_add(make: Callable[[], Queue], spy: ParkSpy) -> None:
    f = make()
    res = Result()
    t = popper(f, res, timeout=30)
    spy.wait_for(1)
    f.add(obj("a"))
    t.join()
    assert res.error is None
    assert name_of(res.value) == "a"


@pytest.mark.parametrize("make", FIFOS)
def test_parked_pops_are_woken_by_replace(make: Callable[[], Queue], spy: ParkSpy) -> None:
    f = make()
    results = [Result(), Result()]
    threads = [popper(f, r) for r in results]
    spy.wait_for(2)
    f.replace([obj("a"), obj("b")], "1")
    for t in threads:
        t.join()
    assert sorted(name_of(r.value) for r in results) == ["a", "b"]


@pytest.mark.parametrize("make", FIFOS)
def test_close_wakes_every_parked_pop_with_fifo_closed(
    make: Callable[[], Queue], spy: ParkSpy
) -> None:
    f = make()
    results = [Result() for _ in range(5)]
    threads = [popper(f, r) for r in results]
    spy.wait_for(5)
    f.close()
    for t in threads:
        t.join()
    assert all(isinstance(r.error, FIFOClosed) for r in results)


@pytest.mark.parametrize("make", FIFOS)
def test_each_item_is_popped_by_exactly_one_of_many_consumers(make: Callable[[], Queue]) -> None:
    f = make()
    n_items, n_consumers = 2000, 4
    popped: list[list[str]] = [[] for _ in range(n_consumers)]

    def consumer(i: int) -> Callable[[], None]:
        def run() -> None:
            while True:
                try:
                    popped[i].append(name_of(f.pop()))
                except FIFOClosed:
                    return

        return run

    def producer() -> None:
        for k in range(n_items):
            f.add(obj(f"k{k}"))
        f.close()

    run_threads(producer, *(consumer(i) for i in range(n_consumers)))
    everything = [n for p in popped for n in p]
    assert sorted(everything) == sorted(f"k{k}" for k in range(n_items))


@pytest.mark.parametrize("make", FIFOS)
def test_racing_timeouts_never_lose_an_item(make: Callable[[], Queue]) -> None:
    # Consumers with tiny timeouts race the producer: an item is either popped exactly once or
    # still queued at the end, whichever way each timeout/add race goes.
    f = make()
    n_items, n_consumers = 600, 4
    popped: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def consumer() -> None:
        while not done.is_set() or len(f):
            try:
                d = f.pop(timeout=0.0005)
            except TimeoutError:
                continue
            with lock:
                popped.append(name_of(d))

    def producer() -> None:
        for k in range(n_items):
            f.add(obj(f"k{k}"))
        done.set()

    run_threads(producer, *([consumer] * n_consumers))
    assert sorted(popped + f.list_keys()) == sorted(f"k{k}" for k in range(n_items))
    assert len(popped) == len(set(popped))
    assert not f._waiters
    assert f._reserved == 0


@pytest.mark.parametrize("make", FIFOS)
def test_a_woken_pop_that_is_interrupted_passes_its_item_on(
    make: Callable[[], Queue], spy: ParkSpy
) -> None:
    f = make()
    first, second = Result(), Result()
    spy.raise_in.add("first")
    t1 = threading.Thread(target=lambda: _capture(f, first), name="first")
    t1.start()
    spy.wait_for(1)
    t2 = threading.Thread(target=lambda: _capture(f, second), name="second")
    t2.start()
    spy.wait_for(2)
    f.add(obj("a"))  # reserved for "first", which is interrupted and must pass it on
    t1.join()
    t2.join()
    assert isinstance(first.error, Interrupt)
    assert second.error is None
    assert name_of(second.value) == "a"
    assert f._reserved == 0


def _capture(f: Queue, res: Result) -> None:
    try:
        res.value = f.pop()
    except BaseException as e:
        res.error = e


def test_process_runs_under_the_fifo_lock() -> None:
    f = DeltaFIFO()
    f.add(obj("a"))
    held: list[bool] = []
    f.pop(lambda d, initial: held.append(f._lock.locked()), timeout=0)
    assert held == [True]


def test_pop_woken_with_a_timeout_returns_the_item(spy: ParkSpy) -> None:
    f = DeltaFIFO()
    res = Result()
    t = popper(f, res, timeout=60)
    spy.wait_for(1)
    f.update(obj("a", 2))
    t.join()
    assert res.value.newest().type is DeltaType.UPDATED


# ---------------------------------------------------------------------------------- asyncio


@pytest.mark.parametrize("make", FIFOS)
def test_asyncio_pop_is_woken_by_an_add_from_another_thread(
    make: Callable[[], Queue], spy: ParkSpy
) -> None:
    f = make()

    async def main() -> Deltas:
        return await f.async_pop()

    t = after_parked(spy, lambda: f.add(obj("a")))
    got = asyncio.run(main())
    t.join()
    assert name_of(got) == "a"


def test_asyncio_pop_returns_at_once_when_an_item_is_queued() -> None:
    f = DeltaFIFO()
    f.add(obj("a"))
    seen: list[bool] = []
    got = asyncio.run(f.async_pop(lambda d, initial: seen.append(initial)))
    assert name_of(got) == "a"
    assert seen == [False]


def test_asyncio_pop_times_out() -> None:
    f = DeltaFIFO()
    with pytest.raises(TimeoutError):
        asyncio.run(f.async_pop(timeout=0.02))
    assert not f._waiters


def test_asyncio_pop_cancelled_while_parked_takes_nothing(spy: ParkSpy) -> None:
    f = DeltaFIFO()

    async def main() -> None:
        task = asyncio.create_task(f.async_pop())
        # Yield the loop to the task under test until it has parked (no wall-clock wait).
        while spy.count < 1:  # noqa: ASYNC110
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not f._waiters
    assert f._reserved == 0
    f.add(obj("a"))
    assert name_of(f.pop(timeout=0)) == "a"


def test_asyncio_and_thread_pops_share_one_fifo(spy: ParkSpy) -> None:
    f = RealFIFO()
    thread_res = Result()

    t = popper(f, thread_res)
    spy.wait_for(1)  # the thread is parked

    async def main() -> Deltas:
        task = asyncio.create_task(f.async_pop())
        # Yield the loop to the task under test until it has parked (no wall-clock wait).
        while spy.count < 2:  # noqa: ASYNC110
            await asyncio.sleep(0)
        f.add(obj("a"))
        f.add(obj("b"))
        return await task

    got = asyncio.run(main())
    t.join()
    assert sorted([name_of(got), name_of(thread_res.value)]) == ["a", "b"]


def test_close_wakes_an_asyncio_pop_with_fifo_closed(spy: ParkSpy) -> None:
    f = DeltaFIFO()
    t = after_parked(spy, f.close)
    with pytest.raises(FIFOClosed):
        asyncio.run(f.async_pop())
    t.join()


# ------------------------------------------------------------------------------------- trio


@pytest.mark.parametrize("make", FIFOS)
def test_trio_pop_is_woken_by_an_add_from_another_thread(
    make: Callable[[], Queue], spy: ParkSpy
) -> None:
    f = make()
    t = after_parked(spy, lambda: f.add(obj("a")))
    got = trio.run(f.async_pop)
    t.join()
    assert name_of(got) == "a"


def test_trio_pop_times_out() -> None:
    f = DeltaFIFO()

    async def main() -> None:
        await f.async_pop(timeout=0.02)

    with pytest.raises(TimeoutError):
        trio.run(main)
    assert not f._waiters


def test_trio_pop_cancelled_while_parked_takes_nothing(spy: ParkSpy) -> None:
    f = DeltaFIFO()

    async def main() -> None:
        async with trio.open_nursery() as nursery:

            async def pop_then_fail() -> None:
                await f.async_pop()
                raise AssertionError("pop should have been cancelled")

            nursery.start_soon(pop_then_fail)
            while spy.count < 1:
                await trio.lowlevel.checkpoint()
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert not f._waiters
    assert f._reserved == 0
    f.add(obj("a"))
    assert name_of(f.pop(timeout=0)) == "a"


def test_trio_pop_that_does_not_block_is_still_a_checkpoint() -> None:
    f = DeltaFIFO()
    f.add(obj("a"))

    async def main() -> None:
        with trio.CancelScope() as scope:
            scope.cancel()
            await f.async_pop()  # cancelled at entry: nothing popped
        assert scope.cancelled_caught

    trio.run(main)
    assert f.list_keys() == ["a"]

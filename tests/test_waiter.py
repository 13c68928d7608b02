"""The waiter core's claim / fire / withdraw protocol, in each of the three worlds."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from goprims._waiter import (
    AsyncioWaiter,
    ThreadWaiter,
    TrioWaiter,
    Waiter,
    async_library,
    async_waiter,
)
from goprims.chan import Chan, Recv, async_select, select


def fire(w: Waiter, value: Any, ok: bool = True) -> bool:
    """Complete ``w`` the way a primitive does: claim, record, wake."""
    if not w.try_claim():
        return False
    w.value = value
    w.ok = ok
    w.wake()
    return True


class Withdrawals:
    def __init__(self) -> None:
        self.count = 0
        self.called = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.called.set()


# ---------------------------------------------------------------------------------------- claim


def test_claim_succeeds_for_exactly_one_of_many_racing_threads() -> None:
    for _ in range(50):
        w = Waiter()
        start = threading.Barrier(8)
        wins: list[bool] = []

        def racer(w: Waiter = w, start: threading.Barrier = start, wins: list[bool] = wins) -> None:
            start.wait()
            wins.append(w.try_claim())

        threads = [threading.Thread(target=racer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wins.count(True) == 1
        assert w.claimed()


def test_unclaimed_waiter_reports_not_claimed() -> None:
    w = Waiter()
    assert not w.claimed()
    assert w.try_claim()
    assert not w.try_claim()


# -------------------------------------------------------------------------------------- threads


def test_thread_waiter_fired_from_another_thread_returns_true_with_the_value() -> None:
    w = ThreadWaiter()
    withdraw = Withdrawals()
    t = threading.Thread(target=fire, args=(w, "v"))
    t.start()
    assert w.wait(None, withdraw)
    t.join()
    assert (w.value, w.ok) == ("v", True)
    assert withdraw.count == 0


def test_thread_waiter_timeout_claims_itself_and_withdraws() -> None:
    w = ThreadWaiter()
    withdraw = Withdrawals()
    assert not w.wait(0.01, withdraw)
    assert withdraw.count == 1
    assert w.claimed()
    assert not fire(w, "late")  # a firer arriving after the timeout must skip it


def test_thread_waiter_timeout_that_loses_the_claim_returns_the_firers_outcome() -> None:
    # The firer claims first but wakes only after the waiter's timeout tried to withdraw.
    w = ThreadWaiter()
    withdraw = Withdrawals()
    assert w.try_claim()
    w.value = 7

    def late_wake() -> None:
        withdraw.called.wait()
        w.wake()

    t = threading.Thread(target=late_wake)
    t.start()
    assert w.wait(0, withdraw)  # timed out at once, lost the claim: the operation completed
    t.join()
    assert w.value == 7


def test_thread_waiter_leaves_no_stale_wakeup_for_the_next_wait_of_the_same_thread() -> None:
    w1 = ThreadWaiter()
    fire(w1, 1)  # fired before waiting: the release is consumed by the wait
    assert w1.wait(None, Withdrawals())
    w2 = ThreadWaiter()
    assert not w2.wait(0, Withdrawals())  # the per-thread park lock is held again


def test_thread_waiter_park_lock_is_reused_per_thread() -> None:
    assert ThreadWaiter()._park is ThreadWaiter()._park
    other: list[Any] = []
    t = threading.Thread(target=lambda: other.append(ThreadWaiter()._park))
    t.start()
    t.join()
    assert other[0] is not ThreadWaiter()._park


# -------------------------------------------------------------------------------------- asyncio


async def _parked(coro: Any) -> asyncio.Task[Any]:
    task: asyncio.Task[Any] = asyncio.ensure_future(coro)
    for _ in range(3):
        await asyncio.sleep(0)
    return task


def test_asyncio_waiter_fired_from_a_thread_resumes_the_task() -> None:
    async def main() -> None:
        w = AsyncioWaiter()
        t = threading.Thread(target=fire, args=(w, 3))
        t.start()
        assert await w.wait(None, Withdrawals())
        t.join()
        assert w.value == 3

    asyncio.run(main())


def test_asyncio_waiter_cancelled_before_firing_raises_and_withdraws() -> None:
    async def main() -> None:
        w = AsyncioWaiter()
        withdraw = Withdrawals()
        task = await _parked(w.wait(None, withdraw))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert withdraw.count == 1
        assert not fire(w, "late")

    asyncio.run(main())


def test_asyncio_waiter_cancelled_after_firing_returns_true_and_drops_the_cancel() -> None:
    async def main() -> None:
        w = AsyncioWaiter()
        task = await _parked(w.wait(None, Withdrawals()))
        assert fire(w, 5)  # the value is committed ...
        task.cancel()  # ... and the cancel arrives before the task resumed
        assert await task
        assert w.value == 5
        assert not task.cancelled()
        if sys.version_info >= (3, 11):  # 3.10 has no cancel-request count to withdraw
            assert task.cancelling() == 0

    asyncio.run(main())


def test_asyncio_wait_for_timing_out_a_fired_waiter_returns_its_value() -> None:
    # The structured timeout every supported Python has: wait_for cancels the inner task at the
    # deadline; a waiter fired before that cancellation reached it returns the value, and
    # wait_for hands the value back instead of raising (3.10 through 3.13 alike).
    async def main() -> None:
        w = AsyncioWaiter()
        task = await _parked(w.wait(None, Withdrawals()))
        assert fire(w, 7)  # committed while parked; wait_for's cancel comes next
        assert await asyncio.wait_for(task, timeout=0) is True
        assert w.value == 7
        assert not task.cancelled()

    asyncio.run(main())


def test_asyncio_waiter_timeout_returns_false_and_withdraws() -> None:
    async def main() -> None:
        w = AsyncioWaiter()
        withdraw = Withdrawals()
        assert not await w.wait(0.001, withdraw)
        assert withdraw.count >= 1
        assert not fire(w, "late")

    asyncio.run(main())


def test_asyncio_waiter_cancelled_after_own_timeout_raises_not_phantom_success() -> None:
    # Regression: the timeout handler claimed the waiter, then a cancel arrived before the task
    # resumed; the waiter mistook its own claim for a firer's and reported a phantom success.
    async def main() -> None:
        w = AsyncioWaiter()
        withdraw = Withdrawals()
        task = await _parked(w.wait(1000, withdraw))
        w._expire()  # the timeout fires ...
        task.cancel()  # ... and a cancel arrives before the task resumed
        with pytest.raises(asyncio.CancelledError):
            await task
        assert withdraw.count >= 1

    asyncio.run(main())


# ----------------------------------------------------------------------------------------- trio


def test_trio_waiter_fired_from_a_thread_resumes_the_task() -> None:
    async def main() -> None:
        w = TrioWaiter()
        t = threading.Thread(target=fire, args=(w, "x"))
        t.start()
        assert await w.wait(None, Withdrawals())
        t.join()
        assert w.value == "x"

    trio.run(main)


def test_trio_waiter_cancelled_before_firing_raises_and_withdraws() -> None:
    async def main() -> None:
        withdraw = Withdrawals()
        box: list[TrioWaiter] = []

        async def waiter() -> None:
            w = TrioWaiter()
            box.append(w)
            await w.wait(None, withdraw)

        with trio.move_on_after(1000) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(waiter)
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()
        assert scope.cancelled_caught
        assert withdraw.count == 1
        assert not fire(box[0], "late")

    trio.run(main)


def test_trio_waiter_cancelled_after_claim_returns_the_value() -> None:
    async def main() -> None:
        withdraw = Withdrawals()
        box: list[TrioWaiter] = []
        got: list[Any] = []

        scope = trio.CancelScope()

        async def waiter() -> None:
            with scope:
                w = TrioWaiter()
                box.append(w)
                got.append(await w.wait(None, withdraw))
                got.append(w.value)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            w = box[0]
            assert w.try_claim()  # a firer claimed ...
            w.value = 9
            scope.cancel()  # ... the cancel's abort must fail ...
            await trio.lowlevel.checkpoint()
            w.wake()  # ... and the task gets the value
        assert got == [True, 9]
        assert withdraw.count == 0

    trio.run(main)


def test_trio_waiter_timeout_returns_false_and_withdraws() -> None:
    async def main() -> None:
        w = TrioWaiter()
        withdraw = Withdrawals()
        assert not await w.wait(0.001, withdraw)
        assert withdraw.count == 1

    trio.run(main)


def test_trio_waiter_of_a_child_task_wakes_the_child_not_the_parent() -> None:
    # The child starts with a copy of its parent's context, which holds the parent's cached
    # (task, token, thread) after the parent's own wait: the child's waiter must not reuse it.
    async def main() -> None:
        w = TrioWaiter()
        threading.Thread(target=fire, args=(w, "parent")).start()
        assert await w.wait(None, Withdrawals())
        got: list[Any] = []

        async def child() -> None:
            c = TrioWaiter()
            threading.Thread(target=fire, args=(c, "child")).start()
            got.append(await c.wait(None, Withdrawals()))
            got.append(c.value)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        assert got == [True, "child"]

    trio.run(main)


def test_trio_waiter_in_a_run_started_from_a_tasks_context_wakes_through_its_own_run() -> None:
    # A thread that runs in a copy of a trio task's context (as trio.to_thread does) and starts
    # trio.run there hands that context down to the new run's tasks: their waiters must still
    # wake through the new run, not through the task's.
    got: list[Any] = []

    def inner_run() -> None:
        async def inner() -> Any:
            w = TrioWaiter()
            threading.Thread(target=fire, args=(w, "inner")).start()
            assert await w.wait(None, Withdrawals())
            return w.value

        got.append(trio.run(inner))

    async def main() -> None:
        w = TrioWaiter()
        threading.Thread(target=fire, args=(w, "outer")).start()
        assert await w.wait(None, Withdrawals())
        t = threading.Thread(target=contextvars.copy_context().run, args=(inner_run,))
        t.start()
        t.join(10)  # blocks this run: a wake routed through it would never arrive

    trio.run(main)
    assert got == ["inner"]


# ------------------------------------------------------------------------- no garbage cycles


def _cyclic_goprims_garbage(run: Any) -> list[str]:
    """The goprims objects that only the cycle collector would have freed after ``run()``."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return sorted(
            {type(o).__name__ for o in gc.garbage if type(o).__module__.startswith("goprims")}
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


ROUNDS = 50


def _thread_waits() -> None:
    ch: Chan[int] = Chan(0)
    idle: Chan[int] = Chan(0)  # never ready: its waits time out or are cancelled
    t = threading.Thread(target=lambda: [ch.send(i) for i in range(ROUNDS)])
    t.start()
    for _ in range(ROUNDS):
        ch.recv()
        with pytest.raises(TimeoutError):
            select(Recv(idle), Recv(Chan[int](0)), timeout=0.0001)
    t.join()


async def _produce(ch: Chan[int]) -> None:
    for i in range(ROUNDS):
        await ch.async_send(i)


async def _async_rounds(
    ch: Chan[int], cancelled_recv: Callable[[Chan[int]], Awaitable[None]]
) -> None:
    """Each round: a fired receive, a select that times out, a receive that is cancelled."""
    idle: Chan[int] = Chan(0)  # never ready: its waits time out or are cancelled
    for _ in range(ROUNDS):
        await ch.async_recv()
        with pytest.raises(TimeoutError):
            await async_select(Recv(idle), Recv(Chan[int](0)), timeout=0.0001)
        await cancelled_recv(idle)


def _asyncio_waits() -> None:
    async def cancelled_recv(idle: Chan[int]) -> None:
        cancelled = asyncio.ensure_future(idle.async_recv())
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled

    async def main() -> None:
        ch: Chan[int] = Chan(0)
        producer = asyncio.ensure_future(_produce(ch))
        await _async_rounds(ch, cancelled_recv)
        await producer

    asyncio.run(main())


def _trio_waits() -> None:
    async def cancelled_recv(idle: Chan[int]) -> None:
        with trio.move_on_after(0.0001) as scope:
            await idle.async_recv()
        assert scope.cancelled_caught

    async def main() -> None:
        ch: Chan[int] = Chan(0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_produce, ch)
            await _async_rounds(ch, cancelled_recv)

    trio.run(main)


@pytest.mark.parametrize("world", [_thread_waits, _asyncio_waits, _trio_waits])
def test_waits_leave_no_reference_cycles_behind(world: Any) -> None:
    # Fired, timed out and cancelled waits (plain and select) must be freed by reference
    # counting: a cycle per wait would hand every rendezvous to the cycle collector.
    assert _cyclic_goprims_garbage(world) == []


# ------------------------------------------------------------------------------------- dispatch


def test_async_waiter_picks_the_running_library() -> None:
    async def under_asyncio() -> str:
        return type(async_waiter()).__name__ + ":" + async_library()

    async def under_trio() -> str:
        return type(async_waiter()).__name__ + ":" + async_library()

    assert asyncio.run(under_asyncio()) == "AsyncioWaiter:asyncio"
    assert trio.run(under_trio) == "TrioWaiter:trio"


def test_async_library_outside_any_task_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        async_library()

"""Once, once_func, once_value and once_only: Go's run-once rules, under real concurrency."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest
import trio
from sync_support import asyncio_thread, start_thread, trio_thread, wait_until

from goprims.sync import CalledTwice, Once, once_func, once_only, once_value

N = 16


def _parked(o: object) -> int:
    return len(o._waiters)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ Once


def test_once_runs_fn_once_under_16_callers_and_all_return_after_it_finished() -> None:
    once = Once()
    calls = 0
    finished = False
    release = threading.Event()

    def fn() -> None:
        nonlocal calls, finished
        calls += 1
        release.wait(10)
        finished = True

    def caller() -> bool:
        once.do(fn)
        return finished  # must already be True when do() returns

    futs = [start_thread(caller) for _ in range(N)]
    wait_until(lambda: calls == 1 and _parked(once) == N - 1, what="15 callers parked")
    assert not any(f.done() for f in futs)
    release.set()
    assert [f.result(10) for f in futs] == [True] * N
    assert calls == 1
    assert once.done


def test_once_ignores_later_functions() -> None:
    once = Once()
    seen: list[str] = []
    once.do(seen.append, "first")
    once.do(seen.append, "second")
    assert seen == ["first"]


def test_once_exception_counts_as_done_and_reaches_only_the_runner() -> None:
    once = Once()
    release = threading.Event()

    def fn() -> None:
        release.wait(10)
        raise KeyError("boom")

    runner = start_thread(once.do, fn)
    wait_until(lambda: once._runner is not None)
    waiter = start_thread(once.do, fn)
    wait_until(lambda: _parked(once) == 1)
    release.set()
    with pytest.raises(KeyError):
        runner.result(10)
    assert waiter.result(10) is None  # a concurrent caller returns normally
    ran: list[int] = []
    once.do(ran.append, 1)  # never retried
    assert ran == []
    assert once.done


def test_once_recursive_call_raises_instead_of_deadlocking() -> None:
    once = Once()

    def fn() -> None:
        once.do(fn)

    with pytest.raises(RuntimeError, match="deadlock"):
        once.do(fn)
    assert once.done


def test_once_async_do_waits_for_a_thread_runner_in_asyncio_and_trio() -> None:
    once = Once()
    release = threading.Event()
    finished: list[bool] = []

    def fn() -> None:
        release.wait(10)
        finished.append(True)

    async def caller() -> bool:
        await once.async_do(fn)
        return bool(finished)

    runner = start_thread(once.do, fn)
    wait_until(lambda: once._runner is not None)
    with asyncio_thread() as aio, trio_thread() as tr:
        a = aio.submit(caller())
        t = tr.submit(caller)
        wait_until(lambda: _parked(once) == 2, what="asyncio and trio callers parked")
        release.set()
        assert a.result(10) is True
        assert t.result(10) is True
    runner.result(10)
    assert finished == [True]


def test_once_async_do_awaits_a_coroutine_function_and_threads_wait_for_it() -> None:
    once = Once()
    log: list[str] = []

    async def init() -> None:
        log.append("start")
        await asyncio.sleep(0)  # a real suspension inside fn
        log.append("end")

    async def main() -> None:
        gate = asyncio.Event()

        async def slow_init() -> None:
            await gate.wait()
            await init()

        first = asyncio.ensure_future(once.async_do(slow_init))
        await asyncio.sleep(0)  # one loop turn: `first` runs up to gate.wait()
        assert once._runner_task is not None
        thread_caller = start_thread(once.do, init)
        second = asyncio.ensure_future(once.async_do(init))
        await asyncio.sleep(0)
        await asyncio.wrap_future(start_thread(wait_until, lambda: _parked(once) == 2))
        gate.set()
        await asyncio.gather(first, second)
        await asyncio.wrap_future(thread_caller)

    asyncio.run(main())
    assert log == ["start", "end"]


def test_once_async_do_recursive_call_from_the_running_task_raises() -> None:
    once = Once()

    async def fn() -> None:
        await once.async_do(fn)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="deadlock"):
            await once.async_do(fn)

    trio.run(main)
    assert once.done


def test_once_cancelled_async_waiter_withdraws_and_the_once_completes() -> None:
    once = Once()
    release = threading.Event()
    runner = start_thread(once.do, lambda: release.wait(10))
    wait_until(lambda: once._runner is not None)

    async def main() -> None:
        task = asyncio.ensure_future(once.async_do(print))
        await asyncio.wrap_future(start_thread(wait_until, lambda: _parked(once) == 1))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert _parked(once) == 0

    async def trio_main() -> None:
        with trio.move_on_after(0.01) as scope:
            await once.async_do(print)
        assert scope.cancelled_caught

    trio.run(trio_main)
    assert _parked(once) == 0
    release.set()
    runner.result(10)
    assert once.done


def test_once_async_do_is_a_trio_checkpoint_when_already_done() -> None:
    once = Once()
    once.do(lambda: None)

    async def main() -> None:
        with trio.CancelScope() as scope:
            scope.cancel()
            await once.async_do(lambda: None)
        assert scope.cancelled_caught

    trio.run(main)


# ------------------------------------------------------------------------------ once_value / func


def test_once_value_computes_once_under_16_callers_and_caches_the_value() -> None:
    calls = 0
    release = threading.Event()

    def compute() -> list[int]:
        nonlocal calls
        calls += 1
        release.wait(10)
        return [42]

    get = once_value(compute)
    futs = [start_thread(get) for _ in range(N)]
    wait_until(lambda: calls == 1 and _parked(get) == N - 1)
    release.set()
    results = [f.result(10) for f in futs]
    assert calls == 1
    assert all(r is results[0] for r in results)
    assert get() is results[0]


def test_once_value_reraises_the_same_exception_on_every_call() -> None:
    calls = 0

    def fail() -> int:
        nonlocal calls
        calls += 1
        raise ValueError("bad config")

    get = once_value(fail)
    errors = []
    for _ in range(3):
        with pytest.raises(ValueError, match="bad config") as info:
            get()
        errors.append(info.value)
    assert calls == 1
    assert errors[0] is errors[1] is errors[2]
    # The traceback still ends in fail(), and does not grow with every call.
    tb = errors[2].__traceback__
    assert tb is not None
    depth = 0
    while tb.tb_next is not None:
        tb = tb.tb_next
        depth += 1
    assert tb.tb_frame.f_code.co_name == "fail"
    assert depth < 6


def test_once_value_concurrent_callers_of_a_failing_fn_all_see_the_exception() -> None:
    release = threading.Event()

    def fail() -> None:
        release.wait(10)
        raise OSError("down")

    get = once_value(fail)
    futs = [start_thread(get) for _ in range(4)]
    wait_until(lambda: _parked(get) == 3)
    release.set()
    excs = [f.exception(10) for f in futs]
    assert all(isinstance(e, OSError) for e in excs)
    assert len({id(e) for e in excs}) == 1


def test_once_value_drops_fn_after_the_call() -> None:
    class Big:
        def __call__(self) -> int:
            return 7

    fn = Big()
    ref = weakref.ref(fn)
    get = once_value(fn)
    del fn
    assert get() == 7
    gc.collect()
    assert ref() is None


def test_once_func_runs_once_returns_none_and_reraises() -> None:
    seen: list[int] = []
    f = once_func(lambda: seen.append(1))
    assert f() is None
    assert f() is None
    assert seen == [1]

    def fail() -> None:
        raise LookupError("x")

    g = once_func(fail)
    with pytest.raises(LookupError) as first:
        g()
    with pytest.raises(LookupError) as second:
        g()
    assert first.value is second.value


# ------------------------------------------------------------------------------------- once_only


def test_once_only_second_call_raises_called_twice() -> None:
    @once_only
    def close(x: int) -> int:
        return x * 2

    assert close(21) == 42
    with pytest.raises(CalledTwice, match="close"):
        close(1)
    with pytest.raises(CalledTwice):
        close(1)
    assert close.__name__ == "close"
    assert issubclass(CalledTwice, RuntimeError)


def test_once_only_counts_a_failed_first_call() -> None:
    def fail() -> None:
        raise ValueError

    guarded = once_only(fail)
    with pytest.raises(ValueError, match=r"^$"):
        guarded()
    with pytest.raises(CalledTwice):
        guarded()


def _once_only_race_round() -> None:
    ran = 0
    release = threading.Event()

    def body() -> str:
        nonlocal ran
        ran += 1
        release.wait(10)
        return "ran"

    guarded = once_only(body)
    start = threading.Barrier(N)

    def call() -> str:
        start.wait(10)
        try:
            return guarded()
        except CalledTwice:
            return "twice"

    futs = [start_thread(call) for _ in range(N)]
    # The N-1 losers raise without waiting for the winner to finish.
    wait_until(lambda: sum(f.done() for f in futs) == N - 1)
    release.set()
    results = sorted(f.result(10) for f in futs)
    assert results == ["ran"] + ["twice"] * (N - 1)
    assert ran == 1


def test_once_only_racing_callers_exactly_one_runs_the_others_raise_at_once() -> None:
    for _ in range(20):
        _once_only_race_round()

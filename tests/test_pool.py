"""Pool: the Executor contract, blocking/overload/closing, reuse, reclaim, tune, release, panics."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

import pytest
from pool_support import (
    Gate,
    Parked,
    Pools,
    Spawner,
    held_pool,
    join_all,
    parked_fixture,
    pools_fixture,
    spawn_fixture,
    worker_held_after_its_task,
    worker_threads,
)

import goprims.pool as gp
from goprims._pool_future import PoolFuture, new_future
from goprims.pool import Pool, PoolClosed, PoolOverload

__all__ = ["parked_fixture", "pools_fixture", "spawn_fixture"]  # fixtures used by name

# ------------------------------------------------------------------------------- construction


def test_invalid_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="Pool: expiry must be > 0 seconds or None, not 0"):
        Pool(expiry=0)
    with pytest.raises(ValueError, match="Pool: expiry must be > 0 seconds or None, not -1"):
        Pool(expiry=-1.0)
    with pytest.raises(ValueError, match="Pool: max_blocking must be >= 0, not -1"):
        Pool(2, max_blocking=-1)
    with pytest.raises(ValueError, match="Pool: prealloc needs a bounded pool"):
        Pool(0, prealloc=True)
    with pytest.raises(TypeError):
        Pool(2.5)  # type: ignore[arg-type]


def test_exceptions_subclass_runtime_error_and_are_exported_at_top_level() -> None:
    import goprims

    assert issubclass(PoolClosed, RuntimeError)
    assert issubclass(PoolOverload, RuntimeError)
    for name in ("Pool", "PoolClosed", "PoolOverload"):
        if hasattr(goprims, name):  # re-exported once goprims/__init__.py lists them
            assert getattr(goprims, name) is getattr(gp, name)


def test_properties_report_cap_running_idle_waiting_free(pools: Pools) -> None:
    unlimited = pools()
    assert (unlimited.cap, unlimited.free, unlimited.running, unlimited.idle) == (-1, -1, 0, 0)
    p = pools(2)
    assert isinstance(p, concurrent.futures.Executor)
    g = Gate()
    f = p.submit(g)
    assert g.started.wait(5)
    assert (p.cap, p.running, p.free, p.idle, p.waiting) == (2, 1, 1, 0, 0)
    g.open()
    f.result(5)
    # The result is set only after the worker is back in the pool.
    assert (p.running, p.free, p.idle) == (0, 2, 1)
    assert "running=0" in repr(p)


# --------------------------------------------------------------------------- Executor contract


def test_submit_future_gets_the_return_value(pools: Pools) -> None:
    p = pools(2)
    assert p.submit(pow, 2, 10).result(5) == 1024
    assert p.submit(dict, a=1).result(5) == {"a": 1}


def test_submit_future_gets_the_exception_and_the_worker_survives(pools: Pools) -> None:
    p = pools(1)

    def boom() -> None:
        raise ValueError("boom")

    f = p.submit(boom)
    exc = f.exception(5)
    assert isinstance(exc, ValueError)
    assert str(exc) == "boom"
    with pytest.raises(ValueError, match="boom"):
        f.result()
    first = worker_threads(p)
    # The same (only) worker runs the next task.
    assert p.submit(threading.current_thread).result(5) is first[0]


def test_map_yields_results_in_input_order(pools: Pools) -> None:
    p = pools(3)
    gates = [Gate() for _ in range(3)]
    it = p.map(lambda i: gates[i](i * 10), range(3))
    for g in reversed(gates):  # finish in reverse order
        assert g.started.wait(5)
        g.open()
    assert list(it) == [0, 10, 20]
    assert list(p.map(pow, [2, 3], [3, 2])) == [8, 9]


def test_map_reraises_a_task_exception_at_its_position(pools: Pools) -> None:
    p = pools(2)
    it = p.map(lambda x: 1 // x, [1, 0, 2])
    assert next(it) == 1
    with pytest.raises(ZeroDivisionError):
        next(it)


def test_futures_work_with_wait_and_as_completed(pools: Pools) -> None:
    p = pools(4)
    fs = [p.submit(pow, i, 2) for i in range(8)]
    done, not_done = concurrent.futures.wait(fs, timeout=5)
    assert len(done) == 8
    assert not not_done
    assert sorted(f.result() for f in concurrent.futures.as_completed(fs, timeout=5)) == [
        i * i for i in range(8)
    ]


def test_with_block_waits_for_tasks_and_ends_every_thread(pools: Pools) -> None:
    ran: list[int] = []
    with pools(3) as p:
        fs = [p.submit(ran.append, i) for i in range(20)]
        threads = worker_threads(p)
    assert all(f.done() for f in fs)
    assert sorted(ran) == list(range(20))
    assert threads
    assert not any(t.is_alive() for t in threads)
    assert not worker_threads(p)


def test_shutdown_without_wait_returns_while_a_task_runs_and_the_task_completes(
    pools: Pools,
) -> None:
    p = pools(2)
    g = Gate()
    f = p.submit(g, "done")
    assert g.started.wait(5)
    p.shutdown(wait=False)
    assert p.closed
    assert not f.done()
    g.open()
    assert f.result(5) == "done"
    p.release(5)
    assert not worker_threads(p)


class _HeldFuture(concurrent.futures.Future[Any]):
    """A Future whose worker pauses just before starting the task (to reach that state)."""

    reached = threading.Event()
    go_on = threading.Event()

    def set_running_or_notify_cancel(self) -> bool:
        type(self).reached.set()
        assert type(self).go_on.wait(10)
        return super().set_running_or_notify_cancel()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> type[_HeldFuture]:
    cls = type("Held", (_HeldFuture,), {"reached": threading.Event(), "go_on": threading.Event()})
    monkeypatch.setattr(gp, "_new_future", cls)
    return cls


@pytest.mark.parametrize("cancel_futures", [True, False])
def test_shutdown_cancel_futures_cancels_only_tasks_not_yet_started(
    pools: Pools, held: type[_HeldFuture], cancel_futures: bool
) -> None:
    p = pools(2)
    ran: list[int] = []
    f = p.submit(ran.append, 1)
    assert held.reached.wait(5)  # handed to a worker, not started
    p.shutdown(wait=False, cancel_futures=cancel_futures)
    held.go_on.set()
    p.release(5)
    assert f.done()
    if cancel_futures:
        assert f.cancelled()
        assert ran == []
    else:
        assert not f.cancelled()
        assert ran == [1]


def test_shutdown_cancel_futures_cancels_accepted_tasks_no_worker_took_yet(pools: Pools) -> None:
    p = pools(3)
    ran: list[str] = []
    with worker_held_after_its_task(p):
        fs = [p.submit(ran.append, "a"), p.submit(ran.append, "b")]
        p.go(ran.append, "go")
        p.shutdown(wait=False, cancel_futures=True)
    p.release(5)
    assert all(f.cancelled() for f in fs)
    assert ran == ["go"]  # a go() task has no future to cancel: it runs


def test_a_future_cancelled_before_its_task_starts_is_skipped(
    pools: Pools, held: type[_HeldFuture]
) -> None:
    p = pools(1)
    ran: list[int] = []
    f = p.submit(ran.append, 1)
    assert held.reached.wait(5)
    assert f.cancel()
    held.go_on.set()
    with pytest.raises(concurrent.futures.CancelledError):
        f.result(5)
    # The worker moves on to the next task.
    assert p.submit(ran.append, 2).result(5) is None
    assert ran == [2]


# -------------------------------------------------------------------------------------- closing


def test_submit_and_go_after_shutdown_raise_pool_closed(pools: Pools) -> None:
    p = pools(2)
    p.shutdown()
    with pytest.raises(PoolClosed):
        p.submit(print)
    with pytest.raises(PoolClosed):
        p.go(print)
    with pytest.raises(RuntimeError):  # what Executor users catch
        p.submit(print)
    p.shutdown()  # a second shutdown is harmless


def test_callers_blocked_at_shutdown_raise_pool_closed(
    pools: Pools, parked: Parked, spawn: Spawner
) -> None:
    p = pools(1)
    g = Gate()
    running = p.submit(g, "ran")
    assert g.started.wait(5)
    ran: list[str] = []
    blocked = [spawn(p.submit, ran.append, "a"), spawn(p.go, ran.append, "b")]
    parked.wait(2)
    assert p.waiting == 2
    p.shutdown(wait=False)
    for f in blocked:
        with pytest.raises(PoolClosed):
            f.result(5)
    assert p.waiting == 0
    g.open()
    assert running.result(5) == "ran"  # the task already accepted still completes
    p.release(5)
    assert ran == []


# ----------------------------------------------------------------------------- full pool: block


def test_full_pool_blocks_submitters_and_serves_them_in_fifo_order(
    pools: Pools, parked: Parked, spawn: Spawner
) -> None:
    p, g = held_pool(pools)
    order: list[int] = []
    accepted = []
    for i in range(5):
        accepted.append(spawn(p.submit, order.append, i))
        parked.wait()  # caller i is queued before caller i + 1 arrives
    assert p.waiting == 5
    assert p.running == 1
    assert p.free == 0
    g.open()
    for f in accepted:
        f.result(5).result(5)
    assert order == [0, 1, 2, 3, 4]
    assert p.waiting == 0


def test_nonblocking_full_pool_raises_overload(pools: Pools) -> None:
    p = pools(1, nonblocking=True)
    g = Gate()
    p.submit(g)
    assert g.started.wait(5)
    with pytest.raises(PoolOverload):
        p.submit(print)
    with pytest.raises(PoolOverload):
        p.go(print)
    assert p.waiting == 0
    g.open()


def test_max_blocking_refuses_callers_beyond_the_cap(
    pools: Pools, parked: Parked, spawn: Spawner
) -> None:
    p = pools(1, max_blocking=2)
    g = Gate()
    p.submit(g)
    assert g.started.wait(5)
    waiting = [spawn(p.submit, pow, 2, 2), spawn(p.submit, pow, 3, 2)]
    parked.wait(2)
    with pytest.raises(PoolOverload):
        p.submit(print)
    with pytest.raises(PoolOverload):
        p.go(print)
    g.open()
    assert sorted(f.result(5).result(5) for f in waiting) == [4, 9]


def test_submit_timeout_raises_timeout_error_and_leaves_no_waiter(pools: Pools) -> None:
    p, g = held_pool(pools)
    with pytest.raises(TimeoutError):
        p.submit_timeout(0, print)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        p.submit_timeout(0.05, print)
    assert time.monotonic() - t0 >= 0.04
    assert p.waiting == 0
    g.open()
    assert p.submit_timeout(5, pow, 2, 3).result(5) == 8


def test_submit_timeout_succeeds_when_a_worker_frees_in_time(
    pools: Pools, parked: Parked, spawn: Spawner
) -> None:
    p, g = held_pool(pools)
    f = spawn(p.submit_timeout, 5.0, pow, 2, 5)
    parked.wait()
    g.open()
    assert f.result(5).result(5) == 32


# -------------------------------------------------------------------------- nested submit policy


def test_nested_submit_to_a_full_pool_raises_overload_instead_of_deadlocking(
    pools: Pools,
) -> None:
    p = pools(1)

    def parent() -> str:
        try:
            p.submit(print)
        except PoolOverload as exc:
            return str(exc)
        return "submitted"

    assert "its own workers" in p.submit(parent).result(5)

    def parent_go() -> str:
        try:
            p.go(print)
        except PoolOverload:
            return "overload"
        return "submitted"

    assert p.submit(parent_go).result(5) == "overload"


def test_nested_submit_with_a_free_worker_runs_and_can_be_awaited(pools: Pools) -> None:
    p = pools(2)

    def parent() -> int:
        return int(p.submit(pow, 2, 4).result(5)) + 1

    assert p.submit(parent).result(5) == 17


def test_nested_submit_timeout_may_wait_on_its_own_pool(pools: Pools, parked: Parked) -> None:
    p = pools(2)
    g = Gate()
    p.submit(g)
    assert g.started.wait(5)

    def parent() -> int:
        return int(p.submit_timeout(5.0, pow, 3, 3).result(5))

    f = p.submit(parent)
    parked.wait()  # the parent waits for its own pool
    assert p.waiting == 1
    g.open()
    assert f.result(5) == 27


def test_nested_submit_to_another_full_pool_waits_as_usual(pools: Pools, parked: Parked) -> None:
    a, b = pools(1), pools(1)
    gb = Gate()
    b.submit(gb)
    assert gb.started.wait(5)
    # A task of pool a waits on full pool b: allowed, b's workers are not blocked by it.
    f = a.submit(lambda: b.submit(pow, 2, 2).result(5))
    parked.wait()
    assert b.waiting == 1
    gb.open()
    assert f.result(5) == 4


# ------------------------------------------------------------------------------- reuse and LIFO


def test_sequential_submits_reuse_one_thread(pools: Pools) -> None:
    p = pools()  # unlimited: a missing idle worker would mean a new thread
    seen = {p.submit(threading.get_ident).result(5) for _ in range(50)}
    assert len(seen) == 1
    assert len(worker_threads(p)) == 1


def gated_thread(gate: Gate) -> threading.Thread:
    """A task: pass ``gate``, then return the worker thread it ran on."""
    gate()
    return threading.current_thread()


def test_idle_workers_are_reused_hottest_first(pools: Pools) -> None:
    p = pools()
    gates = [Gate() for _ in range(3)]
    fs = [p.submit(gated_thread, g) for g in gates]
    threads = []
    for g in gates:
        assert g.started.wait(5)
    for g, f in zip(gates, fs, strict=True):
        g.open()
        threads.append(f.result(5))  # that worker is parked once its result is set
    assert len(set(threads)) == 3
    hottest = threads[-1]
    assert p.submit(threading.current_thread).result(5) is hottest
    assert p.submit(threading.current_thread).result(5) is hottest
    assert p.idle == 3


# ---------------------------------------------------------------------------------- idle reclaim


def test_idle_workers_end_after_expiry_and_active_count_drops(pools: Pools) -> None:
    expiry = 0.2
    # Threads that end on their own (default-pool workers, the timer thread) left by earlier
    # tests would move active_count() during this test: let them end first.
    join_all(
        [t for t in threading.enumerate() if t.name.startswith(("goprims-go", "goprims-timer"))]
    )
    p = pools(expiry=expiry)
    base = threading.active_count()
    gates = [Gate() for _ in range(5)]
    fs = [p.submit(g) for g in gates]
    for g in gates:
        assert g.started.wait(5)
    assert threading.active_count() == base + 5
    threads = worker_threads(p)
    for g in gates:
        g.open()
    for f in fs:
        f.result(5)
    burst_end = time.monotonic()
    assert p.idle == 5
    assert all(t.is_alive() for t in threads)
    join_all(threads)
    reclaimed = time.monotonic() - burst_end
    assert threading.active_count() == base
    assert p.idle == 0
    assert p.running == 0
    assert expiry * 0.9 <= reclaimed < 2 * expiry + 1.0  # the load of CI may delay the joins
    # The pool starts new workers on demand afterwards.
    assert p.submit(pow, 2, 2).result(5) == 4


def test_expiry_none_keeps_idle_workers(pools: Pools) -> None:
    p = pools(2, expiry=None, prealloc=True)
    threads = worker_threads(p)
    assert len(threads) == 2
    assert p.idle == 2
    threads[0].join(0.2)
    assert threads[0].is_alive()
    p.release(5)
    assert not any(t.is_alive() for t in threads)


def test_prealloc_starts_size_workers_up_front_and_again_at_reboot(pools: Pools) -> None:
    p = pools(3, prealloc=True, expiry=5)
    assert len(worker_threads(p)) == 3
    assert p.idle == 3
    p.release(5)
    assert not worker_threads(p)
    p.reboot()
    assert len(worker_threads(p)) == 3
    assert p.idle == 3


# ------------------------------------------------------------------------------------------ tune


def test_tune_up_serves_waiting_submitters_at_once(
    pools: Pools, parked: Parked, spawn: Spawner
) -> None:
    p, g = held_pool(pools)
    gates = [Gate(), Gate()]
    waiting = [spawn(p.submit, gt) for gt in gates]
    parked.wait(2)
    p.tune(3)
    assert p.cap == 3
    for gt in gates:  # both start while the first task still runs
        assert gt.started.wait(5)
    assert p.running == 3
    assert p.waiting == 0
    for gt in [g, *gates]:
        gt.open()
    for f in waiting:
        f.result(5).result(5)


def test_tune_down_ends_busy_workers_after_their_task(pools: Pools) -> None:
    p = pools(4, expiry=5)
    gates = [Gate() for _ in range(4)]
    fs = [p.submit(g) for g in gates]
    for g in gates:
        assert g.started.wait(5)
    threads = worker_threads(p)
    p.tune(2)
    assert p.running == 4
    assert p.free == -2
    for g in gates:
        g.open()
    for f in fs:
        f.result(5)
    assert p.idle == 2
    # The two idle workers take the next two tasks; the two others retired.
    g1, g2 = Gate(), Gate()
    kept = [p.submit(gated_thread, g) for g in (g1, g2)]
    assert g1.started.wait(5)
    assert g2.started.wait(5)
    with pytest.raises(TimeoutError):  # at most 2 tasks run at once now
        p.submit_timeout(0, print)
    g1.open()
    g2.open()
    kept_threads = {f.result(5) for f in kept}
    assert len(kept_threads) == 2
    assert kept_threads <= set(threads)
    join_all([t for t in threads if t not in kept_threads])
    assert set(worker_threads(p)) == kept_threads


def test_tune_down_ends_surplus_idle_workers_now_coldest_first(pools: Pools) -> None:
    p = pools(expiry=5)
    gates = [Gate() for _ in range(4)]
    fs = [p.submit(gated_thread, g) for g in gates]
    for g in gates:
        assert g.started.wait(5)
    order = []
    for g, f in zip(gates, fs, strict=True):
        g.open()
        order.append(f.result(5))
    p.tune(1)
    join_all(order[:3])  # the three coldest end without any further task
    assert order[3].is_alive()
    assert p.idle == 1
    p.tune(0)
    assert p.cap == -1


# ------------------------------------------------------------------------------ release, reboot


def test_release_waits_for_running_tasks_then_every_thread_has_ended(
    pools: Pools, spawn: Spawner
) -> None:
    p = pools(3)
    g = Gate()
    f = p.submit(g, 7)
    assert g.started.wait(5)
    threads = worker_threads(p)
    released = spawn(p.release)
    with pytest.raises(concurrent.futures.TimeoutError):
        released.result(0.05)  # still waiting for the task
    g.open()
    released.result(5)
    assert f.result(0) == 7
    assert not any(t.is_alive() for t in threads)
    assert p.closed
    assert p.idle == 0


def test_release_timeout_raises_while_busy_and_a_later_release_completes(pools: Pools) -> None:
    p = pools(2)
    g = Gate()
    p.submit(g)
    assert g.started.wait(5)
    with pytest.raises(TimeoutError):
        p.release(timeout=0.05)
    assert p.closed
    with pytest.raises(PoolClosed):
        p.submit(print)
    g.open()
    p.release(timeout=5)
    assert not worker_threads(p)


def test_reboot_reopens_a_released_pool(pools: Pools) -> None:
    p = pools(2)
    assert p.submit(pow, 2, 2).result(5) == 4
    p.release()
    p.tune(1)  # a closed pool only records the new capacity
    assert p.cap == 1
    assert not worker_threads(p)
    p.reboot()
    assert not p.closed
    assert p.cap == 1
    assert p.submit(pow, 2, 3).result(5) == 8
    p.reboot()  # no-op on an open pool
    assert not p.closed


def test_reboot_returns_a_pending_release_at_once(
    pools: Pools, parked: Parked, spawn: Spawner
) -> None:
    p, g = held_pool(pools)
    released = spawn(p.release)
    parked.wait()
    p.reboot()
    released.result(5)
    assert not p.closed
    g.open()
    assert p.submit(pow, 2, 2).result(5) == 4  # the old worker is still in the pool


def test_release_from_inside_a_task_waits_for_the_other_workers_only(
    pools: Pools, parked: Parked
) -> None:
    p = pools(2)
    g = Gate()
    other = p.submit(g, "other")
    assert g.started.wait(5)
    f = p.submit(p.release, 5)
    parked.wait()  # waiting for the other worker, not for itself
    assert not f.done()
    g.open()
    assert f.result(5) is None
    assert other.result(0) == "other"
    p.release(5)

    q = pools(2)
    assert q.submit(q.release, 5).result(5) is None  # alone in the pool: returns at once
    assert q.closed


# ------------------------------------------------------------------------- go() and exceptions


def test_go_exception_goes_to_the_panic_handler_and_the_worker_survives(pools: Pools) -> None:
    caught: list[BaseException] = []
    done = threading.Event()

    def handler(exc: BaseException) -> None:
        caught.append(exc)
        done.set()

    p = pools(1, panic_handler=handler)
    p.go(lambda: 1 // 0)
    assert done.wait(5)
    assert isinstance(caught[0], ZeroDivisionError)
    assert p.submit(pow, 2, 2).result(5) == 4
    assert len(worker_threads(p)) == 1


def test_go_exception_without_handler_goes_to_threading_excepthook(
    pools: Pools, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[threading.ExceptHookArgs] = []
    done = threading.Event()

    def hook(args: threading.ExceptHookArgs) -> None:
        seen.append(args)
        done.set()

    monkeypatch.setattr(threading, "excepthook", hook)
    p = pools(1)
    p.go(int, "x")
    assert done.wait(5)
    assert seen[0].exc_type is ValueError
    assert seen[0].thread is not None
    assert seen[0].thread.name.startswith(p.name)
    assert p.submit(pow, 2, 2).result(5) == 4


def test_an_exception_in_the_panic_handler_goes_to_threading_excepthook(
    pools: Pools, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException | None] = []
    done = threading.Event()

    def hook(args: threading.ExceptHookArgs) -> None:
        seen.append(args.exc_value)
        done.set()

    def bad_handler(exc: BaseException) -> None:
        raise RuntimeError("handler broke")

    monkeypatch.setattr(threading, "excepthook", hook)
    p = pools(1, panic_handler=bad_handler)
    p.go(int, "x")
    assert done.wait(5)
    assert isinstance(seen[0], RuntimeError)
    assert isinstance(seen[0].__context__, ValueError)
    assert p.submit(pow, 2, 2).result(5) == 4


def test_submit_exceptions_go_to_the_future_not_the_panic_handler(pools: Pools) -> None:
    caught: list[BaseException] = []
    p = pools(1, panic_handler=caught.append)
    assert isinstance(p.submit(int, "x").exception(5), ValueError)
    assert caught == []


def test_default_pool_is_unlimited_shared_and_names_threads_goprims_go() -> None:
    p = gp.default_pool()
    assert p is gp.default_pool()
    assert p.cap == -1
    assert p.name == "goprims-go"
    assert p.expiry == 1.0
    assert p.submit(threading.current_thread).result(5).name.startswith("goprims-go-")


def test_goprims_go_runs_on_the_default_pool() -> None:
    import goprims

    names: list[str] = []
    done = threading.Event()
    goprims.go(lambda: (names.append(threading.current_thread().name), done.set()))
    assert done.wait(5)
    assert names[0].startswith("goprims-go-")


def test_default_pool_is_replaced_once_shut_down() -> None:
    old = gp.default_pool()
    old.shutdown(wait=True)
    new = gp.default_pool()
    assert new is not old
    assert not new.closed
    assert new.submit(pow, 2, 2).result(5) == 4


# ------------------------------------------------------------------------- robustness, liveness


def test_accepted_tasks_may_wait_for_each_other_up_to_the_capacity(pools: Pools) -> None:
    # Every accepted task gets a worker of its own, even when the whole burst was accepted
    # before the one woken worker could run: a task is never queued behind a running one.
    p = pools(4)
    events = [threading.Event() for _ in range(4)]

    def link(i: int) -> int:
        if i + 1 < len(events):
            assert events[i + 1].wait(5), f"task {i + 1} never started"
        events[i].set()
        return i

    with worker_held_after_its_task(p):
        fs = [p.submit(link, i) for i in range(4)]  # task 0 waits for 1, 1 for 2, 2 for 3
    assert [f.result(10) for f in fs] == [0, 1, 2, 3]


def test_a_burst_on_an_unlimited_pool_gives_every_task_a_thread(pools: Pools) -> None:
    # 20 go() tasks that can only finish once all 20 run at the same time.
    p = pools()
    barrier = threading.Barrier(20)
    passed: list[int] = []
    with worker_held_after_its_task(p):
        for _ in range(20):
            p.go(lambda: passed.append(barrier.wait(10)))
    p.release(15)
    assert sorted(passed) == list(range(20))
    assert not barrier.broken


def test_a_worker_thread_that_cannot_start_fails_the_submit_and_leaves_counts_clean(
    pools: Pools, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = pools(2)
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        if self.name.startswith(p.name):
            raise RuntimeError("can't start new thread")
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(RuntimeError, match="can't start"):
        p.submit(print)
    assert (p.running, p.idle, p.free) == (0, 0, 2)
    monkeypatch.setattr(threading.Thread, "start", real_start)
    assert p.submit(pow, 2, 2).result(5) == 4


def test_a_broken_excepthook_does_not_kill_the_worker(
    pools: Pools, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: threading.ExceptHookArgs) -> None:
        raise OSError("hook broke")

    monkeypatch.setattr(threading, "excepthook", broken)
    p = pools(1)
    p.go(int, "x")
    thread = p.submit(threading.current_thread).result(5)  # the same worker, still alive
    assert thread.is_alive()
    assert worker_threads(p) == [thread]
    assert "hook broke" in capsys.readouterr().err


# ------------------------------------------------------------------- the Future given to tasks


def _parked_on(f: concurrent.futures.Future[Any], t: threading.Thread, waiters: str) -> None:
    """Wait (joining ``t`` briefly, never sleeping) until ``t`` is parked on ``f``."""
    deadline = time.monotonic() + 5
    while not (f._condition._waiters if waiters == "result" else f._waiters):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        assert t.is_alive()
        t.join(0.001)


def test_task_future_wakes_a_result_caller_parked_before_completion() -> None:
    f = new_future()
    assert f.set_running_or_notify_cancel()
    assert f.running()
    got: list[Any] = []
    t = threading.Thread(target=lambda: got.append(f.result(10)))
    t.start()
    _parked_on(f, t, "result")
    f.set_result(42)
    t.join(5)
    assert got == [42]
    assert f.done()


def test_task_future_notifies_wait_and_runs_callbacks_once() -> None:
    f = new_future()
    calls: list[Any] = []
    f.add_done_callback(lambda fut: calls.append(fut.exception()))
    assert f.set_running_or_notify_cancel()
    done: list[Any] = []
    t = threading.Thread(target=lambda: done.append(concurrent.futures.wait([f], timeout=10)))
    t.start()
    _parked_on(f, t, "wait")
    err = ValueError("x")
    f.set_exception(err)
    t.join(5)
    assert len(done[0].done) == 1
    assert calls == [err]
    with pytest.raises(concurrent.futures.InvalidStateError):
        f.set_result(1)  # a settled future stays settled


def test_task_future_cancelled_before_running_is_not_started() -> None:
    f = new_future()
    calls: list[bool] = []
    f.add_done_callback(lambda fut: calls.append(fut.cancelled()))
    assert f.cancel()
    assert not f.set_running_or_notify_cancel()
    assert calls == [True]
    with pytest.raises(concurrent.futures.CancelledError):
        f.result(0)


def test_task_future_nobody_looked_at_is_settled_without_a_condition(pools: Pools) -> None:
    p = pools(2)
    fs = [p.submit(pow, 2, i) for i in range(10)]
    p.release(5)  # every task has finished and its future was settled
    assert all(f._cond is None for f in fs if isinstance(f, PoolFuture))
    assert [f.result(0) for f in fs] == [2**i for i in range(10)]
    assert all(f.done() and not f.running() and not f.cancelled() for f in fs)
    assert "finished" in repr(fs[0])


def test_task_future_first_looked_at_while_running_still_notifies(pools: Pools) -> None:
    p = pools(1)
    g = Gate()
    f = p.submit(g, "v")
    assert g.started.wait(5)
    assert f.running()  # creates the condition while the task runs
    seen: list[Any] = []
    f.add_done_callback(lambda fut: seen.append(fut.result()))
    g.open()
    assert f.result(5) == "v"
    p.release(5)
    assert seen == ["v"]

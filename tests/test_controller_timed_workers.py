"""TimedWorkerQueue: the cases of upstream's timed_workers_test.go (TestExecute,
TestExecuteDelayed, TestCancel, TestCancelAndRead, TestRunningWorkerCompletionDoesNotRemove-
Replacement), on a FakeClock; fn runs on a pool, so tests wait on events, never on sleeps."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Callable, Hashable

import pytest
import trio

from goprims.clock import FakeClock
from goprims.controller import TimedWorkerQueue, timed_workers


class Fired:
    """fn for the queue: counts calls per key; ``expect(n)`` waits until n calls happened."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.calls: Counter[Hashable] = Counter()
        self.args: dict[Hashable, tuple[object, ...]] = {}

    def __call__(self, key: Hashable, *args: object) -> None:
        with self.cond:
            self.calls[key] += 1
            self.args[key] = args
            self.cond.notify_all()

    def expect(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: sum(self.calls.values()) >= n, timeout=10)


def test_work_due_now_runs_at_once() -> None:
    fired = Fired()
    clock = FakeClock(100.0)
    q = TimedWorkerQueue(fired, clock)
    for k in "12345":
        assert q.add_work(k, 100.0, "arg", k)
    assert q.add_work("past", 50.0)  # already past: at once too
    fired.expect(6)
    q.join(10)
    assert fired.calls == Counter({k: 1 for k in [*"12345", "past"]})
    assert fired.args["3"] == ("arg", "3")
    assert len(q) == 0


def test_delayed_work_fires_once_at_fire_at_and_duplicates_are_ignored() -> None:
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    for k in "12345":
        assert q.add_work(k, 10.0)
    for k in "12345":
        assert not q.add_work(k, 10.0)  # duplicate: ignored
        assert not q.add_work(k, 1.0)  # even with another time
    assert q.fire_at("1") == 10.0
    clock.step(9.999)
    assert sum(fired.calls.values()) == 0
    clock.step(0.001)
    fired.expect(5)
    q.join(10)
    assert fired.calls == Counter({k: 1 for k in "12345"})
    clock.step(100.0)
    assert sum(fired.calls.values()) == 5  # once only


def test_cancel_prevents_the_work() -> None:
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    for k in "12345":
        q.add_work(k, 10.0)
    assert q.cancel_work("2")
    assert q.cancel_work("4")
    assert not q.cancel_work("4")  # not present any more
    assert not q.cancel_work("unknown")
    clock.step(11.0)
    fired.expect(3)
    q.join(10)
    assert fired.calls == Counter({"1": 1, "3": 1, "5": 1})
    assert not clock.has_waiters()  # the cancelled timers were withdrawn


def test_a_cancelled_key_can_be_added_again() -> None:
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    for k in "12345":
        q.add_work(k, 10.0)
    q.cancel_work("2")
    q.cancel_work("4")
    assert q.add_work("2", 10.0)
    clock.step(11.0)
    fired.expect(4)
    q.join(10)
    assert fired.calls == Counter({"1": 1, "2": 1, "3": 1, "5": 1})


def test_a_key_is_free_again_after_its_work_ran() -> None:
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    q.add_work("k", 1.0)
    clock.step(1.0)
    fired.expect(1)
    q.join(10)
    assert "k" not in q
    assert q.add_work("k", 2.0)
    clock.step(1.0)
    fired.expect(2)
    q.join(10)


@pytest.mark.parametrize("scheduled", [False, True], ids=["immediate", "scheduled"])
def test_a_running_work_finishing_does_not_remove_its_replacement(scheduled: bool) -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[Hashable] = []

    def fn(key: Hashable) -> None:
        runs.append(key)
        started.set()
        assert release.wait(10)

    clock = FakeClock()
    q = TimedWorkerQueue(fn, clock)
    if scheduled:
        q.add_work("pod", 1.0)
        clock.step(1.0)
    else:
        q.add_work("pod", 0.0)
    assert started.wait(10)
    assert not q.cancel_work("pod")  # already running: too late to stop it
    assert q.add_work("pod", 10.0)  # the replacement
    release.set()
    q.join(10)  # the first run has finished
    assert q.fire_at("pod") == 10.0  # the replacement survived
    assert q.cancel_work("pod")
    assert "pod" not in q
    q.join(10)
    assert runs == ["pod"]


def test_cancel_between_the_timer_and_the_worker_stops_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The timer fired and handed the work to the pool, but no worker has started it yet: a
    # cancel in that window still stops it (and says so). The pool is replaced by a recorder so
    # the window is held open by hand.
    handed: list[tuple[Callable[..., object], tuple[object, ...]]] = []

    class HeldPool:
        def go(self, fn: Callable[..., object], *args: object) -> None:
            handed.append((fn, args))

    monkeypatch.setattr(timed_workers, "default_pool", HeldPool)
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    q.add_work("k", 1.0)
    clock.step(1.0)
    assert len(handed) == 1
    assert "k" in q
    assert q.cancel_work("k")
    fn, args = handed.pop()
    fn(*args)  # the worker finally gets to it
    assert sum(fired.calls.values()) == 0
    q.cancel_and_wait(0)  # nothing left running


def test_an_exception_in_fn_is_reported_and_frees_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(args.exc_value))

    def boom(key: Hashable) -> None:
        raise RuntimeError(f"evict {key} failed")

    q = TimedWorkerQueue(boom, FakeClock())
    q.add_work("k", 0.0)
    q.join(10)
    assert [str(e) for e in reported] == ["evict k failed"]
    assert "k" not in q


def test_cancel_and_wait_withdraws_pending_work_and_waits_for_running_work() -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def fn(key: Hashable) -> None:
        started.set()
        assert release.wait(10)
        finished.set()

    clock = FakeClock()
    q = TimedWorkerQueue(fn, clock)
    q.add_work("running", 0.0)
    q.add_work("pending", 5.0)
    assert started.wait(10)
    waiter = threading.Thread(target=q.cancel_and_wait, args=(10,))
    waiter.start()
    waiter.join(0.05)
    assert waiter.is_alive()
    assert not finished.is_set()
    release.set()
    waiter.join()
    assert finished.is_set()
    assert "pending" not in q
    clock.step(10.0)
    assert len(q) == 0


def test_cancel_all_withdraws_pending_work() -> None:
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    for i in range(10):
        q.add_work(i, 5.0 + i)
    assert q.cancel_all() == 10
    clock.step(100.0)
    q.join(10)
    assert sum(fired.calls.values()) == 0
    assert len(q) == 0


def test_nan_fire_at_is_refused() -> None:
    q = TimedWorkerQueue(print, FakeClock())
    with pytest.raises(ValueError, match="NaN"):
        q.add_work("k", float("nan"))


def test_async_cancel_and_wait_under_asyncio_and_trio() -> None:
    fired = Fired()
    q = TimedWorkerQueue(fired, FakeClock())
    q.add_work("a", 0.0)
    asyncio.run(q.async_join(10))
    q.add_work("b", 0.0)
    trio.run(q.async_join, 10)
    assert fired.calls == Counter({"a": 1, "b": 1})
    q.add_work("c", 1.0)
    asyncio.run(q.async_cancel_and_wait(10))
    q.add_work("d", 1.0)
    trio.run(q.async_cancel_and_wait, 10)
    assert len(q) == 0


def test_update_work_replaces_a_pending_work() -> None:
    fired = Fired()
    clock = FakeClock()
    q = TimedWorkerQueue(fired, clock)
    assert q.update_work("k", 10.0, "old")  # not present: added
    assert not q.update_work("k", 10.0, "same-time")  # same time: kept, args unchanged
    assert q.update_work("k", 5.0, "new")
    assert q.fire_at("k") == 5.0
    assert clock.waiters() == 1
    clock.step(5.0)
    fired.expect(1)
    q.join(10)
    clock.step(10.0)
    q.join(10)
    assert fired.calls == Counter({"k": 1})
    assert fired.args["k"] == ("new",)


def test_update_work_leaves_a_started_work_alone() -> None:
    started = threading.Event()
    release = threading.Event()

    def fn(key: Hashable) -> None:
        started.set()
        assert release.wait(10)

    q = TimedWorkerQueue(fn, FakeClock())
    q.add_work("k", 0.0)
    assert started.wait(10)
    assert not q.update_work("k", 50.0)
    release.set()
    q.join(10)
    assert "k" not in q


def test_update_work_to_a_past_time_runs_at_once() -> None:
    fired = Fired()
    clock = FakeClock(100.0)
    q = TimedWorkerQueue(fired, clock)
    q.add_work("k", 200.0, 1)
    assert q.update_work("k", 50.0, 2)
    fired.expect(1)
    q.join(10)
    assert fired.args["k"] == (2,)
    assert not clock.has_waiters()


def test_concurrent_adds_cancels_and_steps_conserve_every_work() -> None:
    # Every accepted work (a unique token) ends exactly one way: it ran once, a cancel withdrew
    # it, or it is still pending at the end. Nothing runs twice or is lost.
    # Which way the random works end depends on the scheduling (under load a pool worker may not
    # get to any due work before a client cancels it, and the stepper may be done before the
    # clients add anything), so each client also adds one work on a key of its own that it
    # withdraws, and one that nobody cancels and a last step makes due: both ways are exercised
    # whatever the interleaving.
    lock = threading.Lock()
    ran: Counter[int] = Counter()

    def fn(key: Hashable, token: int) -> None:
        with lock:
            ran[token] += 1

    clock = FakeClock()
    q = TimedWorkerQueue(fn, clock)
    tokens = iter(range(1_000_000))
    accepted = 0
    withdrawn = 0
    start = threading.Barrier(5)

    def client(seed: int) -> None:
        nonlocal accepted, withdrawn
        rng = random.Random(seed)
        start.wait()
        with lock:
            withdrawn_token, kept_token = next(tokens), next(tokens)
        # Never due before its cancel: the fake time ends near 52.
        assert q.add_work(("withdrawn", seed), clock.now() + 1000, withdrawn_token)
        assert q.add_work(("kept", seed), clock.now() + 2, kept_token)
        with lock:
            accepted += 2
        for i in range(400):
            key = rng.randrange(12)
            op = rng.random()
            with lock:
                token = next(tokens)
            at = clock.now() + rng.choice([0.0, 0.5, 1.0, 2.0])
            if op < 0.6:
                ok = q.add_work(key, at, token)
                with lock:
                    accepted += ok
            else:
                ok = q.cancel_work(key)
                with lock:
                    withdrawn += ok
            if i == 200:
                assert q.cancel_work(("withdrawn", seed))
                with lock:
                    withdrawn += 1

    def stepper() -> None:
        start.wait()
        for _ in range(200):
            clock.step(0.25)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(4)]
    threads.append(threading.Thread(target=stepper))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clock.step(2)  # every "kept" work is due now, however early the stepper finished
    q.join(10)
    left = q.cancel_all()
    q.join(10)
    assert all(n == 1 for n in ran.values())  # nothing ran twice
    assert len(q) == 0
    assert sum(ran.values()) + withdrawn + left == accepted
    assert sum(ran.values()) >= 4  # at least the four "kept" works
    assert withdrawn >= 4  # at least the four "withdrawn" ones

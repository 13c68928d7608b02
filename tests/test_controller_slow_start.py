"""slow_start_batch: batches of k, 2k, 4k..., stop after the first failing batch, count of
successes (upstream's slowStartBatch, replica_set.go, and its use in manageReplicas)."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest
import trio

from goprims import Pool
from goprims.controller import async_slow_start_batch, batch_sizes, slow_start_batch


class Recorder:
    """fn for slow_start_batch: numbers its calls, records which batch each ran in (by the
    number of calls started before it), fails the calls listed in ``fail``."""

    def __init__(self, fail: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.calls: list[int] = []
        self.fail = fail

    def __call__(self) -> None:
        with self.lock:
            n = next(self.counter)
            self.calls.append(n)
        if n in self.fail:
            raise RuntimeError(f"call {n} failed")


@pytest.mark.parametrize(
    ("count", "initial", "sizes"),
    [
        (0, 1, []),
        (1, 1, [1]),
        (10, 1, [1, 2, 4, 3]),
        (15, 1, [1, 2, 4, 8]),
        (16, 1, [1, 2, 4, 8, 1]),
        (5, 10, [5]),
        (100, 10, [10, 20, 40, 30]),
    ],
)
def test_batch_sizes_double_from_the_initial_size(
    count: int, initial: int, sizes: list[int]
) -> None:
    assert list(batch_sizes(count, initial)) == sizes
    assert sum(sizes) == count


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        slow_start_batch(-1, 1, lambda: None)
    with pytest.raises(ValueError, match="initial_batch_size"):
        slow_start_batch(3, 0, lambda: None)
    with pytest.raises(TypeError):
        slow_start_batch(2.5, 1, lambda: None)  # type: ignore[arg-type]


def test_all_succeed_every_call_runs_once() -> None:
    rec = Recorder()
    assert slow_start_batch(10, 1, rec) == (10, None)
    assert sorted(rec.calls) == list(range(1, 11))


def test_zero_count_calls_nothing() -> None:
    rec = Recorder()
    assert slow_start_batch(0, 1, rec) == (0, None)
    assert rec.calls == []


def test_a_failure_in_the_third_batch_stops_before_the_fourth() -> None:
    # Batches 1 (call 1), 2 (calls 2-3), 4 (calls 4-7): call 4 fails, so calls 8-10 never run.
    rec = Recorder(fail={4})
    successes, err = slow_start_batch(10, 1, rec)
    assert successes == 6
    assert isinstance(err, RuntimeError)
    assert str(err) == "call 4 failed"
    assert sorted(rec.calls) == list(range(1, 8))


def test_a_failure_in_the_first_batch_costs_one_call() -> None:
    rec = Recorder(fail={1})
    successes, err = slow_start_batch(500, 1, rec)
    assert (successes, rec.calls) == (0, [1])
    assert err is not None


def test_several_failures_in_a_batch_count_and_return_the_first_by_call_order() -> None:
    calls = itertools.count()
    lock = threading.Lock()

    def fn() -> None:
        with lock:
            i = next(calls)
        if i in (3, 5, 6):  # all three in the batch of calls 3..6
            raise ValueError(i)

    successes, err = slow_start_batch(20, 1, fn)
    assert successes == 1 + 2 + 1
    assert isinstance(err, ValueError)
    assert err.args == (3,)


def test_a_batch_runs_its_calls_concurrently() -> None:
    # The 4 calls of the third batch all wait for each other: only concurrent calls get through.
    barrier = threading.Barrier(4, timeout=10)
    started = itertools.count(1)
    lock = threading.Lock()

    def fn() -> None:
        with lock:
            n = next(started)
        if n >= 4:
            barrier.wait()

    assert slow_start_batch(7, 1, fn) == (7, None)


def test_the_next_batch_starts_only_after_the_previous_one_finished() -> None:
    # Call n (numbered by start order) of the batch covering calls [lo, hi) must see at least lo
    # calls finished (the earlier batches) and fewer than hi (its own batch is not done).
    finished = 0
    seen: list[int] = []
    lock = threading.Lock()

    def fn() -> None:
        nonlocal finished
        with lock:
            seen.append(finished)
        with lock:
            finished += 1

    assert slow_start_batch(15, 1, fn) == (15, None)
    lo = 0
    for size in (1, 2, 4, 8):
        for n in range(lo, lo + size):
            assert lo <= seen[n] < lo + size, (n, seen)
        lo += size


def test_runs_on_the_given_pool() -> None:
    names: set[str] = set()
    lock = threading.Lock()

    def fn() -> None:
        with lock:
            names.add(threading.current_thread().name)

    with Pool(2, name="slowstart") as pool:
        assert slow_start_batch(9, 1, fn, pool=pool) == (9, None)
    assert names
    assert all(n.startswith("slowstart") for n in names)


def test_async_slow_start_under_asyncio() -> None:
    rec = Recorder(fail={4})
    successes, err = asyncio.run(async_slow_start_batch(10, 1, rec))
    assert successes == 6
    assert isinstance(err, RuntimeError)
    assert sorted(rec.calls) == list(range(1, 8))


def test_async_slow_start_under_trio() -> None:
    rec = Recorder()

    async def main() -> tuple[int, BaseException | None]:
        return await async_slow_start_batch(12, 2, rec)

    assert trio.run(main) == (12, None)
    assert sorted(rec.calls) == list(range(1, 13))

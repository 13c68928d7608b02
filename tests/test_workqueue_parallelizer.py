"""parallelize_until: client-go parallelizer.go."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from goprims.workqueue import parallelize_until


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pieces: Counter[int] = Counter()
        self.threads: set[int] = set()

    def __call__(self, piece: int) -> None:
        with self.lock:
            self.pieces[piece] += 1
            self.threads.add(threading.get_ident())


@pytest.mark.parametrize("chunk_size", [0, 1, 3, 7, 1000])
@pytest.mark.parametrize("workers", [1, 4, 16])
def test_every_piece_is_processed_exactly_once(workers: int, chunk_size: int) -> None:
    rec = Recorder()
    parallelize_until(workers, 100, rec, chunk_size=chunk_size)
    assert rec.pieces == Counter(range(100))


def test_no_more_workers_than_chunks() -> None:
    rec = Recorder()
    parallelize_until(16, 10, rec, chunk_size=5)  # two chunks
    assert len(rec.threads) <= 2
    rec = Recorder()
    parallelize_until(8, 1, rec)  # one piece: runs in the caller
    assert rec.threads == {threading.get_ident()}


def test_workers_run_pieces_concurrently() -> None:
    barrier = threading.Barrier(4, timeout=10)
    parallelize_until(4, 4, lambda _: barrier.wait())  # deadlocks unless 4 run at once


def test_a_chunk_is_processed_by_one_worker_in_order() -> None:
    order: dict[int, list[int]] = {}
    lock = threading.Lock()

    def fn(piece: int) -> None:
        with lock:
            order.setdefault(threading.get_ident(), []).append(piece)

    parallelize_until(3, 30, fn, chunk_size=10)
    for pieces in order.values():
        chunks = [pieces[i : i + 10] for i in range(0, len(pieces), 10)]
        for c in chunks:
            assert c == list(range(c[0], c[0] + 10))
            assert c[0] % 10 == 0


def test_zero_pieces_returns_at_once() -> None:
    parallelize_until(4, 0, lambda _: pytest.fail("called"))


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="parallelize_until: workers must be >= 1, got 0"):
        parallelize_until(0, 10, lambda _: None)
    with pytest.raises(ValueError, match="parallelize_until: pieces must be >= 0, got -1"):
        parallelize_until(2, -1, lambda _: None)


class FakeCtx:
    """The part of a Context that parallelize_until reads."""

    def __init__(self) -> None:
        self.error: Exception | None = None

    def err(self) -> Exception | None:
        return self.error


def test_a_done_context_stops_further_pieces() -> None:
    ctx = FakeCtx()
    rec = Recorder()

    def fn(piece: int) -> None:
        rec(piece)
        if piece == 4:
            ctx.error = Exception("canceled")

    parallelize_until(1, 100, fn, ctx=ctx)
    assert sorted(rec.pieces) == [0, 1, 2, 3, 4]


def test_an_already_done_context_runs_nothing() -> None:
    ctx = FakeCtx()
    ctx.error = Exception("canceled")
    parallelize_until(4, 100, lambda _: pytest.fail("called"), ctx=ctx)


def test_goprims_context_cancel_stops_the_workers() -> None:
    context = pytest.importorskip("goprims.context")
    ctx, cancel = context.with_cancel(context.background())
    seen = Recorder()

    def fn(piece: int) -> None:
        seen(piece)
        if piece == 10:
            cancel()

    parallelize_until(2, 10_000, fn, chunk_size=1, ctx=ctx)
    assert 11 <= len(seen.pieces) < 10_000
    assert ctx.err() is not None


def test_an_exception_stops_new_pieces_and_is_reraised_after_all_workers_stop() -> None:
    rec = Recorder()

    def fn(piece: int) -> None:
        rec(piece)
        if piece == 3:
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        parallelize_until(2, 10_000, fn)
    assert len(rec.pieces) < 10_000


def test_an_exception_in_the_callers_share_is_reraised_too() -> None:
    caller = threading.get_ident()

    def fn(piece: int) -> None:
        if threading.get_ident() == caller:
            raise RuntimeError("in caller")

    with pytest.raises(RuntimeError, match="in caller"):
        parallelize_until(1, 5, fn)

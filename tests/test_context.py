"""Context: cancellation trees, deadlines on an injectable clock, values, done() in select."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest
import trio
from sync_support import asyncio_thread, start_thread, trio_thread, wait_until

from goprims.chan import Chan, Recv, async_select, select
from goprims.clock import FakeClock
from goprims.context import (
    Canceled,
    Context,
    DeadlineExceeded,
    after_func,
    background,
    cause,
    todo,
    with_cancel,
    with_cancel_cause,
    with_deadline,
    with_deadline_cause,
    with_timeout,
    with_timeout_cause,
    with_value,
    without_cancel,
)


def is_done(ctx: Context) -> bool:
    """True if ctx.done() is closed (a receive completes at once with ok=False)."""
    try:
        _, ok = ctx.done().recv_ok(timeout=0)
    except TimeoutError:
        return False
    assert not ok  # a done channel never carries a value
    return True


# -------------------------------------------------------------------------------------- basics


def test_background_is_never_done_and_has_nothing() -> None:
    bg = background()
    assert bg is background()
    assert bg.err() is None
    assert bg.deadline() is None
    assert bg.value("k") is None
    assert not is_done(bg)
    assert bg.done() is bg.done()
    assert not is_done(todo())
    assert todo().err() is None


def test_with_cancel_cancels_child_with_canceled_and_is_idempotent() -> None:
    ctx, cancel = with_cancel(background())
    assert ctx.err() is None
    assert not is_done(ctx)
    cancel()
    err = ctx.err()
    assert isinstance(err, Canceled)
    assert not isinstance(err, TimeoutError)
    assert is_done(ctx)
    cancel()
    cancel()
    assert ctx.err() is err  # idempotent: same error, nothing else happens


def test_deadline_exceeded_is_a_timeout_error() -> None:
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert str(DeadlineExceeded()) == "context deadline exceeded"
    assert str(Canceled()) == "context canceled"


def test_with_cancel_rejects_non_context_parent() -> None:
    with pytest.raises(TypeError):
        with_cancel(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- propagation


def test_cancel_propagates_to_all_descendants_never_to_parent_or_siblings() -> None:
    root, cancel_root = with_cancel(background())
    parent, cancel_parent = with_cancel(root)
    sibling, _ = with_cancel(root)
    a, _ = with_cancel(parent)
    b = with_value(parent, "k", "v")  # a value node in between
    b1, _ = with_cancel(b)
    b11, _ = with_timeout(b1, 3600, clock=FakeClock())
    c = with_value(b11, "k2", 2)
    cancel_parent()
    for d in (parent, a, b, b1, b11, c):
        assert isinstance(d.err(), Canceled), d
        assert is_done(d)
    assert root.err() is None
    assert not is_done(root)
    assert sibling.err() is None
    assert not is_done(sibling)
    cancel_root()
    assert isinstance(sibling.err(), Canceled)


def test_cancelling_a_child_does_not_cancel_parent_or_siblings() -> None:
    parent, cancel = with_cancel(background())
    _child, cancel_child = with_cancel(parent)
    other, _ = with_cancel(parent)
    cancel_child()
    assert parent.err() is None
    assert other.err() is None
    cancel()


def test_children_of_a_done_parent_are_born_done() -> None:
    clock = FakeClock()
    parent, cancel = with_cancel(background())
    cancel()
    child, _ = with_cancel(parent)
    timed, _ = with_timeout(parent, 10, clock=clock)
    val = with_value(parent, 1, 2)
    for c in (child, timed, val):
        assert isinstance(c.err(), Canceled)
        assert is_done(c)
    assert not clock.has_waiters()  # no timer left behind for a born-done context

    expired, _ = with_timeout(background(), 1, clock=clock)
    clock.step(1)
    kid, _ = with_cancel(expired)
    assert isinstance(kid.err(), DeadlineExceeded)


def test_done_channel_observed_before_cancel_is_closed_by_cancel() -> None:
    ctx, cancel = with_cancel(background())
    done = ctx.done()
    assert ctx.done() is done
    cancel()
    assert done.closed
    assert is_done(ctx)


def test_cancelled_children_detach_so_trees_do_not_leak() -> None:
    parent, cancel_parent = with_cancel(background())
    refs = []
    for _ in range(100):
        child, cancel = with_cancel(parent)
        grandchild, cancel_grandchild = with_cancel(child)
        refs.append(weakref.ref(child))
        refs.append(weakref.ref(grandchild))
        cancel()
    del child, grandchild, cancel, cancel_grandchild
    gc.collect()
    assert all(r() is None for r in refs)  # the long-lived parent holds none of them
    assert parent.err() is None
    cancel_parent()


def test_finished_contexts_are_freed_without_the_cycle_collector() -> None:
    # A context used and cancelled (or expired) must be freed by reference counting alone: a
    # cycle per context (a node pointing at itself, a timer's callback) would leave every
    # per-request context to the cycle collector.
    clock = FakeClock()
    enabled = gc.isenabled()
    gc.disable()
    try:
        refs = []
        for expire in (False, True):
            c1, cancel1 = with_cancel(background())
            c2, cancel2 = with_timeout(c1, 5.0, clock=clock)
            c3 = with_value(c2, "k", "v")
            c4, cancel4 = with_cancel_cause(c3)
            stop = after_func(c4, lambda: None)
            for c in (c1, c2, c3, c4):
                c.done()
                refs.append(weakref.ref(c))
            if expire:
                clock.step(5.0)
                assert isinstance(c2.err(), DeadlineExceeded)
                stop()
            else:
                cancel1()
            del c, c1, c2, c3, c4, cancel1, cancel2, cancel4, stop
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        if enabled:
            gc.enable()


def test_cancel_of_a_very_deep_chain_does_not_recurse() -> None:
    root, cancel = with_cancel(background())
    ctx = root
    for _ in range(5000):
        ctx, _ = with_cancel(ctx)
    cancel()
    assert isinstance(ctx.err(), Canceled)


def test_err_is_set_before_done_is_closed() -> None:
    for _ in range(50):
        ctx, cancel = with_cancel(background())
        seen = start_thread(lambda ctx=ctx: (ctx.done().recv_ok(timeout=10), ctx.err())[1])
        cancel()
        assert isinstance(seen.result(10), Canceled)


def _derive_while_cancelling() -> None:
    parent, cancel = with_cancel(background())
    start = threading.Barrier(5)
    children: list[Context] = []
    lock = threading.Lock()

    def derive() -> None:
        start.wait(10)
        for _ in range(50):
            c, _ = with_cancel(parent)
            with lock:
                children.append(c)

    futs = [start_thread(derive) for _ in range(4)]
    start.wait(10)
    cancel()
    for f in futs:
        f.result(10)
    assert len(children) == 200
    assert all(isinstance(c.err(), Canceled) for c in children)


def test_concurrent_derive_and_cancel_leaves_every_child_done() -> None:
    for _ in range(20):
        _derive_while_cancelling()


# ------------------------------------------------------------------------------------ deadlines


def test_deadline_with_fake_clock_fires_exactly_at_the_deadline() -> None:
    clock = FakeClock(100.0)
    ctx, cancel = with_deadline(background(), 105.0, clock=clock)
    child, _ = with_cancel(ctx)
    assert ctx.deadline() == 105.0
    assert child.deadline() == 105.0
    clock.step(4.999)
    assert ctx.err() is None
    assert not is_done(child)
    clock.step(0.001)
    assert isinstance(ctx.err(), DeadlineExceeded)
    assert isinstance(child.err(), DeadlineExceeded)  # descendants get the parent's kind
    assert is_done(child)
    cancel()
    assert isinstance(ctx.err(), DeadlineExceeded)  # cancel after expiry changes nothing


def test_with_timeout_is_relative_to_the_clock_now() -> None:
    clock = FakeClock(50.0)
    ctx, cancel = with_timeout(background(), 2.5, clock=clock)
    assert ctx.deadline() == 52.5
    clock.step(2.5)
    assert isinstance(ctx.err(), DeadlineExceeded)
    cancel()


def test_cancel_before_deadline_stops_the_timer() -> None:
    clock = FakeClock()
    ctx, cancel = with_timeout(background(), 10, clock=clock)
    child, _ = with_timeout(ctx, 20, clock=clock)  # parent's deadline is earlier: no own timer
    assert clock.waiters() == 1
    assert child.deadline() == 10
    cancel()
    assert isinstance(child.err(), Canceled)
    assert not clock.has_waiters()
    clock.step(30)
    assert isinstance(ctx.err(), Canceled)  # stays Canceled


def test_parent_cancel_stops_descendant_timers() -> None:
    clock = FakeClock()
    parent, cancel = with_cancel(background())
    with_timeout(parent, 5, clock=clock)
    with_timeout(with_value(parent, "a", 1), 7, clock=clock)
    assert clock.waiters() == 2
    cancel()
    assert not clock.has_waiters()


def test_child_deadline_earlier_than_parent_gets_its_own_timer() -> None:
    clock = FakeClock()
    parent, cancel = with_timeout(background(), 10, clock=clock)
    child, _ = with_timeout(parent, 3, clock=clock)
    assert child.deadline() == 3
    assert parent.deadline() == 10
    clock.step(3)
    assert isinstance(child.err(), DeadlineExceeded)
    assert parent.err() is None
    cancel()


def test_deadline_already_past_is_born_done() -> None:
    clock = FakeClock(10)
    ctx, _ = with_deadline(background(), 9, clock=clock)
    assert isinstance(ctx.err(), DeadlineExceeded)
    assert is_done(ctx)
    assert not clock.has_waiters()


def test_deadline_on_the_real_clock_wakes_a_blocked_receiver() -> None:
    ctx, cancel = with_timeout(background(), 0.02)
    _, ok = ctx.done().recv_ok(timeout=10)
    assert not ok
    assert isinstance(ctx.err(), DeadlineExceeded)
    cancel()


# --------------------------------------------------------------------------------------- values


def test_values_nearest_ancestor_wins_and_absent_is_none() -> None:
    class Key:
        pass

    k = Key()
    root = with_value(background(), "user", "alice")
    c1, cancel = with_cancel(root)
    c2 = with_value(c1, "user", "bob")  # shadows
    c3 = with_value(c2, k, 42)
    assert root.value("user") == "alice"
    assert c1.value("user") == "alice"  # seen through a cancel node
    assert c2.value("user") == "bob"
    assert c3.value("user") == "bob"
    assert c3.value(k) == 42
    assert c2.value(k) is None
    assert c3.value("missing") is None
    cancel()
    assert c3.value("user") == "bob"  # values survive cancellation


def test_value_context_shares_done_err_and_deadline_with_its_parent() -> None:
    clock = FakeClock()
    parent, cancel = with_timeout(background(), 4, clock=clock)
    v = with_value(parent, "k", "v")
    assert v.deadline() == 4
    assert v.done() is parent.done()
    cancel()
    assert v.err() is parent.err()


# ---------------------------------------------------------------------------------------- select


def test_done_is_usable_in_select_and_wakes_a_blocked_select() -> None:
    ctx, cancel = with_cancel(background())
    work: Chan[int] = Chan(0)
    sel = start_thread(select, Recv(work), Recv(ctx.done()))
    wait_until(lambda: len(work._recvq) == 1)  # the select is parked on both channels
    cancel()
    index, value, ok = sel.result(10)
    assert (index, value, ok) == (1, None, False)
    assert select(Recv(work), Recv(ctx.done()), default=True).index == 1


def test_done_in_async_select_under_asyncio_and_trio_cancelled_from_a_thread() -> None:
    ctx, cancel = with_cancel(background())
    idle: Chan[int] = Chan(0)

    async def watch() -> int:
        sel = await async_select(Recv(idle), Recv(ctx.done()))
        assert isinstance(ctx.err(), Canceled)
        return sel.index

    with asyncio_thread() as aio, trio_thread() as tr:
        a = aio.submit(watch())
        t = tr.submit(watch)
        wait_until(lambda: len(idle._recvq) == 2)
        cancel()
        assert a.result(10) == 1
        assert t.result(10) == 1


def test_done_recv_ok_from_asyncio_and_trio_directly() -> None:
    clock = FakeClock()
    ctx, _ = with_timeout(background(), 1, clock=clock)

    async def wait_done() -> bool:
        _, ok = await ctx.done().async_recv_ok()
        return ok

    async def aio() -> bool:
        task = asyncio.ensure_future(wait_done())
        await asyncio.sleep(0)
        clock.step(1)
        return await task

    assert asyncio.run(aio()) is False
    assert trio.run(wait_done) is False


def test_done_channel_is_receive_only_for_users() -> None:
    ctx, cancel = with_cancel(background())
    for c in (ctx, background()):
        with pytest.raises(TypeError):
            c.done().close()
        with pytest.raises(TypeError):
            c.done().send(None, timeout=0)
        with pytest.raises(TypeError):
            asyncio.run(c.done().async_send(None))
        assert not is_done(c)
        assert c.err() is None
    cancel()
    assert is_done(ctx)


# ------------------------------------------------------------------- cause, after_func, without


def test_cancel_cause_reaches_descendants_and_err_stays_canceled() -> None:
    parent, cancel = with_cancel_cause(background())
    child, _ = with_cancel(parent)
    grandchild = with_value(child, "k", 1)
    assert cause(parent) is None
    assert cause(background()) is None
    why = ConnectionResetError("peer went away")
    cancel(why)
    cancel(ValueError("later"))  # only the first cancellation counts
    for c in (parent, child, grandchild):
        assert isinstance(c.err(), Canceled)
        assert cause(c) is why
    late, _ = with_cancel(parent)  # born done, with the same cause
    assert cause(late) is why


def test_cause_without_explicit_cause_is_err() -> None:
    clock = FakeClock()
    ctx, cancel = with_cancel_cause(background())
    cancel(None)
    assert cause(ctx) is ctx.err()
    timed, cancel_timed = with_timeout(background(), 1, clock=clock)
    clock.step(1)
    assert cause(timed) is timed.err()
    assert isinstance(cause(timed), DeadlineExceeded)
    cancel_timed()


def test_after_func_runs_once_ctx_is_done_and_stop_prevents_it() -> None:
    ctx, cancel = with_cancel(background())
    ran = threading.Event()
    stop = after_func(ctx, ran.set)
    stopped = threading.Event()
    stop_other = after_func(ctx, stopped.set)
    assert stop_other() is True  # prevented
    assert stop_other() is False
    assert not ran.is_set()
    cancel()
    assert ran.wait(10)
    assert stop() is False  # already started
    assert not stopped.is_set()


def test_after_func_on_a_done_ctx_starts_at_once_and_never_on_background() -> None:
    ctx, cancel = with_cancel(background())
    cancel()
    ran = threading.Event()
    stop = after_func(ctx, ran.set)
    assert ran.wait(10)
    assert stop() is False
    never = threading.Event()
    assert after_func(background(), never.set)() is True
    assert not never.is_set()


def test_after_func_stop_detaches_from_the_parent() -> None:
    ctx, cancel = with_cancel(background())
    for _ in range(50):
        after_func(ctx, print)()
    assert ctx._children == {}  # type: ignore[attr-defined]
    cancel()


def test_without_cancel_keeps_values_but_not_cancellation_or_deadline() -> None:
    clock = FakeClock()
    parent, cancel = with_timeout(with_value(background(), "user", "ann"), 5, clock=clock)
    detached = without_cancel(parent)
    child, cancel_child = with_cancel(detached)
    cancel()
    assert isinstance(parent.err(), Canceled)
    assert detached.err() is None
    assert detached.deadline() is None
    assert not is_done(detached)
    assert child.err() is None
    assert child.value("user") == "ann"
    cancel_child()
    assert isinstance(child.err(), Canceled)


# ---------------------------------------------------------- with_deadline_cause / _timeout_cause


class BackendSlow(Exception):
    pass


def test_with_deadline_cause_reports_the_cause_when_the_deadline_expires() -> None:
    clock = FakeClock()
    why = BackendSlow("backend too slow")
    ctx, _ = with_deadline_cause(background(), 5.0, why, clock=clock)
    child, _ = with_cancel(ctx)
    clock.step(4.9)
    assert ctx.err() is None
    assert cause(ctx) is None
    clock.step(0.1)
    assert isinstance(ctx.err(), DeadlineExceeded)
    assert cause(ctx) is why
    assert isinstance(child.err(), DeadlineExceeded)
    assert cause(child) is why
    assert ctx.deadline() == 5.0


def test_with_timeout_cause_is_relative_to_the_clock_now() -> None:
    clock = FakeClock(100.0)
    why = BackendSlow()
    ctx, _ = with_timeout_cause(background(), 2.0, why, clock=clock)
    assert ctx.deadline() == 102.0
    clock.step(2.0)
    assert cause(ctx) is why


def test_cancel_of_a_deadline_cause_context_records_no_cause() -> None:
    clock = FakeClock()
    ctx, cancel = with_timeout_cause(background(), 2.0, BackendSlow(), clock=clock)
    cancel()
    assert isinstance(ctx.err(), Canceled)
    assert cause(ctx) is ctx.err()
    assert not clock.has_waiters()  # the timer is stopped
    clock.step(5)
    assert isinstance(ctx.err(), Canceled)


def test_a_deadline_cause_already_past_gives_a_context_born_done_with_the_cause() -> None:
    clock = FakeClock(10.0)
    why = BackendSlow()
    ctx, _ = with_deadline_cause(background(), 5.0, why, clock=clock)
    assert isinstance(ctx.err(), DeadlineExceeded)
    assert cause(ctx) is why
    assert not clock.has_waiters()


def test_an_earlier_parent_deadline_comes_first_with_its_own_cause() -> None:
    clock = FakeClock()
    outer, inner = BackendSlow("outer"), BackendSlow("inner")
    parent, _ = with_timeout_cause(background(), 1.0, outer, clock=clock)
    child, _ = with_timeout_cause(parent, 5.0, inner, clock=clock)
    clock.step(1.0)
    assert cause(child) is outer


def test_a_none_cause_reports_the_deadline_exceeded_itself() -> None:
    clock = FakeClock()
    ctx, _ = with_timeout_cause(background(), 1.0, None, clock=clock)
    clock.step(1.0)
    assert cause(ctx) is ctx.err()

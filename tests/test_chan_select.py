"""select: exactly one case fires, uniform choice among ready cases, no polling while blocked."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
import trio
import trio.testing

from goprims.chan import Chan, Recv, Selected, Send, async_select, select

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
from chan_support import Bg, Parked, no_entries  # noqa: E402

pytest_plugins = ["chan_support"]


# -------------------------------------------------------------------------- exactly one fires


def test_a_parked_select_fires_exactly_one_case_when_two_channels_become_ready(
    parked: Parked,
) -> None:
    outcomes = {0: 0, 1: 0}
    for _ in range(300):
        a: Chan[str] = Chan(1)
        b: Chan[str] = Chan()
        sel = Bg(select, Recv(a), Recv(b))
        parked.wait()
        go = threading.Barrier(2)
        fa = Bg(lambda a=a, go=go: (go.wait(), a.send("a")))
        fb = Bg(lambda b=b, go=go: (go.wait(), b.close()))
        res = sel.join()
        fa.join()
        fb.join()
        outcomes[res.index] += 1
        if res.index == 0:  # took a's value; b's close found the select already claimed
            assert res == Selected(0, "a", True)
            assert len(a) == 0
        else:  # saw b closed; a's value went to the buffer, not to the select
            assert res == Selected(1, None, False)
            assert len(a) == 1
        assert no_entries(a, b)
    assert outcomes[0] + outcomes[1] == 300


def test_a_select_of_sends_delivers_exactly_one_value(parked: Parked) -> None:
    for _ in range(100):
        a: Chan[int] = Chan()
        b: Chan[int] = Chan()
        sel = Bg(select, Send(a, 1), Send(b, 2))
        parked.wait()
        ra = Bg(a.recv_ok)
        rb = Bg(b.recv_ok)
        res = sel.join()
        a.close()  # releases the receiver that the select did not serve
        b.close()
        got = [ra.join(), rb.join()]
        if res.index == 0:
            assert got == [(1, True), (None, False)]
        else:
            assert got == [(None, False), (2, True)]
        assert no_entries(a, b)


def test_two_selects_on_opposite_ends_of_an_unbuffered_channel_meet() -> None:
    # goless#43: a select that never parks on its cases can't rendezvous with another select.
    for _ in range(200):
        ch: Chan[int] = Chan()
        x: Chan[int] = Chan()
        y: Chan[int] = Chan()
        s1 = Bg(select, Send(ch, 42), Recv(x))
        s2 = Bg(select, Recv(y), Recv(ch))
        assert s1.join() == Selected(0, None, True)
        assert s2.join() == Selected(1, 42, True)
        assert no_entries(ch, x, y)


def test_a_select_cannot_rendezvous_with_itself() -> None:
    ch: Chan[int] = Chan()
    with pytest.raises(TimeoutError):
        select(Send(ch, 1), Recv(ch), timeout=0.02)
    assert no_entries(ch)


def test_a_parked_send_case_completes_when_a_receiver_arrives(parked: Parked) -> None:
    ch: Chan[int] = Chan()
    other: Chan[int] = Chan()
    sel = Bg(select, Recv(other), Send(ch, 9))
    parked.wait()
    assert ch.recv() == 9
    assert sel.join() == Selected(1, None, True)
    assert no_entries(ch, other)


def test_a_looping_select_leaves_no_stale_waiters_on_the_idle_channel() -> None:
    data: Chan[int] = Chan()
    done: Chan[None] = Chan()
    n = 300

    def produce() -> None:
        for i in range(n):
            data.send(i)

    p = Bg(produce)
    got = []
    for _ in range(n):
        sel = select(Recv(data), Recv(done))
        assert sel.index == 0
        got.append(sel.value)
    p.join()
    assert got == list(range(n))
    assert no_entries(data, done)


def test_select_timeout_raises_and_withdraws_from_every_channel() -> None:
    chans: list[Chan[int]] = [Chan() for _ in range(3)]
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        select(*(Recv(c) for c in chans), Send(chans[0], 1), timeout=0.02)
    assert time.monotonic() - t0 >= 0.015
    assert no_entries(*chans)
    with pytest.raises(TimeoutError):
        select(Recv(chans[0]), timeout=0)


def test_select_with_default_never_blocks_and_takes_a_ready_case() -> None:
    ch: Chan[int] = Chan(1)
    assert select(Recv(ch), default=True) == Selected(-1, None, False)
    assert select(Send(ch, 3), default=True) == Selected(0, None, True)
    assert select(Send(ch, 4), default=True) == Selected(-1, None, False)
    assert select(Recv(ch), default=True) == Selected(0, 3, True)


# ---------------------------------------------------------------------------------- fairness


def _within_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


N_SELECTS = 6000


def test_two_always_ready_cases_are_chosen_uniformly() -> None:
    a: Chan[int] = Chan(None)
    b: Chan[int] = Chan(None)
    for i in range(N_SELECTS):
        a.send(i)
        b.send(i)
    counts = [0, 0]
    for _ in range(N_SELECTS):
        counts[select(Recv(a), Recv(b)).index] += 1
    assert all(_within_binomial(c, N_SELECTS, 1 / 2) for c in counts), counts


def test_three_always_ready_cases_are_chosen_uniformly() -> None:
    closed = [Chan[int]() for _ in range(3)]
    for c in closed:
        c.close()
    counts = [0, 0, 0]
    for _ in range(N_SELECTS):
        counts[select(*(Recv(c) for c in closed)).index] += 1
    assert all(_within_binomial(c, N_SELECTS, 1 / 3) for c in counts), counts


def test_ready_send_and_receive_cases_are_chosen_uniformly_and_never_ready_ones_never() -> None:
    sink: Chan[int] = Chan(None)
    closed: Chan[int] = Chan()
    closed.close()
    never: Chan[int] = Chan()
    counts = [0, 0, 0, 0]
    for _ in range(N_SELECTS):
        counts[select(Recv(never), Send(sink, 1), Recv(None), Recv(closed)).index] += 1
    assert counts[0] == counts[2] == 0
    assert _within_binomial(counts[1], N_SELECTS, 1 / 2), counts
    assert len(sink) == counts[1]


# -------------------------------------------------------------------------------- no polling

CPU_BUDGET = 0.02  # fraction of a core a blocked select may use


def _cpu_while_blocked(seconds: float) -> float:
    """Process CPU time used while this thread sleeps on an event for ``seconds``."""
    idle = threading.Event()
    cpu0 = time.process_time()
    idle.wait(seconds)
    return time.process_time() - cpu0


def test_a_thread_blocked_in_select_uses_no_cpu(parked: Parked) -> None:
    chans: list[Chan[int]] = [Chan() for _ in range(4)]
    sel = Bg(select, *(Recv(c) for c in chans), Send(chans[0], 0))
    parked.wait()
    cpu = _cpu_while_blocked(1.0)
    chans[3].send(3)
    assert sel.join() == Selected(3, 3, True)
    assert cpu < CPU_BUDGET * 1.0, f"blocked select used {cpu:.3f} s of CPU in 1 s"


def test_an_asyncio_task_blocked_in_async_select_uses_no_cpu() -> None:
    chans: list[Chan[int]] = [Chan() for _ in range(4)]
    ready = threading.Event()

    async def main() -> Selected:
        task = asyncio.ensure_future(async_select(*(Recv(c) for c in chans)))
        await asyncio.sleep(0)
        ready.set()
        return await task

    sel = Bg(asyncio.run, main())
    assert ready.wait(5)
    cpu = _cpu_while_blocked(0.5)
    chans[1].send(1)
    assert sel.join() == Selected(1, 1, True)
    assert cpu < CPU_BUDGET * 0.5, f"blocked async_select used {cpu:.3f} s of CPU in 0.5 s"


def test_a_trio_task_blocked_in_async_select_uses_no_cpu() -> None:
    chans: list[Chan[int]] = [Chan() for _ in range(4)]
    ready = threading.Event()

    async def main() -> Selected:
        async def mark() -> None:
            await trio.testing.wait_all_tasks_blocked()
            ready.set()

        async with trio.open_nursery() as n:
            n.start_soon(mark)
            return await async_select(*(Recv(c) for c in chans))

    sel = Bg(trio.run, main)
    assert ready.wait(5)
    cpu = _cpu_while_blocked(0.5)
    chans[2].send(2)
    assert sel.join() == Selected(2, 2, True)
    assert cpu < CPU_BUDGET * 0.5, f"blocked trio async_select used {cpu:.3f} s of CPU in 0.5 s"


# ------------------------------------------------------------------ fairness of a parked select


@pytest.mark.parametrize("cap", [0, 100])
def test_pseudo_random_send_both_cases_on_one_channel_win(cap: int, parked: Parked) -> None:
    """Go's TestPseudoRandomSend: ``select { case c <- 1: case c <- 0: }`` 100 times against a
    reader that lets the select park first (cap 0) before each receive: both values must show
    up more than n/10 times. With cap 100 the select never parks (the polling pass decides)."""
    n = 100
    c: Chan[int] = Chan(cap)
    got: list[int] = []

    def reader() -> None:
        for _ in range(n):
            if cap == 0:  # Go's Gosched: the select is parked (on both cases) before we receive
                parked.wait()
            got.append(c.recv(timeout=10))

    t = threading.Thread(target=reader) if cap == 0 else None
    if t is not None:
        t.start()
    for _ in range(n):
        select(Send(c, 1), Send(c, 0), timeout=10)
    if t is not None:
        t.join(10)
    else:
        reader()
    ones = sum(got)
    zeros = n - ones
    assert len(got) == n
    assert zeros > n // 10, f"{zeros} zeros and {ones} ones (cap {cap})"
    assert ones > n // 10, f"{zeros} zeros and {ones} ones (cap {cap})"


def test_a_parked_select_with_two_receive_cases_on_one_channel_completes_either(
    parked: Parked,
) -> None:
    """The receive side of the same rule: two Recv cases on one channel, parked; a sender
    completes a pseudo-random one of them."""
    c: Chan[int] = Chan(0)
    wins = [0, 0]
    for _ in range(60):
        sel = Bg(select, Recv(c), Recv(c), timeout=10)
        parked.wait()  # registered on both cases, then parked
        c.send(7)
        res = sel.join()
        assert res.value == 7
        assert res.ok
        wins[res.index] += 1
    assert min(wins) > 6, wins

"""The lock-free receive (goprims/chan.py, module docstring) and the handshake around it.

A receive that finds a buffered value pops it without the channel lock; the pop's refill (moving
parked senders' values into the freed slots) follows under the lock. These tests stop a receive
between the two halves by doing its pop by hand (``ch._buf.popleft()``), and pin what the other
parties do meanwhile: nobody overtakes a parked sender, nobody waits beside a free slot.
"""

from __future__ import annotations

import random
import sys
import threading
from typing import Any

import pytest

from goprims import chan as chan_module
from goprims.chan import Chan, Recv, Selected, Send, select

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
from chan_support import Bg, Parked, no_entries  # noqa: E402

pytest_plugins = ["chan_support"]

needs_gil = pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="without the GIL every receive takes the lock",
)


@needs_gil
@pytest.mark.parametrize("cap", [1, 8, None])
def test_a_buffered_value_is_received_while_the_channel_lock_is_held(cap: int | None) -> None:
    # The point of the lock-free pop: a receive never waits for a lock whose holder the
    # interpreter has switched away from (the convoy that made Chan(None) 10x slower than
    # queue.SimpleQueue).
    ch: Chan[int] = Chan(cap)
    ch.send(7)
    with ch._lock:
        got = Bg(ch.recv)
        assert got.done.wait(10), "recv waited for the channel lock"
    assert got.join() == 7


@needs_gil
def test_recv_ok_and_the_async_receives_pop_without_the_lock_too() -> None:
    import asyncio

    ch: Chan[int] = Chan(None)
    for i in range(3):
        ch.send(i)

    async def two() -> tuple[Any, Any]:
        return await ch.async_recv(), await ch.async_recv_ok()

    with ch._lock:
        a = Bg(ch.recv_ok)
        assert a.done.wait(10)
        b = Bg(asyncio.run, two())
        assert b.done.wait(10)
    assert a.join() == (0, True)
    assert b.join() == (1, (2, True))


def _full_with_a_parked_sender(parked: Parked) -> tuple[Chan[int], Bg]:
    """Chan(1) holding 1, a sender of 2 parked behind it."""
    ch: Chan[int] = Chan(1)
    ch.send(1)
    s2 = Bg(ch.send, 2)
    parked.wait()
    return ch, s2


def test_while_a_refill_is_pending_a_non_blocking_send_does_not_overtake(parked: Parked) -> None:
    ch, s2 = _full_with_a_parked_sender(parked)
    assert ch._buf.popleft() == 1  # a receive's pop; its refill has not run yet
    with pytest.raises(TimeoutError):
        ch.send(3, timeout=0)
    assert select(Send(ch, 3), default=True) == Selected(-1, None, False)
    ch._refill()
    s2.join()
    assert ch.recv() == 2
    assert no_entries(ch)


def test_while_a_refill_is_pending_a_sender_queues_behind_the_parked_one(parked: Parked) -> None:
    ch, s2 = _full_with_a_parked_sender(parked)
    assert ch._buf.popleft() == 1
    s3 = Bg(ch.send, 3)
    parked.wait()  # parked behind s2 although the buffer has room
    assert not s2.done.is_set()
    ch._refill()
    s2.join()
    assert ch.recv() == 2  # s3's value follows s2's
    s3.join()
    assert ch.recv() == 3
    assert no_entries(ch)


def test_while_a_refill_is_pending_a_receive_takes_the_parked_senders_value(
    parked: Parked, receive_path: str
) -> None:
    ch, s2 = _full_with_a_parked_sender(parked)
    assert ch._buf.popleft() == 1
    # The slow path sees an empty buffer and a parked sender: its value is next in line.
    assert ch.recv_ok(timeout=0) == (2, True)
    s2.join()
    ch._refill()  # the pending refill finds nobody left: harmless
    assert len(ch) == 0
    assert no_entries(ch)


@pytest.fixture
def pop_after_look(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A lock-free receive lands between a sender's look and its park: the buffer's head is
    popped after ``_send_locked`` found the buffer full (when it makes the sender's waiter, or,
    for a select's poll, when it reports BLOCK), and the receive's look at the still empty send
    queue is over, so it will not refill. The sender must see the slot after parking."""
    popped: list[Any] = []
    real = Chan._send_locked

    def send_locked(self: Chan[Any], value: Any, *args: Any) -> Any:
        real_new_waiter = args[1] if len(args) > 1 else None

        def new_waiter() -> Any:  # called between the look and the park
            if self._buf:
                popped.append(self._buf.popleft())
            return real_new_waiter()  # type: ignore[misc]

        if real_new_waiter is None:  # a select's poll: pop after its look, as well
            r = real(self, value, *args)
            if r[0] is chan_module._BLOCK and self._buf:
                popped.append(self._buf.popleft())
            return r
        return real(self, value, args[0], new_waiter)

    monkeypatch.setattr(Chan, "_send_locked", send_locked)
    return popped


def test_a_sender_that_parks_beside_a_free_slot_takes_it(pop_after_look: list[Any]) -> None:
    ch: Chan[int] = Chan(1)
    ch.send(1)
    ch.send(2, timeout=10)  # no receiver will come: the sender must take the slot itself
    assert pop_after_look == [1]
    assert list(ch._buf) == [2]
    assert no_entries(ch)


def test_a_select_that_parks_beside_a_free_slot_takes_it(pop_after_look: list[Any]) -> None:
    ch: Chan[int] = Chan(1)
    other: Chan[int] = Chan()
    ch.send(1)
    assert select(Recv(other), Send(ch, 2), timeout=10) == Selected(1, None, True)
    assert pop_after_look == [1]
    assert list(ch._buf) == [2]
    assert no_entries(ch, other)


@pytest.fixture(params=["lock-free", "locked"])
def receive_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both receive paths: the lock-free pop (GIL builds) and the locked one that free-threaded
    builds use for every receive."""
    if request.param == "locked":
        monkeypatch.setattr(chan_module, "_LOCK_FREE_RECV", False)
    return str(request.param)


@pytest.mark.parametrize("cap", [1, 3, None])
def test_many_lock_free_receivers_and_senders_lose_nothing_and_keep_each_senders_order(
    cap: int | None, receive_path: str
) -> None:
    # Receivers mostly take the lock-free path (values are buffered); senders park often on a
    # small buffer, so pops race refills and parkings all the time.
    senders, receivers, per_sender = 4, 4, 3000
    ch: Chan[tuple[int, int]] = Chan(cap)
    got: list[list[tuple[int, int]]] = [[] for _ in range(receivers)]
    rng = random.Random(1)
    batches = [rng.choice([1, 2, 5]) for _ in range(receivers)]

    def send(sid: int) -> None:
        for i in range(per_sender):
            ch.send((sid, i))

    def recv(rid: int, batch: int) -> None:
        out = got[rid]
        while True:
            v, ok = ch.recv_ok()
            if not ok:
                return
            out.append(v)  # type: ignore[arg-type]
            for _ in range(batch - 1):  # drain a few more without parking
                try:
                    v, ok = ch.recv_ok(timeout=0)
                except TimeoutError:
                    break
                if not ok:
                    return
                out.append(v)  # type: ignore[arg-type]

    threads = [threading.Thread(target=send, args=(s,)) for s in range(senders)]
    rthreads = [threading.Thread(target=recv, args=(r, batches[r])) for r in range(receivers)]
    for t in threads + rthreads:
        t.start()
    for t in threads:
        t.join(60)
    ch.close()
    for t in rthreads:
        t.join(60)
    assert not any(t.is_alive() for t in threads + rthreads)
    everything = sorted(v for out in got for v in out)
    assert everything == sorted((s, i) for s in range(senders) for i in range(per_sender))
    for out in got:  # each receiver sees each sender's values in the order sent
        for s in range(senders):
            seq = [i for sid, i in out if sid == s]
            assert seq == sorted(seq)
    assert no_entries(ch)


def test_the_locked_receive_path_keeps_the_rules(
    monkeypatch: pytest.MonkeyPatch, parked: Parked
) -> None:
    # Free-threaded builds receive under the lock: buffered values in order, a full buffer's
    # parked sender moved in, close drained then reported.
    monkeypatch.setattr(chan_module, "_LOCK_FREE_RECV", False)
    ch: Chan[int] = Chan(2)
    ch.send(1)
    ch.send(2)
    s3 = Bg(ch.send, 3)
    parked.wait()
    assert ch.recv() == 1
    s3.join()  # moved into the buffer by that receive
    ch.close()
    assert [ch.recv(), ch.recv()] == [2, 3]
    assert ch.recv_ok() == (None, False)
    assert no_entries(ch)


def test_an_unbounded_channel_is_a_chan_with_its_own_thread_fast_paths(parked: Parked) -> None:
    ch: Chan[int] = Chan[int](None)
    assert isinstance(ch, Chan)
    assert ch.cap is None
    assert type(ch) is not Chan  # Chan(None) picks the unbounded fast paths
    assert type(Chan(0)) is Chan
    assert type(Chan(5)) is Chan
    # The paths the fast ones hand over to: a parked receiver, then close.
    r = Bg(ch.recv)
    parked.wait()
    ch.send(1)
    assert r.join() == 1
    for i in range(1000):
        ch.send(i)
    ch.close()
    with pytest.raises(chan_module.ChanClosed):
        ch.send(0)
    assert [ch.recv() for _ in range(1000)] == list(range(1000))
    with pytest.raises(chan_module.ChanClosed):
        ch.recv()
    assert no_entries(ch)

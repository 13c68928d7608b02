"""Go's channel rules (reference report, section 2.7), one test per rule, with threads.

Parking is observed through a spy waiter (the channel calls ``wait`` only after its entry is
queued), never by sleeping.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

import goprims
from goprims.chan import Chan, ChanClosed, Recv, Selected, Send, select

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
from chan_support import Bg, Parked  # noqa: E402

pytest_plugins = ["chan_support"]

# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cap", [-1, -100])
def test_negative_capacity_raises_value_error(cap: int) -> None:
    with pytest.raises(ValueError, match="Chan capacity must be >= 0 or None, got -1"):
        Chan(cap)


@pytest.mark.parametrize("cap", [1.5, "3", True])
def test_non_integer_capacity_raises_type_error(cap: Any) -> None:
    with pytest.raises(TypeError):
        Chan(cap)


def test_capacity_length_and_closed_are_reported() -> None:
    assert Chan().cap == 0
    assert Chan(3).cap == 3
    assert Chan(None).cap is None
    ch: Chan[int] = Chan(3)
    ch.send(1)
    ch.send(2)
    assert len(ch) == 2
    assert not ch.closed
    ch.close()
    assert ch.closed
    assert "closed" in repr(ch)


def test_chan_closed_is_exported_at_top_level_and_is_a_runtime_error() -> None:
    assert goprims.ChanClosed is ChanClosed
    assert issubclass(ChanClosed, RuntimeError)


# ------------------------------------------------------------------------ rule 1: rendezvous


def test_unbuffered_send_returns_only_after_the_value_is_taken(parked: Parked) -> None:
    ch: Chan[str] = Chan()
    sender = Bg(ch.send, "v")
    parked.wait()
    assert not sender.done.is_set()  # parked, not returned: nobody took the value yet
    assert ch.recv() == "v"
    sender.join()


def test_unbuffered_send_to_a_parked_receiver_hands_the_value_over(parked: Parked) -> None:
    ch: Chan[int] = Chan()
    receiver = Bg(ch.recv)
    parked.wait()
    ch.send(5)
    assert receiver.join() == 5
    assert len(ch) == 0


def test_unbuffered_channel_has_no_room_without_a_receiver() -> None:
    ch: Chan[int] = Chan()
    with pytest.raises(TimeoutError):
        ch.send(1, timeout=0)
    with pytest.raises(TimeoutError):
        ch.send(1, timeout=0.01)
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0)
    assert not ch._sendq
    assert not ch._recvq


def test_buffered_send_blocks_only_when_full_and_unbounded_never_blocks() -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1, timeout=0)
    ch.send(2, timeout=0)
    with pytest.raises(TimeoutError):
        ch.send(3, timeout=0)
    assert [ch.recv(), ch.recv()] == [1, 2]
    big: Chan[int] = Chan(None)
    for i in range(10_000):
        big.send(i, timeout=0)
    assert len(big) == 10_000


# -------------------------------------------------------------------- rule 2: FIFO and handoff


def test_parked_receivers_are_served_in_arrival_order(parked: Parked) -> None:
    ch: Chan[int] = Chan(4)
    receivers = []
    for _ in range(4):
        receivers.append(Bg(ch.recv))
        parked.wait()
    for i in range(4):
        ch.send(i)
    assert [r.join() for r in receivers] == [0, 1, 2, 3]


def test_parked_senders_are_served_in_arrival_order(parked: Parked) -> None:
    ch: Chan[int] = Chan()
    senders = []
    for i in range(4):
        senders.append(Bg(ch.send, i))
        parked.wait()
    assert [ch.recv() for _ in range(4)] == [0, 1, 2, 3]
    for s in senders:
        s.join()


def test_send_to_a_parked_receiver_bypasses_the_buffer(parked: Parked) -> None:
    ch: Chan[int] = Chan(4)
    receiver = Bg(ch.recv)
    parked.wait()
    ch.send(1)
    assert receiver.join() == 1
    assert len(ch) == 0


def test_recv_from_a_full_buffer_moves_a_parked_senders_value_in(parked: Parked) -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    ch.send(2)
    s3 = Bg(ch.send, 3)
    parked.wait()
    s4 = Bg(ch.send, 4)
    parked.wait()
    assert ch.recv() == 1
    s3.join()  # its value is in the buffer now: the sender is done, before anyone read it
    assert len(ch) == 2
    assert not s4.done.is_set()
    assert ch.recv() == 2
    s4.join()
    assert [ch.recv(), ch.recv()] == [3, 4]
    assert len(ch) == 0


# ---------------------------------------------------------------- rule 3: receive on closed


def test_buffered_values_are_delivered_after_close_then_ok_false_forever() -> None:
    ch: Chan[int] = Chan(3)
    for i in range(3):
        ch.send(i)
    ch.close()
    assert [ch.recv() for _ in range(3)] == [0, 1, 2]
    for _ in range(3):
        assert ch.recv_ok() == (None, False)
        assert ch.recv_ok(timeout=0) == (None, False)
    with pytest.raises(ChanClosed):
        ch.recv()


def test_recv_on_closed_drained_channel_raises_chan_closed_but_recv_ok_does_not() -> None:
    ch: Chan[int] = Chan()
    ch.close()
    with pytest.raises(ChanClosed):
        ch.recv(timeout=0)
    assert ch.recv_ok() == (None, False)


def test_close_wakes_every_parked_receiver_with_ok_false(parked: Parked) -> None:
    ch: Chan[int] = Chan()
    receivers = [Bg(ch.recv_ok) for _ in range(3)]
    parked.wait(3)
    ch.close()
    assert [r.join() for r in receivers] == [(None, False)] * 3
    raising = Chan[int]()
    r = Bg(raising.recv)
    parked.wait()
    raising.close()
    with pytest.raises(ChanClosed):
        r.join()


def test_iteration_drains_then_stops_when_closed(parked: Parked) -> None:
    ch: Chan[int] = Chan(2)
    ch.send(1)
    ch.send(2)
    got: list[int] = []
    reader = Bg(lambda: got.extend(ch))
    ch.send(3)
    ch.close()
    reader.join()
    assert got == [1, 2, 3]


# ------------------------------------------------------------------- rule 4: send on closed


def test_send_on_closed_channel_raises_chan_closed() -> None:
    for cap in (0, 1, None):
        ch: Chan[int] = Chan(cap)
        ch.close()
        with pytest.raises(ChanClosed):
            ch.send(1)
        with pytest.raises(ChanClosed):
            ch.send(1, timeout=0)
        assert len(ch) == 0


def test_a_sender_blocked_when_close_runs_raises_and_its_value_is_not_delivered(
    parked: Parked,
) -> None:
    ch: Chan[int] = Chan(1)
    ch.send(1)
    blocked = [Bg(ch.send, i) for i in (2, 3)]
    parked.wait(2)
    ch.close()
    for b in blocked:
        with pytest.raises(ChanClosed):
            b.join()
    assert list(ch) == [1]


# ------------------------------------------------------------------ rule 5: double close


def test_closing_twice_raises_chan_closed() -> None:
    ch: Chan[int] = Chan()
    ch.close()
    with pytest.raises(ChanClosed):
        ch.close()
    assert ch.closed


def test_racing_closes_exactly_one_succeeds() -> None:
    for _ in range(30):
        ch: Chan[int] = Chan()
        start = threading.Barrier(4)
        outcomes: list[str] = []

        def closer(
            ch: Chan[int] = ch, start: threading.Barrier = start, outcomes: list[str] = outcomes
        ) -> None:
            start.wait()
            try:
                ch.close()
                outcomes.append("ok")
            except ChanClosed:
                outcomes.append("raised")

        ts = [threading.Thread(target=closer) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert sorted(outcomes) == ["ok", "raised", "raised", "raised"]


# ------------------------------------------------------------------ rule 6: nil channel


def test_select_case_on_none_is_never_ready() -> None:
    ready: Chan[int] = Chan(1)
    ready.send(7)
    assert select(Recv(None), Send(None, 1), default=True) == Selected(-1, None, False)
    with pytest.raises(TimeoutError):
        select(Recv(None), Send(None, 1), timeout=0.01)
    assert select(Recv(None), Recv(ready), Send(None, 2)) == Selected(1, 7, True)


def test_select_with_no_cases_and_a_timeout_times_out() -> None:
    with pytest.raises(TimeoutError):
        select(timeout=0.01)
    assert select(default=True) == (-1, None, False)


# ---------------------------------------------------- rule 9: closed cases inside select


def test_select_recv_case_on_closed_channel_is_ready_with_ok_false() -> None:
    ch: Chan[int] = Chan()
    ch.close()
    assert select(Recv(ch)) == Selected(0, None, False)
    assert select(Recv(None), Recv(ch), default=True) == Selected(1, None, False)


def test_select_send_case_on_closed_channel_raises_chan_closed() -> None:
    ch: Chan[int] = Chan()
    ch.close()
    with pytest.raises(ChanClosed):
        select(Send(ch, 1))
    with pytest.raises(ChanClosed):
        select(Send(ch, 1), default=True)


def test_closed_send_case_competes_at_random_with_other_ready_cases() -> None:
    closed: Chan[int] = Chan()
    closed.close()
    ready: Chan[int] = Chan(None)
    outcomes = {"raised": 0, "received": 0}
    for i in range(200):
        ready.send(i)
        try:
            select(Send(closed, 0), Recv(ready))
            outcomes["received"] += 1
        except ChanClosed:
            outcomes["raised"] += 1
            ready.recv()
    assert outcomes["raised"] > 0
    assert outcomes["received"] > 0


def test_a_select_parked_on_a_send_case_raises_when_that_channel_is_closed(
    parked: Parked,
) -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    sel = Bg(select, Send(a, 1), Recv(b))
    parked.wait()
    a.close()
    with pytest.raises(ChanClosed):
        sel.join()
    assert not b._recvq  # withdrawn from the other channel


def test_a_select_parked_on_a_recv_case_reports_close_with_ok_false(parked: Parked) -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()
    sel = Bg(select, Send(a, 1), Recv(b))
    parked.wait()
    b.close()
    assert sel.join() == Selected(1, None, False)
    assert not a._sendq


# -------------------------------------------------------------------- select: bad input


def test_select_rejects_a_non_case_with_type_error() -> None:
    ch: Chan[int] = Chan()
    bad: Any
    for bad in (ch, (ch,), "recv", None, 3):
        with pytest.raises(TypeError):
            select(bad, default=True)
    with pytest.raises(TypeError):
        select(Recv(ch), bad, default=True)
    with pytest.raises(TypeError):
        select(Recv("not a chan"), default=True)  # type: ignore[arg-type]


def test_selected_is_a_named_tuple() -> None:
    s = Selected(2, "v", True)
    assert (s.index, s.value, s.ok) == (2, "v", True)
    idx, val, ok = s
    assert (idx, val, ok) == (2, "v", True)

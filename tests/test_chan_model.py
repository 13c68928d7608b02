"""A buffered channel's single-threaded, non-blocking behaviour against a deque model."""

from __future__ import annotations

from collections import deque

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from goprims.chan import Chan, ChanClosed, Recv, Selected, Send, select


class BufferedChanModel(RuleBasedStateMachine):
    """Every operation uses timeout=0 or default=True, so nothing ever blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.ch: Chan[int] = Chan(0)
        self.model: deque[int] = deque()
        self.cap: int | None = 0
        self.closed = False

    @initialize(cap=st.one_of(st.integers(0, 4), st.none()))
    def make(self, cap: int | None) -> None:
        self.ch = Chan(cap)
        self.cap = cap

    def full(self) -> bool:
        return self.cap is not None and len(self.model) >= self.cap

    @rule(v=st.integers())
    def send(self, v: int) -> None:
        if self.closed:
            try:
                self.ch.send(v, timeout=0)
            except ChanClosed:
                return
            raise AssertionError("send on a closed channel did not raise")
        if self.full():
            try:
                self.ch.send(v, timeout=0)
            except TimeoutError:
                return
            raise AssertionError("send on a full channel did not time out")
        self.ch.send(v, timeout=0)
        self.model.append(v)

    @rule()
    def recv(self) -> None:
        if self.model:
            assert self.ch.recv(timeout=0) == self.model.popleft()
        elif self.closed:
            try:
                self.ch.recv(timeout=0)
            except ChanClosed:
                return
            raise AssertionError("recv on a closed drained channel did not raise")
        else:
            try:
                self.ch.recv(timeout=0)
            except TimeoutError:
                return
            raise AssertionError("recv on an empty channel did not time out")

    @rule()
    def recv_ok(self) -> None:
        if self.model:
            assert self.ch.recv_ok(timeout=0) == (self.model.popleft(), True)
        elif self.closed:
            assert self.ch.recv_ok(timeout=0) == (None, False)

    @rule()
    def close(self) -> None:
        if self.closed:
            try:
                self.ch.close()
            except ChanClosed:
                return
            raise AssertionError("second close did not raise")
        self.ch.close()
        self.closed = True

    @rule(v=st.integers())
    def select_send_or_default(self, v: int) -> None:
        if self.closed:
            try:
                select(Send(self.ch, v), Send(None, v), default=True)
            except ChanClosed:
                return
            raise AssertionError("select send on a closed channel did not raise")
        sel = select(Send(self.ch, v), Send(None, v), default=True)
        if self.full():
            assert sel == Selected(-1, None, False)
        else:
            assert sel == Selected(0, None, True)
            self.model.append(v)

    @rule()
    def select_recv_or_default(self) -> None:
        sel = select(Recv(None), Recv(self.ch), default=True)
        if self.model:
            assert sel == Selected(1, self.model.popleft(), True)
        elif self.closed:
            assert sel == Selected(1, None, False)
        else:
            assert sel == Selected(-1, None, False)

    @rule()
    def drain_by_iteration(self) -> None:
        if self.closed:
            assert list(self.ch) == list(self.model)
            self.model.clear()

    @invariant()
    def length_and_state_match(self) -> None:
        assert len(self.ch) == len(self.model)
        assert self.ch.closed == self.closed
        assert self.ch.cap == self.cap
        assert not self.ch._recvq
        assert not self.ch._sendq


BufferedChanModel.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
test_buffered_chan_matches_a_deque_model = BufferedChanModel.TestCase

"""RateLimitedTimedQueue against a model (hypothesis state machine): adds, removes, clears,
clock steps, rate swaps and processing passes with scripted outcomes, on a FakeClock. The model
keeps its own token bucket (x/time/rate's Allow with burst 1) and its own order."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from goprims.clock import FakeClock
from goprims.controller import RateLimitedTimedQueue, TimedValue

VALUES = ["a", "b", "c", "d"]
RATES = [math.inf, 0.0, 0.5, 2.0]


class Bucket:
    """The model's token bucket: burst 1, x/time/rate's Allow (refused: state unchanged)."""

    def __init__(self, qps: float, now: float) -> None:
        self.qps = qps
        self.tokens = 1.0
        self.last = now

    def allow(self, now: float) -> bool:
        if self.qps == math.inf:
            return True
        tokens = min(1.0, self.tokens + (now - min(self.last, now)) * self.qps)
        if tokens < 1.0:
            return False
        self.tokens = tokens - 1.0
        self.last = now
        return True


class TimedQueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.qps = math.inf
        self.q: RateLimitedTimedQueue[str] = RateLimitedTimedQueue(self.qps, clock=self.clock)
        self.bucket: Bucket | None = Bucket(self.qps, 0.0)
        self.seq = 0
        # value -> [process_at, seq, added_at, uid]
        self.queued: dict[str, list[Any]] = {}
        self.processed: set[str] = set()

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    @rule(v=st.sampled_from(VALUES), uid=st.integers(0, 3))
    def add(self, v: str, uid: int) -> None:
        expect = v not in self.queued and v not in self.processed
        assert self.q.add(v, uid) == expect
        if expect:
            now = self.clock.now()
            self.queued[v] = [now, self._next_seq(), now, uid]

    @rule(v=st.sampled_from(VALUES))
    def remove(self, v: str) -> None:
        expect = v in self.queued or v in self.processed
        assert self.q.remove(v) == expect
        self.queued.pop(v, None)
        self.processed.discard(v)

    @rule()
    def clear(self) -> None:
        self.q.clear()
        self.queued.clear()
        self.processed.clear()

    @rule(dt=st.sampled_from([0.0, 0.25, 1.0, 3.0]))
    def step(self, dt: float) -> None:
        self.clock.step(dt)

    @rule(qps=st.sampled_from(RATES))
    def swap(self, qps: float) -> None:
        self.q.swap_limiter(qps)
        if qps == self.qps or (qps <= 0 and self.qps <= 0):
            return
        now = self.clock.now()
        new = None if qps <= 0 else Bucket(qps, now)
        old = self.bucket
        if new is not None and (old is None or not old.allow(now)):
            new.allow(now)
        self.bucket = new
        self.qps = qps

    @rule(
        outcomes=st.lists(
            st.tuples(st.booleans(), st.sampled_from([0.0, 0.5, 2.0])), min_size=0, max_size=6
        )
    )
    def try_process(self, outcomes: list[tuple[bool, float]]) -> None:
        script = list(outcomes)
        seen: list[TimedValue] = []

        def fn(tv: TimedValue) -> tuple[bool, float]:
            seen.append(tv)
            return script.pop(0) if script else (True, 0.0)

        calls = self.q.try_process(fn)
        # The model's pass.
        model_seen = []
        replay = list(outcomes)
        now = self.clock.now()
        while self.queued:
            v = min(self.queued, key=lambda k: (self.queued[k][0], self.queued[k][1]))
            at, _, added, uid = self.queued[v]
            if now < at or self.bucket is None or not self.bucket.allow(now):
                break
            model_seen.append((v, uid, added, at))
            ok, wait = replay.pop(0) if replay else (True, 0.0)
            if ok:
                del self.queued[v]
                self.processed.add(v)
            else:
                new_at = max(now + wait, math.nextafter(now, math.inf))
                self.queued[v] = [new_at, self._next_seq(), added, uid]
        assert calls == len(model_seen)
        assert [(tv.value, tv.uid, tv.added_at, tv.process_at) for tv in seen] == model_seen

    @invariant()
    def matches_the_model(self) -> None:
        order = sorted(self.queued, key=lambda k: (self.queued[k][0], self.queued[k][1]))
        got = self.q.values()
        assert [tv.value for tv in got] == order
        assert [tv.process_at for tv in got] == [self.queued[k][0] for k in order]
        assert self.q.processed() == self.processed
        assert len(self.q) == len(self.queued)
        assert self.q.qps == max(self.qps, 0.0)


TimedQueueMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
test_timed_queue_follows_the_model = TimedQueueMachine.TestCase

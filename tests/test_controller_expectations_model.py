"""UIDTrackingExpectations (and the Expectations it extends) against a model, as a hypothesis
state machine on a FakeClock: expect, raise, lower, observe, uid deletions, TTL, delete."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from goprims.clock import FakeClock
from goprims.controller import UIDTrackingExpectations

KEYS = ["a", "b"]
UIDS = ["p1", "p2", "p3"]
TTL = 10.0
counts = st.integers(-2, 3)


class ExpectationsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.e = UIDTrackingExpectations(ttl=TTL, clock=self.clock)
        # key -> [adds, dels, stamp]; key -> set of uids still expected
        self.rec: dict[str, list[Any]] = {}
        self.uids: dict[str, set[str]] = {}

    @rule(k=st.sampled_from(KEYS), adds=counts, dels=counts)
    def expect(self, k: str, adds: int, dels: int) -> None:
        self.e.expect(k, adds, dels)
        self.rec[k] = [adds, dels, self.clock.now()]

    @rule(k=st.sampled_from(KEYS), uids=st.lists(st.sampled_from(UIDS), max_size=4))
    def expect_deletions(self, k: str, uids: list[str]) -> None:
        self.e.expect_deletions(k, uids)
        self.uids[k] = set(uids)
        self.rec[k] = [0, len(set(uids)), self.clock.now()]

    @rule(k=st.sampled_from(KEYS), adds=counts, dels=counts, up=st.booleans())
    def raise_or_lower(self, k: str, adds: int, dels: int, up: bool) -> None:
        if up:
            self.e.raise_expectations(k, adds, dels)
        else:
            self.e.lower_expectations(k, adds, dels)
        if k in self.rec:
            sign = 1 if up else -1
            self.rec[k][0] += sign * adds
            self.rec[k][1] += sign * dels

    @rule(k=st.sampled_from(KEYS))
    def creation_observed(self, k: str) -> None:
        self.e.creation_observed(k)
        if k in self.rec:
            self.rec[k][0] -= 1

    @rule(k=st.sampled_from(KEYS), uid=st.sampled_from(UIDS))
    def deletion_observed(self, k: str, uid: str) -> None:
        self.e.deletion_observed(k, uid)
        if uid in self.uids.get(k, ()):
            self.uids[k].discard(uid)
            if k in self.rec:
                self.rec[k][1] -= 1

    @rule(k=st.sampled_from(KEYS))
    def delete(self, k: str) -> None:
        self.e.delete(k)
        self.rec.pop(k, None)
        self.uids.pop(k, None)

    @rule(dt=st.sampled_from([0.0, 1.0, 5.0, TTL]))
    def step(self, dt: float) -> None:
        self.clock.step(dt)

    @invariant()
    def matches_the_model(self) -> None:
        now = self.clock.now()
        for k in KEYS:
            r = self.rec.get(k)
            if r is None:
                assert self.e.get(k) == (0, 0, False)
                assert self.e.satisfied(k)
            else:
                assert self.e.get(k) == (r[0], r[1], True)
                want = (r[0] <= 0 and r[1] <= 0) or now - r[2] > TTL
                assert self.e.satisfied(k) == want
            u = self.uids.get(k)
            assert self.e.get_uids(k) == (None if u is None else frozenset(u))


ExpectationsMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
test_expectations_follow_the_model = ExpectationsMachine.TestCase

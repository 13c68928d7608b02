"""BackoffPriorityQueue under load: producer threads, thread/asyncio/trio poppers, random failures
and events on the real clock; and a hypothesis state machine of the tiers against a model."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import pytest
import trio
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

pytest.register_assert_rewrite("scheduling_support")
from scheduling_support import Job, higher_prio_first, job_key  # noqa: E402

from goprims.chan import Chan  # noqa: E402
from goprims.clock import FakeClock  # noqa: E402
from goprims.scheduling import (  # noqa: E402
    BackoffPriorityQueue,
    QueueClosed,
    QueuedItem,
    backoff_duration,
)

PRODUCERS = 8
PER_PRODUCER = 60
EVENTS = ("cpu", "mem", "disk")


def event_in_reasons(reasons: Any, event: Any) -> bool:
    return event in reasons


class Ledger:
    """Who holds what: a popper must never receive an item another popper holds."""

    def __init__(self, total: int) -> None:
        self.lock = threading.Lock()
        self.holding: set[str] = set()
        self.done: dict[str, int] = {}
        self.pops = 0
        self.violations: list[str] = []
        self.total = total
        self.all_done = threading.Event()

    def take(self, name: str) -> None:
        with self.lock:
            self.pops += 1
            if name in self.holding:
                self.violations.append(f"{name} held twice")
            if name in self.done:
                self.violations.append(f"{name} popped after done")
            self.holding.add(name)

    def release(self, name: str, finished: bool) -> None:
        with self.lock:
            self.holding.discard(name)
            if finished:
                self.done[name] = self.done.get(name, 0) + 1
                if len(self.done) == self.total:
                    self.all_done.set()


def handle(q: BackoffPriorityQueue[Job], ledger: Ledger, qi: QueuedItem[Job], rng: Any) -> None:
    name = qi.item.name
    ledger.take(name)
    fail = qi.attempts < 4 and rng.random() < 0.4
    ledger.release(name, finished=not fail)  # released before handing back: then re-poppable
    if fail:
        q.failed(qi, reasons={rng.choice(EVENTS)} if rng.random() < 0.7 else set())
    else:
        q.done(qi)


def thread_popper(q: BackoffPriorityQueue[Job], ledger: Ledger, seed: int) -> None:
    rng = random.Random(seed)
    while True:
        try:
            qi = q.pop()
        except QueueClosed:
            return
        handle(q, ledger, qi, rng)


async def async_popper(q: BackoffPriorityQueue[Job], ledger: Ledger, seed: int) -> None:
    rng = random.Random(seed)
    while True:
        try:
            qi = await q.async_pop()
        except QueueClosed:
            return
        handle(q, ledger, qi, rng)


def producer(q: BackoffPriorityQueue[Job], p: int, start: threading.Barrier) -> None:
    rng = random.Random(1000 + p)
    start.wait()
    for i in range(PER_PRODUCER):
        q.add(Job(f"p{p}-{i}", rng.randrange(5)))
        r = rng.random()
        if r < 0.15:
            q.move_all(rng.choice(EVENTS))
        elif r < 0.2:
            q.activate([f"p{rng.randrange(PRODUCERS)}-{rng.randrange(PER_PRODUCER)}"])


def test_producers_and_thread_asyncio_trio_poppers_pop_every_item_never_twice_at_once() -> None:
    q: BackoffPriorityQueue[Job] = BackoffPriorityQueue(
        job_key,
        higher_prio_first,
        initial_backoff=0.001,
        max_backoff=0.004,
        max_parked=0.02,  # parked items come out even if no matching event arrives
        matches=event_in_reasons,
    )
    total = PRODUCERS * PER_PRODUCER
    ledger = Ledger(total)
    stop: Chan[None] = Chan()
    threads = [threading.Thread(target=q.run, args=(stop,), name="flusher")]
    threads += [
        threading.Thread(target=thread_popper, args=(q, ledger, s), name=f"popper-{s}")
        for s in range(2)
    ]

    def asyncio_poppers() -> None:
        async def main() -> None:
            await asyncio.gather(async_popper(q, ledger, 10), async_popper(q, ledger, 11))

        asyncio.run(main())

    def trio_popper() -> None:
        trio.run(async_popper, q, ledger, 20)

    threads.append(threading.Thread(target=asyncio_poppers, name="asyncio-poppers"))
    threads.append(threading.Thread(target=trio_popper, name="trio-popper"))
    start = threading.Barrier(PRODUCERS)
    producers = [
        threading.Thread(target=producer, args=(q, p, start), name=f"producer-{p}")
        for p in range(PRODUCERS)
    ]
    for t in threads + producers:
        t.start()
    for t in producers:
        t.join()
    # events keep coming until everything is done (parked items also age out on their own)
    rng = random.Random(7)
    while not ledger.all_done.wait(0.01):
        q.move_all(rng.choice(EVENTS))
    stop.close()
    q.close()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), f"{t.name} did not stop"
    assert ledger.violations == []
    assert sorted(ledger.done) == sorted(
        f"p{p}-{i}" for p in range(PRODUCERS) for i in range(PER_PRODUCER)
    )
    assert set(ledger.done.values()) == {1}
    assert ledger.pops >= total
    assert q.pending() == (0, 0, 0)
    assert q.in_flight() == 0


# --------------------------------------------------------------------------- state machine

KEYS = ("a", "b", "c", "d")
MAX_PARKED = 30.0


class Model:
    """What the queue should hold: tier and record per key, with the guard's counters."""

    def __init__(self) -> None:
        self.now = 0.0
        self.tier: dict[str, str] = {}
        self.prio: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.ts: dict[str, float] = {}
        self.reasons: dict[str, frozenset[str]] = {}
        self.flight: dict[str, dict[str, Any]] = {}
        self.cycle = 0
        self.move_cycle = -1

    def expiry(self, k: str) -> float:
        return self.ts[k] + backoff_duration(self.attempts[k], 1.0, 10.0)

    def requeue(self, k: str) -> None:
        self.tier[k] = "backoff" if self.expiry(k) > self.now else "active"

    def new_active(self, k: str, prio: int) -> None:
        self.tier[k] = "active"
        self.prio[k] = prio
        self.attempts[k] = 0
        self.ts[k] = self.now
        self.reasons[k] = frozenset()


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.q: BackoffPriorityQueue[Job] = BackoffPriorityQueue(
            job_key,
            higher_prio_first,
            max_parked=MAX_PARKED,
            matches=event_in_reasons,
            clock=self.clock,
        )
        self.m = Model()
        self.out: dict[str, QueuedItem[Job]] = {}

    @rule(k=st.sampled_from(KEYS), prio=st.integers(0, 2))
    def add(self, k: str, prio: int) -> None:
        self.q.add(Job(k, prio))
        m = self.m
        if k in m.flight:
            m.flight[k].update(pending=prio, changed=True, deleted=False)
        elif k in m.tier:
            m.tier[k] = "active"
            m.prio[k] = prio
        else:
            m.new_active(k, prio)

    @rule(k=st.sampled_from(KEYS), prio=st.integers(0, 2))
    def update(self, k: str, prio: int) -> None:
        self.q.update(Job(k, prio))
        m = self.m
        if k in m.flight:
            m.flight[k].update(pending=prio, changed=True, deleted=False)
        elif m.tier.get(k) == "parked":
            m.prio[k] = prio
            m.requeue(k)
        elif k in m.tier:
            m.prio[k] = prio
        else:
            m.new_active(k, prio)

    @rule(k=st.sampled_from(KEYS))
    def delete(self, k: str) -> None:
        m = self.m
        assert self.q.delete(Job(k)) == (k in m.tier or k in m.flight)
        if k in m.flight:
            m.flight[k].update(deleted=True, pending=None)
        else:
            m.tier.pop(k, None)

    @rule()
    def pop(self) -> None:
        m = self.m
        active = [k for k, t in m.tier.items() if t == "active"]
        if not active:
            with pytest.raises(TimeoutError):
                self.q.pop(timeout=0)
            return
        qi = self.q.pop(timeout=0)
        k = qi.item.name
        best = max(m.prio[a] for a in active)
        oldest = min(m.ts[a] for a in active if m.prio[a] == best)
        assert m.prio[k] == best, (k, m.tier)
        assert m.ts[k] == oldest, (k, m.tier)
        assert qi.item.prio == m.prio[k]
        m.cycle += 1
        m.attempts[k] += 1
        assert (qi.attempts, qi.cycle, qi.timestamp) == (m.attempts[k], m.cycle, m.ts[k])
        del m.tier[k]
        m.flight[k] = {"cycle": m.cycle, "pending": None, "changed": False, "deleted": False}
        self.out[k] = qi

    @precondition(lambda self: bool(self.out))
    @rule(data=st.data(), reasons=st.sets(st.sampled_from(("cpu", "mem")), max_size=2))
    def failed(self, data: st.DataObject, reasons: set[str]) -> None:
        k = data.draw(st.sampled_from(sorted(self.out)))
        self.q.failed(self.out.pop(k), reasons=reasons)
        m = self.m
        f = m.flight.pop(k)
        if f["deleted"]:
            for d in (m.prio, m.attempts, m.ts, m.reasons):
                d.pop(k, None)
            return
        if f["pending"] is not None:
            m.prio[k] = f["pending"]
        m.ts[k] = m.now
        m.reasons[k] = frozenset(reasons)
        if f["changed"] or m.move_cycle >= f["cycle"]:
            m.requeue(k)
        else:
            m.tier[k] = "parked"

    @precondition(lambda self: bool(self.out))
    @rule(data=st.data())
    def done(self, data: st.DataObject) -> None:
        k = data.draw(st.sampled_from(sorted(self.out)))
        self.q.done(self.out.pop(k))
        m = self.m
        f = m.flight.pop(k)
        if f["pending"] is not None:
            m.new_active(k, f["pending"])

    @rule(event=st.sampled_from(("cpu", "mem", "disk")))
    def move_all(self, event: str) -> None:
        m = self.m
        expect = [
            k
            for k, t in m.tier.items()
            if t == "parked" and (not m.reasons[k] or event in m.reasons[k])
        ]
        assert self.q.move_all(event) == len(expect)
        m.move_cycle = m.cycle
        for k in expect:
            m.requeue(k)

    @rule(k=st.sampled_from(KEYS))
    def activate(self, k: str) -> None:
        m = self.m
        moved = m.tier.get(k) in ("backoff", "parked")
        assert self.q.activate([k]) == int(moved)
        if k in m.flight:
            m.flight[k]["changed"] = True
        elif moved:
            m.tier[k] = "active"

    @rule(dt=st.sampled_from((0.5, 1.0, 4.0, 15.0)))
    def step(self, dt: float) -> None:
        self.clock.step(dt)
        self.m.now += dt

    @rule()
    def flush_backoff(self) -> None:
        self.q.flush_backoff()
        m = self.m
        for k, t in m.tier.items():
            if t == "backoff" and m.expiry(k) <= m.now:
                m.tier[k] = "active"

    @rule()
    def flush_parked(self) -> None:
        self.q.flush_parked()
        m = self.m
        moved = [k for k, t in m.tier.items() if t == "parked" and m.now - m.ts[k] >= MAX_PARKED]
        for k in moved:
            m.requeue(k)
        if moved:
            m.move_cycle = m.cycle

    @invariant()
    def tiers_match_the_model(self) -> None:
        m = self.m
        for k in KEYS:
            want = m.tier.get(k) or ("in_flight" if k in m.flight else None)
            assert self.q.tier_of(Job(k)) == want, (k, want)
        counts = [
            sum(1 for t in m.tier.values() if t == x) for x in ("active", "backoff", "parked")
        ]
        assert self.q.pending() == tuple(counts)
        assert self.q.in_flight() == len(m.flight)


class SortKeyQueueMachine(QueueMachine):
    """The same model with the queue ordered by ``sort_key`` (the C-compared heap keys)."""

    def __init__(self) -> None:
        super().__init__()
        self.q = BackoffPriorityQueue(
            job_key,
            None,
            sort_key=lambda j: -j.prio,
            max_parked=MAX_PARKED,
            matches=event_in_reasons,
            clock=self.clock,
        )


_SETTINGS = settings(max_examples=150, stateful_step_count=40, deadline=None)
QueueMachine.TestCase.settings = _SETTINGS
SortKeyQueueMachine.TestCase.settings = _SETTINGS
test_queue_tiers_follow_the_model = QueueMachine.TestCase
test_sort_key_queue_tiers_follow_the_model = SortKeyQueueMachine.TestCase

"""ApprovalGate and WaitingRegistry: kube-scheduler's WaitingPod rules (waiting_pods_map.go and
its test, framework_test.go's Permit cases), on a FakeClock, from threads, asyncio and trio."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

pytest.register_assert_rewrite("scheduling_support")
from scheduling_support import Bg, wait_for  # noqa: E402

from goprims.clock import FakeClock, RealClock  # noqa: E402
from goprims.scheduling import ApprovalGate, Decision, WaitingRegistry  # noqa: E402


def gate(clock: FakeClock | None = None, **parties: float) -> ApprovalGate:
    return ApprovalGate(parties, clock=clock if clock is not None else FakeClock())


def test_allow_by_every_party_decides_allowed() -> None:
    g = gate(quota=5.0, coscheduling=30.0)
    assert g.pending() == {"quota", "coscheduling"}
    assert not g.allow("quota")  # not the last one
    assert g.decision is None
    assert g.pending() == {"coscheduling"}
    assert g.allow("coscheduling")
    assert g.wait(timeout=0) == Decision(True, None, "")
    assert g.pending() == set()


def test_one_reject_decides_rejected_and_names_its_party() -> None:
    g = gate(quota=5.0, coscheduling=30.0)
    g.allow("quota")
    assert g.reject("coscheduling", "group incomplete")
    assert g.wait(timeout=0) == Decision(False, "coscheduling", "group incomplete")


def test_a_timeout_rejects_naming_the_party_whose_timer_fired() -> None:
    clock = FakeClock()
    g = gate(clock, fast=0.05, slow=10.0)
    clock.step(0.049)
    assert g.decision is None
    clock.step(0.001)
    d = g.wait(timeout=0)
    assert (d.allowed, d.party) == (False, "fast")
    assert d.message == "rejected due to timeout after waiting 0.05 s at fast"
    assert not clock.has_waiters()  # the decision stopped the other timer


def test_an_allowed_party_no_longer_times_out() -> None:
    clock = FakeClock()
    g = gate(clock, a=1.0, b=2.0)
    g.allow("a")
    assert clock.waiters() == 1
    clock.step(1.5)
    assert g.decision is None
    clock.step(0.5)
    assert g.wait(timeout=0).party == "b"


def test_first_decision_wins_reject_then_allow_stays_rejected() -> None:
    g = gate(a=10.0)
    assert g.reject("a", "no")
    assert not g.allow("a")
    assert not g.reject("a", "again")
    assert g.wait(timeout=0) == Decision(False, "a", "no")


def test_first_decision_wins_allowed_then_reject_stays_allowed() -> None:
    """TestWaitingPodReturnFalseOnAllowed / TestWaitingPodMultipleActions."""
    clock = FakeClock()
    g = gate(clock, plugin1=10.0)
    assert g.allow("plugin1")
    assert not g.reject("plugin2", "rejected")
    assert not g.reject("preemption-plugin", "preempted")
    clock.step(20.0)  # no timer left to fire
    assert g.wait(timeout=0) == Decision(True, None, "")


def test_timeouts_above_max_timeout_are_clamped() -> None:
    clock = FakeClock()
    g = ApprovalGate({"slow": 3600.0, "ok": 5.0}, max_timeout=900.0, clock=clock)
    assert g.timeouts == {"slow": 900.0, "ok": 5.0}
    g.allow("ok")
    clock.step(899.0)
    assert g.decision is None
    clock.step(1.0)
    assert g.wait(timeout=0) == Decision(
        False, "slow", "rejected due to timeout after waiting 900 s at slow"
    )


def test_allow_and_reject_return_at_once_with_nobody_waiting_and_unknown_party_is_ignored() -> None:
    g = gate(a=1.0)
    assert not g.allow("nobody")
    assert g.pending() == {"a"}
    assert g.allow("a")
    assert not g.allow("a")


def test_a_gate_without_parties_is_allowed_at_once() -> None:
    assert ApprovalGate({}).wait(timeout=0) == Decision(True, None, "")


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_bad_timeouts_raise_value_error(bad: float) -> None:
    with pytest.raises(ValueError, match="x"):
        ApprovalGate({"x": bad})
    with pytest.raises(ValueError, match="max_timeout"):
        ApprovalGate({"x": 1.0}, max_timeout=bad)


def test_wait_blocks_until_decided_and_every_waiter_gets_the_same_decision() -> None:
    g = gate(a=10.0, b=10.0)
    waiters = [Bg(g.wait) for _ in range(3)]
    wait_for(lambda: len(g._waiters) == 3)
    g.allow("a")
    assert not any(w.done.is_set() for w in waiters)
    g.reject("b", "nope")
    for w in waiters:
        assert w.join() == Decision(False, "b", "nope")
    assert g.wait() == Decision(False, "b", "nope")


def test_wait_timeout_raises_and_decides_nothing() -> None:
    g = gate(a=10.0)
    with pytest.raises(TimeoutError):
        g.wait(timeout=0)
    with pytest.raises(TimeoutError):
        g.wait(timeout=0.01)
    assert g.decision is None
    assert not g._waiters


def test_asyncio_wait_is_woken_by_a_thread_allow() -> None:
    g = gate(a=10.0)

    async def main() -> Decision:
        t = threading.Thread(target=lambda: (wait_for(lambda: bool(g._waiters)), g.allow("a")))
        t.start()
        d = await g.async_wait()
        t.join()
        return d

    assert asyncio.run(main()) == Decision(True, None, "")


def test_trio_wait_is_woken_by_a_thread_reject_and_cancellation_leaves_nothing() -> None:
    g = gate(a=10.0)

    async def main() -> Decision:
        with trio.move_on_after(0.01):
            await g.async_wait()
        assert not g._waiters
        t = threading.Thread(target=lambda: (wait_for(lambda: bool(g._waiters)), g.reject("a")))
        t.start()
        d = await g.async_wait()
        t.join()
        return d

    assert trio.run(main) == Decision(False, "a", "")


def test_asyncio_wait_returns_at_once_when_decided_and_times_out_otherwise() -> None:
    async def main() -> None:
        g = gate(a=10.0)
        with pytest.raises(TimeoutError):
            await g.async_wait(timeout=0.01)
        g.allow("a")
        assert (await g.async_wait()).allowed

    asyncio.run(main())


def test_real_clock_timeout_rejects_a_waiting_thread() -> None:
    g = ApprovalGate({"fast": 0.01}, clock=RealClock())
    d = g.wait(timeout=10)
    assert (d.allowed, d.party) == (False, "fast")


# ------------------------------------------------------------------------------- registry


def test_registry_add_get_remove_items() -> None:
    reg: WaitingRegistry[str] = WaitingRegistry()
    g1, g2 = gate(a=1.0), gate(b=1.0)
    reg.add("job-1", g1)
    reg.add("job-2", g2)
    assert reg.get("job-1") is g1
    assert reg.get("nope") is None
    assert sorted(k for k, _ in reg.items()) == ["job-1", "job-2"]
    assert len(reg) == 2
    assert "job-2" in reg
    assert reg.remove("job-1") is g1
    assert reg.remove("job-1") is None
    assert reg.get("job-1") is None


def test_registry_reject_decides_a_waiting_gate_once() -> None:
    """RejectWaitingPod (preemption)."""
    reg: WaitingRegistry[str] = WaitingRegistry()
    g = gate(a=1.0)
    reg.add("job", g)
    assert reg.reject("job", "preempted")
    assert not reg.reject("job", "again")
    assert not reg.reject("absent", "x")
    assert g.wait(timeout=0) == Decision(False, "", "preempted")

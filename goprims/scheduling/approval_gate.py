"""An N-party approval latch with per-party deadlines: kube-scheduler's ``WaitingPod``.

A Permit plugin may answer "wait" instead of yes or no; the pod then waits until every waiting
plugin allowed it, or one of them rejected it, or one of them ran out of time
(``framework/runtime/waiting_pods_map.go``). :class:`ApprovalGate` is that latch for any work
gated on several independent approvers:

* :meth:`~ApprovalGate.allow` and :meth:`~ApprovalGate.reject` never block, from any thread or
  task, waited on or not;
* the **first decision wins**: the last pending party allowing decides "allowed"; a reject (or
  a party's timeout, which is a reject naming that party) decides "rejected"; any call after
  the decision changes nothing;
* each party's timeout is clamped to ``max_timeout`` (upstream: 15 min) and runs on the clock
  as one callback per party, cancelled by that party's allow and by the decision.

Unlike upstream's buffered channel, which hands the decision to one receiver, the decision
stays: every :meth:`~ApprovalGate.wait`, before or after it, returns the same
:class:`Decision`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import Generic, NamedTuple, TypeVar

from goprims._waiter import (
    Blocking,
    Parked,
    ThreadWaiter,
    Waiter,
    WaitQueue,
    async_block,
    async_waiter,
    block,
    wake_all,
)
from goprims.clock import Clock, TimerHandle, resolve

__all__ = ["ApprovalGate", "Decision", "WaitingRegistry"]

K = TypeVar("K", bound=Hashable)


class Decision(NamedTuple):
    """The outcome of an :class:`ApprovalGate`.

    ``allowed``; ``party``: who rejected (None when allowed; the party whose timeout fired for
    a timeout); ``message``: the rejection's message ("" when allowed).
    """

    allowed: bool
    party: str | None
    message: str


_ALLOWED = Decision(True, None, "")


class ApprovalGate:
    """Wait until every party allows, or one rejects or times out; the first decision wins.

    ``parties`` maps each party's name to its timeout in seconds (clamped to ``max_timeout``;
    negative or NaN raises :class:`ValueError`). A gate with no parties is allowed at once.
    Timeouts run on ``clock`` (default the real one) from construction; a timed-out party
    rejects with the message ``"rejected due to timeout after waiting {t} s at {party}"``.
    """

    __slots__ = ("_clock", "_decision", "_lock", "_pending", "_waiters", "timeouts")

    def __init__(
        self,
        parties: Mapping[str, float],
        *,
        max_timeout: float = 900.0,
        clock: Clock | None = None,
    ) -> None:
        if not max_timeout >= 0:
            raise ValueError(f"ApprovalGate max_timeout must be >= 0, not {max_timeout!r}")
        self.timeouts: dict[str, float] = {}
        """Each party's timeout after clamping to ``max_timeout``."""
        for party, t in parties.items():
            if not t >= 0:
                raise ValueError(f"ApprovalGate timeout of {party!r} must be >= 0, not {t!r}")
            self.timeouts[party] = min(float(t), float(max_timeout))
        self._clock = resolve(clock)
        # Guards every field below. Held while the timers are armed, so that no timer can
        # decide before the constructor is done (upstream holds its lock the same way).
        self._lock = threading.Lock()
        self._decision: Decision | None = None if self.timeouts else _ALLOWED
        # party -> its timeout callback; parties that did not allow yet.
        self._pending: dict[str, TimerHandle] = {}
        # Parked wait() callers; all fired (value=the decision) when the decision is made.
        self._waiters = WaitQueue(self._lock)
        with self._lock:
            for party, t in self.timeouts.items():
                self._pending[party] = self._clock.call_later(t, partial(self._time_out, party, t))

    # ------------------------------------------------------------------ internal

    def _decide(self, decision: Decision) -> list[Parked]:
        """Record the decision, stop the timers, claim the waiters. Lock held."""
        self._decision = decision
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        woken = self._waiters.claim_all()
        for e in woken:
            e.waiter.value = decision
        return woken

    def _time_out(self, party: str, after: float) -> None:
        self.reject(party, f"rejected due to timeout after waiting {after:g} s at {party}")

    # ------------------------------------------------------------------ deciding

    def allow(self, party: str) -> bool:
        """``party`` allows; returns True if this call decided (it was the last pending one).

        Stops ``party``'s timer. Unknown parties and calls after the decision do nothing.
        Never blocks.
        """
        with self._lock:
            handle = self._pending.pop(party, None)
            if handle is None or self._decision is not None:
                return False
            handle.cancel()
            if self._pending:
                return False
            wake = self._decide(_ALLOWED)
        wake_all(wake)
        return True

    def reject(self, party: str, message: str = "") -> bool:
        """``party`` (any name, also one not in ``parties``) rejects with ``message``; returns
        True if this call decided, False if a decision was already made. Never blocks."""
        with self._lock:
            if self._decision is not None:
                return False
            wake = self._decide(Decision(False, party, message))
        wake_all(wake)
        return True

    # ------------------------------------------------------------------ observing

    @property
    def decision(self) -> Decision | None:
        """The decision, or None while undecided."""
        return self._decision

    def pending(self) -> set[str]:
        """The parties that have not allowed yet (empty once decided)."""
        with self._lock:
            return set(self._pending)

    def _waiting(
        self, timeout: float | None, new_waiter: Callable[[], Waiter]
    ) -> Blocking[Decision]:
        """wait for every world (:func:`~goprims._waiter.block` / ``async_block``)."""
        with self._lock:
            if self._decision is not None:
                return self._decision
            if timeout is not None and timeout <= 0:
                raise TimeoutError("ApprovalGate.wait: no decision yet")
            e = self._waiters.park(new_waiter())
        if not (yield e.waiter, timeout, self._waiters.withdrawer(e)):
            raise TimeoutError("ApprovalGate.wait: no decision yet")
        decision: Decision = e.waiter.value
        return decision

    def wait(self, timeout: float | None = None) -> Decision:
        """Block until the decision and return it (at once if already decided).

        ``timeout`` (seconds, 0: do not block) raises :class:`TimeoutError`; that is the
        waiter giving up, not a decision: the parties' own timeouts decide.
        """
        decision = self._decision
        if decision is not None:
            return decision
        return block(self._waiting(timeout, ThreadWaiter))

    async def async_wait(self, timeout: float | None = None) -> Decision:
        """:meth:`wait` for asyncio and trio tasks; the parties may be threads."""
        return await async_block(self._waiting(timeout, async_waiter))

    def __repr__(self) -> str:
        return f"ApprovalGate(pending={sorted(self._pending)!r}, decision={self._decision!r})"


class WaitingRegistry(Generic[K]):
    """Gates by key, thread-safe (upstream ``waitingPodsMap``): where a preemptor finds the
    gate of a waiting job to reject it."""

    __slots__ = ("_gates", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[K, ApprovalGate] = {}  # guarded by _lock

    def add(self, key: K, gate: ApprovalGate) -> None:
        """Register ``gate`` under ``key`` (replacing any gate there)."""
        with self._lock:
            self._gates[key] = gate

    def get(self, key: K) -> ApprovalGate | None:
        """The gate under ``key``, or None."""
        with self._lock:
            return self._gates.get(key)

    def remove(self, key: K) -> ApprovalGate | None:
        """Unregister and return the gate under ``key`` (None if absent)."""
        with self._lock:
            return self._gates.pop(key, None)

    def reject(self, key: K, message: str, *, party: str = "") -> bool:
        """Reject the gate under ``key`` (upstream ``RejectWaitingPod``); True if this decided
        it, False if there is no such gate or it was already decided."""
        gate = self.get(key)
        return gate is not None and gate.reject(party, message)

    def items(self) -> list[tuple[K, ApprovalGate]]:
        """The registered ``(key, gate)`` pairs (a copy)."""
        with self._lock:
            return list(self._gates.items())

    def __len__(self) -> int:
        return len(self._gates)

    def __contains__(self, key: object) -> bool:
        return key in self._gates

"""The channel soak: ``python -m bench --soak N`` (and a short run in the test suite).

Threads, asyncio tasks and trio tasks share a set of channels of every capacity (0, small,
unbounded) and do random operations on them until ``N`` operations have been made: sends and
receives with random timeouts (0, tiny, short, none), selects over several cases (receive and
send cases mixed, the same channel twice, with ``default`` or a timeout), closes (the closed
channel is replaced by a fresh one of the same capacity, so the set stays usable), and, in the
async workers, cancellations at random moments (``Task.cancel`` after some loop turns, trio
cancel scopes with tiny deadlines or cancelled up front).

Every value sent is unique. Each worker records, without locks, what happened to each of its
values from the caller's point of view:

* **sent**: ``send``/``async_send`` returned, or a select returned the index of that send case;
* **not sent**: the send raised (``ChanClosed``, ``TimeoutError``, a cancellation), or the
  select fired another case, took its default, timed out or raised;
* **received**: a receive returned it (``recv_ok`` with ok, a select's receive case).

At the end every channel ever created is closed and drained (values buffered in a closed
channel are still delivered), and the model check is: every value received exactly once, the
values received are exactly the values sent (no loss, no phantom), nothing reported as not sent
was received, no waiter is left queued on any channel, and no thread is left behind.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import trio

from goprims.chan import Chan, ChanClosed, Recv, Selected, Send, async_select, select

CAPACITIES: tuple[int | None, ...] = (0, 0, 1, 3, None, None)
TIMEOUTS: tuple[float | None, ...] = (0, 0, 0.0002, 0.002, None)
# Thread worker 0 never blocks without a timeout: it always makes progress, so the run reaches
# N even if every other worker is parked on a channel nobody else touches any more.
STEADY_TIMEOUTS: tuple[float | None, ...] = (0, 0, 0.0002, 0.002)


@dataclass
class Ledger:
    """What one worker saw. Lists are appended by their own worker only."""

    sent: list[int] = field(default_factory=list)
    not_sent: list[int] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)


@dataclass
class SoakResult:
    """The outcome of one soak run."""

    ops: int
    seconds: float
    sent: int
    not_sent: int
    received: int
    lost: list[int]
    duplicated: list[int]
    phantom: list[int]
    received_but_reported_not_sent: list[int]
    channels: int
    waiters_left: int
    threads_left: list[str]
    kinds: Counter[str]
    worlds: Counter[str]

    @property
    def ok(self) -> bool:
        """True when the model check found nothing wrong."""
        return not (
            self.lost
            or self.duplicated
            or self.phantom
            or self.received_but_reported_not_sent
            or self.waiters_left
            or self.threads_left
        )

    def summary(self) -> str:
        """A few lines for a human."""
        rate = self.ops / self.seconds if self.seconds else 0.0
        lines = [
            f"soak: {self.ops:,} operations in {self.seconds:.1f} s ({rate:,.0f} ops/s) on "
            f"{self.channels} channels; workers: "
            + ", ".join(f"{w} {n}" for w, n in sorted(self.worlds.items())),
            f"  values sent {self.sent:,}, reported not sent {self.not_sent:,}, "
            f"received {self.received:,}",
            f"  lost {len(self.lost)}, duplicated {len(self.duplicated)}, "
            f"phantom {len(self.phantom)}, received though reported not sent "
            f"{len(self.received_but_reported_not_sent)}, waiters left {self.waiters_left}, "
            f"threads left {len(self.threads_left)}",
            "  operations: " + ", ".join(f"{k} {n:,}" for k, n in sorted(self.kinds.items())),
            "  verdict: " + ("OK" if self.ok else "FAILED"),
        ]
        return "\n".join(lines)


class Arena:
    """The shared channels and the stop protocol.

    ``slots`` holds the channel currently in use at each position; a close replaces it. Under
    ``lock``: replacing a slot, appending to ``every_channel``, and the ``stopping`` flag (once
    set, no slot is replaced, so closing ``every_channel`` afterwards closes every channel that
    will ever exist, which wakes every parked operation).
    """

    def __init__(self, n_ops: int) -> None:
        self.slots: list[Chan[int]] = [Chan(cap) for cap in CAPACITIES]
        self.every_channel: list[Chan[int]] = list(self.slots)
        self.lock = threading.Lock()
        self.stopping = False
        self.n_ops = n_ops
        self._counter = itertools.count(1)  # next() is atomic under the GIL
        self.budget_spent = threading.Event()

    def count_op(self) -> bool:
        """Count one operation; True once the run should stop."""
        if next(self._counter) > self.n_ops:
            self.budget_spent.set()
        return self.stopping or self.budget_spent.is_set()

    def pick(self, rnd: random.Random) -> Chan[int]:
        return self.slots[rnd.randrange(len(self.slots))]

    def close_and_replace(self, rnd: random.Random) -> None:
        i = rnd.randrange(len(self.slots))
        with self.lock:
            if self.stopping:
                return
            old = self.slots[i]
            new: Chan[int] = Chan(old.cap)
            self.slots[i] = new
            self.every_channel.append(new)
        try:
            old.close()
        except ChanClosed:  # only the replacer closes a slot's channel, so never twice
            raise AssertionError("a slot's channel was closed twice") from None

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            channels = list(self.every_channel)
        for ch in channels:
            try:
                ch.close()
            except ChanClosed:
                pass


class Worker:
    """What the workers of every world share: the worker's random stream (one seed gives one
    sequence of operations), its unique values, the mix of operations, the counting of
    operations in its ledger, and the bookkeeping of selects and closes.

    An operation's kind is counted as ``prefix + op`` (``" cancelled"`` appended when the
    operation is to be cancelled); a close is counted as ``"close"`` in every world.
    """

    def __init__(
        self,
        arena: Arena,
        wid: int,
        seed: int,
        ledger: Ledger,
        prefix: str,
        timeouts: tuple[float | None, ...] = TIMEOUTS,
        cancels: bool = True,
    ) -> None:
        self.arena = arena
        self.ledger = ledger
        self.rnd = random.Random(seed)
        self._wid = wid
        self._seq = itertools.count()
        self._prefix = prefix
        self._timeouts = timeouts
        self._cancels = cancels

    def new_value(self) -> int:
        """A value no other worker and no other call of this worker ever sends."""
        return (self._wid << 40) | next(self._seq)

    def turns(self) -> Iterator[tuple[str, Chan[int], float | None, bool]]:
        """``(op, channel, timeout, cancel)`` for each operation until the run stops: ``op`` is
        "send", "recv", "select" or "close"; ``cancel`` (async worlds only) says the operation
        is to be cancelled at a random moment."""
        rnd = self.rnd
        while not self.arena.count_op():
            r = rnd.random()
            ch = self.arena.pick(rnd)
            timeout = rnd.choice(self._timeouts)
            cancel = self._cancels and rnd.random() < 0.3
            if r < 0.35:
                op = "send"
            elif r < 0.70:
                op = "recv"
            elif r < 0.995:
                op = "select"
            else:
                self.ledger.ops["close"] += 1
                yield "close", ch, timeout, cancel
                continue
            self.ledger.ops[self._prefix + op + (" cancelled" if cancel else "")] += 1
            yield op, ch, timeout, cancel

    def select_cases(
        self, timeout: float | None
    ) -> tuple[list[Recv | Send], list[int | None], bool, float | None]:
        """1-4 random cases, each case's send value (None for a receive), whether the select
        has a default, and its timeout (None with a default)."""
        cases: list[Recv | Send] = []
        values: list[int | None] = []
        rnd = self.rnd
        first = self.arena.pick(rnd)
        for _ in range(rnd.randint(1, 4)):
            ch = first if rnd.random() < 0.3 else self.arena.pick(rnd)  # the same channel twice
            if rnd.random() < 0.5:
                v = self.new_value()
                cases.append(Send(ch, v))
                values.append(v)
            else:
                cases.append(Recv(ch))
                values.append(None)
        default = rnd.random() < 0.3
        return cases, values, default, None if default else timeout

    def settle_send(self, v: int, done: bool) -> None:
        (self.ledger.sent if done else self.ledger.not_sent).append(v)

    def settle_select(self, values: list[int | None], sel: Selected | None) -> None:
        """Record a select's outcome: ``sel`` None means it raised (no case happened)."""
        fired = -1 if sel is None else sel.index
        for i, v in enumerate(values):
            if v is not None:
                self.settle_send(v, i == fired)
        if sel is not None and sel.index >= 0 and values[sel.index] is None and sel.ok:
            self.ledger.received.append(sel.value)

    def close_one(self) -> None:
        self.arena.close_and_replace(self.rnd)


# ------------------------------------------------------------------------------------ threads


def thread_worker(arena: Arena, wid: int, seed: int, ledger: Ledger) -> None:
    timeouts = STEADY_TIMEOUTS if wid == 0 else TIMEOUTS
    w = Worker(arena, wid, seed, ledger, "", timeouts, cancels=False)
    for op, ch, timeout, _ in w.turns():
        if op == "send":
            v = w.new_value()
            try:
                ch.send(v, timeout=timeout)
            except (ChanClosed, TimeoutError):
                w.settle_send(v, False)
            else:
                w.settle_send(v, True)
        elif op == "recv":
            try:
                got, ok = ch.recv_ok(timeout=timeout)
            except TimeoutError:
                continue
            if ok:
                ledger.received.append(got)  # type: ignore[arg-type]
        elif op == "select":
            cases, values, default, sel_timeout = w.select_cases(timeout)
            sel: Selected | None
            try:
                sel = select(*cases, default=default, timeout=sel_timeout)
            except (ChanClosed, TimeoutError):
                sel = None
            w.settle_select(values, sel)
        else:
            w.close_one()


# ------------------------------------------------------------------------------------ asyncio


async def _asyncio_cancel_after(coro: Any, turns: int) -> tuple[bool, Any]:
    """Run ``coro`` as a task, cancel it after ``turns`` loop turns; (completed, result)."""
    task = asyncio.ensure_future(coro)
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    try:
        return True, await task
    except asyncio.CancelledError:
        return False, None


async def asyncio_worker(arena: Arena, wid: int, seed: int, ledger: Ledger) -> None:
    w = Worker(arena, wid, seed, ledger, "async ")
    for op, ch, timeout, cancel in w.turns():
        turns = w.rnd.randint(0, 3)
        if op == "send":
            v = w.new_value()
            try:
                if cancel:
                    done, _ = await _asyncio_cancel_after(ch.async_send(v, timeout=timeout), turns)
                else:
                    await ch.async_send(v, timeout=timeout)
                    done = True
            except (ChanClosed, TimeoutError):
                done = False
            w.settle_send(v, done)
        elif op == "recv":
            try:
                if cancel:
                    coro = ch.async_recv_ok(timeout=timeout)
                    done, res = await _asyncio_cancel_after(coro, turns)
                else:
                    res = await ch.async_recv_ok(timeout=timeout)
                    done = True
            except TimeoutError:
                continue
            if done and res[1]:
                ledger.received.append(res[0])
        elif op == "select":
            cases, values, default, sel_timeout = w.select_cases(timeout)
            sel: Selected | None
            try:
                sel_coro = async_select(*cases, default=default, timeout=sel_timeout)
                if cancel:
                    _, sel = await _asyncio_cancel_after(sel_coro, turns)
                else:
                    sel = await sel_coro
            except (ChanClosed, TimeoutError):
                sel = None
            w.settle_select(values, sel)
        else:
            w.close_one()


def run_asyncio_workers(arena: Arena, wids: list[int], seed: int, ledgers: list[Ledger]) -> None:
    async def main() -> None:
        await asyncio.gather(
            *(asyncio_worker(arena, w, seed + w, led) for w, led in zip(wids, ledgers, strict=True))
        )

    asyncio.run(main())


# ---------------------------------------------------------------------------------------- trio


async def trio_worker(arena: Arena, wid: int, seed: int, ledger: Ledger) -> None:
    w = Worker(arena, wid, seed, ledger, "trio ")
    for op, ch, timeout, cancel in w.turns():
        # A cancel scope cancelled before the call, or with a deadline a few microseconds away.
        scope = trio.CancelScope()
        if cancel:
            if w.rnd.random() < 0.3:
                scope.cancel()
            else:
                scope.deadline = trio.current_time() + w.rnd.choice((0.00001, 0.0001, 0.0005))
        if op == "send":
            v = w.new_value()
            done = False
            try:
                with scope:
                    await ch.async_send(v, timeout=timeout)
                    done = True
            except (ChanClosed, TimeoutError):
                pass
            w.settle_send(v, done)
        elif op == "recv":
            res: tuple[int | None, bool] | None = None
            try:
                with scope:
                    res = await ch.async_recv_ok(timeout=timeout)
            except TimeoutError:
                continue
            if res is not None and res[1]:
                ledger.received.append(res[0])  # type: ignore[arg-type]
        elif op == "select":
            cases, values, default, sel_timeout = w.select_cases(timeout)
            sel: Selected | None = None
            try:
                with scope:
                    sel = await async_select(*cases, default=default, timeout=sel_timeout)
            except (ChanClosed, TimeoutError):
                sel = None
            w.settle_select(values, sel)
        else:
            w.close_one()
        await trio.lowlevel.checkpoint()


def run_trio_workers(arena: Arena, wids: list[int], seed: int, ledgers: list[Ledger]) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for w, led in zip(wids, ledgers, strict=True):
                nursery.start_soon(trio_worker, arena, w, seed + w, led)

    trio.run(main)


# ------------------------------------------------------------------------------------- driver


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()}


def judge(sent: list[int], not_sent: list[int], received: list[int]) -> dict[str, Any]:
    """The model check over every worker's records (plus the final drain in ``received``)."""
    counts = Counter(received)
    sent_set, received_set, not_sent_set = set(sent), set(counts), set(not_sent)
    if len(sent_set) != len(sent) or sent_set & not_sent_set:
        raise AssertionError("the soak reused a value")  # a bug in the soak itself
    return {
        "sent": len(sent),
        "not_sent": len(not_sent),
        "received": len(received),
        "lost": sorted(sent_set - received_set),
        "duplicated": sorted(v for v, c in counts.items() if c > 1),
        "phantom": sorted(received_set - sent_set - not_sent_set),
        "received_but_reported_not_sent": sorted(received_set & not_sent_set),
    }


def run_soak(
    n_ops: int,
    *,
    seed: int = 1,
    threads: int = 4,
    asyncio_tasks: int = 4,
    trio_tasks: int = 4,
    join_timeout: float = 120.0,
) -> SoakResult:
    """Run the soak for ``n_ops`` operations and check the model (see the module docstring)."""
    before = _live_threads()
    arena = Arena(n_ops)
    wid = itertools.count()
    runners: list[threading.Thread] = []
    ledgers: list[Ledger] = []
    worlds: Counter[str] = Counter(threads=threads, asyncio=asyncio_tasks, trio=trio_tasks)

    for _ in range(threads):
        led = Ledger()
        ledgers.append(led)
        w = next(wid)
        runners.append(
            threading.Thread(
                target=thread_worker, args=(arena, w, seed * 1000 + w, led), name=f"soak-{w}"
            )
        )
    for kind, n, runner in (
        ("asyncio", asyncio_tasks, run_asyncio_workers),
        ("trio", trio_tasks, run_trio_workers),
    ):
        if not n:
            continue
        wids = [next(wid) for _ in range(n)]
        leds = [Ledger() for _ in wids]
        ledgers.extend(leds)
        runners.append(
            threading.Thread(
                target=runner, args=(arena, wids, seed * 1000, leds), name=f"soak-{kind}"
            )
        )

    t0 = time.perf_counter()
    for t in runners:
        t.start()
    arena.budget_spent.wait()
    arena.stop()  # closes every channel: parked operations wake and the workers see the stop
    for t in runners:
        t.join(join_timeout)
    seconds = time.perf_counter() - t0
    stuck = [t.name for t in runners if t.is_alive()]
    if stuck:
        raise RuntimeError(f"soak workers did not finish after stop: {stuck}")

    # Drain: everything still buffered in a (closed) channel is delivered to the drain.
    drained: list[int] = []
    waiters_left = 0
    for ch in arena.every_channel:
        while True:
            v, ok = ch.recv_ok(timeout=0)
            if not ok:
                break
            drained.append(v)  # type: ignore[arg-type]
        waiters_left += len(ch._recvq) + len(ch._sendq)

    kinds: Counter[str] = Counter()
    for led in ledgers:
        kinds.update(led.ops)
    verdict = judge(
        sent=[v for led in ledgers for v in led.sent],
        not_sent=[v for led in ledgers for v in led.not_sent],
        received=[v for led in ledgers for v in led.received] + drained,
    )

    # Threads: the soak's own must be gone; goprims' transient ones (the timer thread, idle
    # go() workers) exit on their own, so wait for them by joining, not polling.
    deadline = time.monotonic() + 10.0
    for t in _live_threads() - before:
        t.join(max(0.0, deadline - time.monotonic()))
    left = sorted(t.name for t in _live_threads() - before)

    return SoakResult(
        ops=sum(kinds.values()),
        seconds=seconds,
        channels=len(arena.every_channel),
        waiters_left=waiters_left,
        threads_left=left,
        kinds=kinds,
        worlds=worlds,
        **verdict,
    )


def main(n_ops: int, seed: int = 1) -> int:
    """``python -m bench --soak N``: run, print the summary, exit status 1 on any failure."""
    result = run_soak(n_ops, seed=seed)
    print(result.summary(), flush=True)
    if not result.ok:
        for name in ("lost", "duplicated", "phantom", "received_but_reported_not_sent"):
            vals = getattr(result, name)
            if vals:
                print(f"  {name}: {vals[:20]}")
        if result.threads_left:
            print(f"  threads left: {result.threads_left}")
    return 0 if result.ok else 1

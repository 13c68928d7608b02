""":class:`CoalescingAggregator`: Prometheus's discovery manager, generic.

Many providers each push lists of :class:`~goprims.discovery.Group` into their own channel; the
aggregator keeps the latest group per ``(subscription, provider, source)`` and publishes full
snapshots ``{subscription: [Group, ...]}`` on one unbuffered channel, :attr:`sync_ch`, at most
about once per ``interval``, without ever blocking a provider and without losing the final state.

How (``prometheus/discovery/manager.go``):

* each provider runs ``run(ctx, out)`` on its own thread; an *updater* thread per provider
  receives from ``out``, merges the groups into the target table and pulls the *trigger*: a
  non-blocking send on a ``Chan(1)``, so any number of updates collapse into one pending signal;
* the *sender* is a timer on the injectable clock, armed only while the trigger may be set
  (an idle aggregator has no timer). When it fires it takes the trigger (non-blocking receive)
  and offers a snapshot on :attr:`sync_ch` with a non-blocking send. If the receiver is not
  waiting, the trigger is pulled again and the timer re-armed: the receiver gets the then
  latest snapshot one interval later, nothing is queued and nothing blocks. So a snapshot goes
  out at most once per interval and the last one always holds the final state;
* a subscription whose providers have no targets maps to ``[]`` (so consumers drop stale
  targets); a provider that closes ``out`` keeps its targets until it is cancelled.

Locks: ``_lock`` guards the provider table, the target table, the retired subscriptions and the
armed timer; it is never held while blocking, while calling user code or while sending on
:attr:`sync_ch` (that send is non-blocking anyway, and runs after the snapshot is built).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from goprims import clock as _clock
from goprims.chan import Chan, ChanClosed, Recv, Send, go, select
from goprims.context import Context, background, with_cancel
from goprims.discovery.group import Group

__all__ = ["AggregatorStopped", "CoalescingAggregator", "ProviderFunc"]

log = logging.getLogger("goprims.discovery")

ProviderFunc = Callable[[Context, Chan[list[Group]]], Any]
"""``run(ctx, out)``: discover targets, send lists of groups on ``out`` until ``ctx`` is done."""


class AggregatorStopped(RuntimeError):
    """The aggregator was stopped: providers can no longer be added or replaced."""


class _Provider:
    """One running provider: its subscriptions, its context and its updater's completion."""

    __slots__ = ("cancel", "ctx", "finished", "name", "out", "run", "subs")

    def __init__(self, name: str, subs: frozenset[str], run: ProviderFunc) -> None:
        self.name = name
        self.subs = subs  # replaced (never mutated) under the aggregator's lock
        self.run = run
        self.out: Chan[list[Group]] = Chan()
        # Made here, not at start: stop() or set_providers() may cancel a provider that an
        # add_provider() racing with them has registered but not started yet.
        self.ctx, self.cancel = with_cancel(background())
        self.finished: Chan[None] = Chan()  # closed once its targets have been removed


def _check_subs(subs: Iterable[str]) -> frozenset[str]:
    if isinstance(subs, str):
        raise TypeError("subs must be an iterable of subscription names, not one str")
    out = frozenset(subs)
    for s in out:
        if not isinstance(s, str):
            raise TypeError(f"subscription names must be str, not {type(s).__name__}")
    return out


class CoalescingAggregator:
    """Fan-in of many providers into throttled full snapshots (see the module docstring).

    ``interval`` (seconds, > 0) is the throttle: snapshots go out at most once per interval,
    the first one ``interval`` after the first update. ``clock`` drives the timer
    (``FakeClock`` in tests: the send then happens inside ``step``).

    Lifecycle: :meth:`add_provider` (before or after :meth:`start`), :meth:`start`,
    :meth:`set_providers` for a configuration reload, :meth:`stop` (also ``with``). After
    :meth:`stop`, :attr:`sync_ch` is closed and adding providers raises
    :class:`AggregatorStopped`.
    """

    def __init__(self, interval: float = 5.0, *, clock: _clock.Clock | None = None) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise TypeError(f"interval must be a number, not {type(interval).__name__}")
        if not interval > 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        self._interval = float(interval)
        self._clock = _clock.resolve(clock)
        self.sync_ch: Chan[dict[str, list[Group]]] = Chan()
        """Unbuffered: receives each snapshot ``{sub: [Group, ...]}``; closed by :meth:`stop`."""
        # The one-slot dirty signal: holds a token while some update has not been published.
        self._trigger: Chan[None] = Chan(1)
        self._lock = threading.Lock()
        # --- guarded by _lock
        self._providers: dict[str, _Provider] = {}
        # (sub, provider name) -> {source: Group}; a key exists only for a live provider's sub
        self._targets: dict[tuple[str, str], dict[str, Group]] = {}
        # subs whose last provider was removed by set_providers: sent as [] until one snapshot
        # containing them has been delivered
        self._retired: set[str] = set()
        self._timer: _clock.TimerHandle | None = None  # the armed sender, if any
        # Held while a snapshot is offered and while sync_ch is closed, so that stop() never
        # closes the channel under a sender (which would raise ChanClosed in a clock callback).
        self._send_lock = threading.Lock()
        self._started = False
        self._stopped = False
        # --- counters (Prometheus's SentUpdates / DelayedUpdates), written under _lock
        self.sent = 0
        """Snapshots delivered on :attr:`sync_ch`."""
        self.delayed = 0
        """Snapshots not delivered because no receiver was waiting (retried an interval later)."""

    # ------------------------------------------------------------------ lifecycle

    def add_provider(self, name: str, subs: Iterable[str], run: ProviderFunc) -> None:
        """Register provider ``name`` feeding the subscriptions ``subs``; start it now if the
        aggregator is running. ``run(ctx, out)`` runs on its own thread and sends lists of
        :class:`Group` on ``out`` until ``ctx`` is done (it may also close ``out`` when it has
        nothing more to say: its targets then stay until it is cancelled).

        Raises :class:`ValueError` if ``name`` is taken, :class:`TypeError` for bad arguments,
        :class:`AggregatorStopped` after :meth:`stop`.
        """
        if not isinstance(name, str):
            raise TypeError(f"provider name must be a str, not {type(name).__name__}")
        if not callable(run):
            raise TypeError(f"run must be callable, got {run!r}")
        p = _Provider(name, _check_subs(subs), run)
        with self._lock:
            if self._stopped:
                raise AggregatorStopped("add_provider on a stopped aggregator")
            if name in self._providers:
                raise ValueError(f"a provider named {name!r} is already registered")
            self._providers[name] = p
            started = self._started
        if started:
            self._start_provider(p)

    def start(self) -> None:
        """Start every registered provider. Idempotent while running; raises
        :class:`AggregatorStopped` after :meth:`stop`."""
        with self._lock:
            if self._stopped:
                raise AggregatorStopped("start on a stopped aggregator")
            if self._started:
                return
            self._started = True
            providers = list(self._providers.values())
        for p in providers:
            self._start_provider(p)

    def stop(self) -> None:
        """Cancel every provider, wait until their updaters have finished, cancel the timer and
        close :attr:`sync_ch`. Idempotent. Providers must return once their ``ctx`` is done."""
        waits = self._begin_stop()
        if waits is not None:
            self._finish_stop(waits)

    async def async_stop(self) -> None:
        """:meth:`stop` for an asyncio or trio task: the waits for the providers' updaters do
        not block the loop. Cancelled while waiting, it raises the cancellation and a worker
        thread completes the stop (:attr:`sync_ch` is still closed once the updaters end)."""
        waits = self._begin_stop()
        if waits is None:
            return
        try:
            for p in waits:
                await p.finished.async_recv_ok()
        except BaseException:
            go(self._finish_stop, waits)
            raise
        self._end_stop()

    def _begin_stop(self) -> list[_Provider] | None:
        """Mark the aggregator stopped and cancel every provider; return the providers whose
        updaters stop must wait for, or None if it was stopped already."""
        with self._lock:
            if self._stopped:
                return None
            self._stopped = True
            providers = list(self._providers.values())
            started = self._started
        for p in providers:
            p.cancel()
        return providers if started else []

    def _finish_stop(self, waits: list[_Provider]) -> None:
        for p in waits:
            p.finished.recv_ok()
        self._end_stop()

    def _end_stop(self) -> None:
        """Once the updaters have ended: drop the tables, cancel the timer, close sync_ch."""
        with self._lock:
            timer, self._timer = self._timer, None
            self._providers.clear()
            self._targets.clear()
        if timer is not None:
            timer.cancel()
        # Waits for a snapshot being offered right now (the timer may have fired already); the
        # stopped flag makes every later firing a no-op.
        with self._send_lock:
            self.sync_ch.close()

    def __enter__(self) -> CoalescingAggregator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_providers(self, providers: Mapping[str, tuple[Iterable[str], ProviderFunc]]) -> None:
        """Apply a new configuration ``{name: (subs, run)}`` (Prometheus's ``ApplyConfig``).

        A provider whose name and ``run`` are unchanged keeps running (and keeps its targets,
        copied to any new subscription); one whose ``run`` changed is replaced; one that is
        gone is cancelled and its targets removed. Subscriptions that no provider serves any
        more get ``[]`` in the next snapshot delivered (and are left out after it). Returns
        once the cancelled providers' targets are gone; a snapshot is due one interval later.
        """
        obsolete, to_start = self._begin_set_providers(providers)
        self._finish_set_providers(obsolete, to_start)

    async def async_set_providers(
        self, providers: Mapping[str, tuple[Iterable[str], ProviderFunc]]
    ) -> None:
        """:meth:`set_providers` for an asyncio or trio task: the wait for the cancelled
        providers does not block the loop. Cancelled while waiting, it raises the cancellation
        and a worker thread completes the reload (new providers start once the old ones end)."""
        obsolete, to_start = self._begin_set_providers(providers)
        try:
            for p in obsolete:
                await p.finished.async_recv_ok()
        except BaseException:
            go(self._finish_set_providers, obsolete, to_start)
            raise
        self._end_set_providers(to_start)

    def _finish_set_providers(self, obsolete: list[_Provider], to_start: list[_Provider]) -> None:
        for p in obsolete:
            p.finished.recv_ok()
        self._end_set_providers(to_start)

    def _end_set_providers(self, to_start: list[_Provider]) -> None:
        """Once the obsolete providers' targets are gone: start the new ones, pull the trigger."""
        for p in to_start:
            self._start_provider(p)
        # Consumers expect the full state after a reload: pull the trigger now.
        self._pull_trigger()

    def _begin_set_providers(
        self, providers: Mapping[str, tuple[Iterable[str], ProviderFunc]]
    ) -> tuple[list[_Provider], list[_Provider]]:
        """Validate, swap the provider table and cancel the obsolete providers. Returns (the
        providers whose updaters to wait for, the providers to start after that); both empty
        of waits and starts while the aggregator has not started."""
        new: dict[str, tuple[frozenset[str], ProviderFunc]] = {}
        for name, spec in providers.items():
            if not isinstance(name, str):
                raise TypeError(f"provider name must be a str, not {type(name).__name__}")
            subs, run = spec
            if not callable(run):
                raise TypeError(f"run of provider {name!r} must be callable, got {run!r}")
            new[name] = (_check_subs(subs), run)
        to_start: list[_Provider] = []
        with self._lock:
            if self._stopped:
                raise AggregatorStopped("set_providers on a stopped aggregator")
            served_before = {s for p in self._providers.values() for s in p.subs}
            obsolete = [
                p for n, p in self._providers.items() if n not in new or new[n][1] is not p.run
            ]
            for p in obsolete:
                del self._providers[p.name]
            for name, (subs, run) in new.items():
                old = self._providers.get(name)
                if old is None:
                    p = _Provider(name, subs, run)
                    self._providers[name] = p
                    to_start.append(p)
                elif old.subs != subs:
                    self._resubscribe(old, subs)
            served = {s for p in self._providers.values() for s in p.subs}
            self._retired |= served_before - served
            started = self._started
        for p in obsolete:
            p.cancel()
        if not started:
            return [], []
        return obsolete, to_start

    def _resubscribe(self, p: _Provider, subs: frozenset[str]) -> None:
        """Move a reused provider to ``subs``; new subs start with its current targets.
        Lock held."""
        reference: dict[str, Group] = {}
        for s in p.subs:
            reference = self._targets.get((s, p.name), reference)
            if s not in subs:
                self._targets.pop((s, p.name), None)
        for s in subs - p.subs:
            self._targets[(s, p.name)] = dict(reference)
        p.subs = subs

    # ------------------------------------------------------------------ providers

    def _start_provider(self, p: _Provider) -> None:
        go(self._run_provider, p)
        go(self._updater, p)

    def _run_provider(self, p: _Provider) -> None:
        try:
            p.run(p.ctx, p.out)
        except ChanClosed:
            if p.ctx.err() is None:  # closed under it while still wanted: a real error
                log.exception("discovery provider %r failed", p.name)
        except Exception:
            log.exception("discovery provider %r failed", p.name)

    def _updater(self, p: _Provider) -> None:
        """Merge what ``p`` sends into the target table until its context is done; then remove
        its targets. A closed ``out`` leaves the targets in place until cancellation."""
        done = p.ctx.done()
        try:
            while True:
                sel = select(Recv(done), Recv(p.out))
                if sel.index == 0:
                    break
                if not sel.ok:  # the provider closed out: keep its targets until cancelled
                    done.recv_ok()
                    break
                self._update(p, sel.value)
                self._pull_trigger()
        finally:
            with self._lock:
                for s in p.subs:
                    self._targets.pop((s, p.name), None)
            try:  # a provider still sending after its cancellation gets ChanClosed, not a hang
                p.out.close()
            except ChanClosed:
                pass
            p.finished.close()

    def _update(self, p: _Provider, groups: Any) -> None:
        if not isinstance(groups, (list, tuple)):
            log.error(
                "discovery provider %r sent %s, not a list of Group: ignored",
                p.name,
                type(groups).__name__,
            )
            return
        with self._lock:
            if self._providers.get(p.name) is not p:
                return  # replaced or stopped meanwhile
            for s in p.subs:
                table = self._targets.setdefault((s, p.name), {})
                for g in groups:
                    if g is None:  # some providers send None groups; skip them as Prometheus
                        continue
                    if not isinstance(g, Group):
                        log.error("discovery provider %r sent %r, not a Group: ignored", p.name, g)
                        continue
                    if g.targets:
                        table[g.source] = g
                    else:  # an empty group deletes its source
                        table.pop(g.source, None)

    # ------------------------------------------------------------------ sender

    def _pull_trigger(self) -> None:
        """Mark the state dirty (non-blocking send on the one-slot trigger), then make sure the
        sender timer is armed. In this order: the timer clears its handle before it takes the
        trigger, so a token sent here is always seen by an armed or a newly armed timer."""
        select(Send(self._trigger, None), default=True)
        with self._lock:
            if self._timer is None and not self._stopped:
                self._timer = self._clock.call_later(self._interval, self._fire)

    def _fire(self) -> None:
        """The throttled sender (a clock callback: never blocks)."""
        with self._lock:
            self._timer = None
            if self._stopped:
                return
        if not select(Recv(self._trigger), default=True).ok:
            return  # nothing new since the last snapshot
        with self._send_lock:
            with self._lock:
                if self._stopped:
                    return
                snapshot, retired = self._all_groups()
            delivered = (
                not self.sync_ch.closed
                and select(Send(self.sync_ch, snapshot), default=True).index == 0
            )
            with self._lock:
                if delivered:
                    self.sent += 1
                    self._retired -= retired
                else:
                    self.delayed += 1
        if not delivered:
            log.debug("discovery receiver busy: snapshot retried in %s s", self._interval)
            self._pull_trigger()

    def _all_groups(self) -> tuple[dict[str, list[Group]], set[str]]:
        """The snapshot: every served or retired sub, each with its providers' groups (``[]``
        when none). Lock held."""
        out: dict[str, list[Group]] = {}
        for p in self._providers.values():
            for s in p.subs:
                groups = out.setdefault(s, [])
                table = self._targets.get((s, p.name))
                if table:
                    groups.extend(table.values())
        retired = set()
        for s in self._retired:
            if s not in out:
                out[s] = []
                retired.add(s)
        return out, retired

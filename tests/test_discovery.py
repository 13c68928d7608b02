"""CoalescingAggregator (Prometheus discovery manager): coalescing, throttling, never blocking a
provider, never losing the final state, empty groups, closed providers, stop, set_providers.

Ported from prometheus ``discovery/manager_test.go`` (TestTargetUpdatesOrder,
TestTargetSetTargetGroupsPresentOnConfigReload/Rename/Change, TestCoordinationWithReceiver,
TestTargetSetRecreatesEmptyStaticConfigs, the one-provider-closes-its-channel case) and the
seed-systems §8 list. Timing runs on a FakeClock: the sender fires inside ``clock.step``, so
every snapshot count below is exact.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from goprims import AggregatorStopped as TopLevelAggregatorStopped
from goprims.chan import Chan, ChanClosed
from goprims.clock import FakeClock
from goprims.context import Context
from goprims.discovery import AggregatorStopped, CoalescingAggregator, Group

pytest.register_assert_rewrite("chan_support")  # before importing it: its asserts report in full
from chan_support import Parked  # noqa: E402

RECEIVER = "discovery-test-receiver"


class ReceiverParked(Parked):
    """Counts how often the test's receiver thread parks in goprims.chan (its recv blocks)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch, thread_name=RECEIVER)


@pytest.fixture
def parked(monkeypatch: pytest.MonkeyPatch) -> ReceiverParked:
    return ReceiverParked(monkeypatch)


class Receiver:
    """A thread that receives snapshots from ``sync_ch`` until it is closed."""

    def __init__(self, agg: CoalescingAggregator) -> None:
        self.got: Chan[dict[str, list[Group]]] = Chan(None)
        self.thread = threading.Thread(target=self._run, args=(agg,), name=RECEIVER)
        self.thread.start()

    def _run(self, agg: CoalescingAggregator) -> None:
        for snap in agg.sync_ch:
            self.got.send(snap)
        self.got.close()

    def snapshots(self) -> list[dict[str, list[Group]]]:
        """Every snapshot received so far (non-blocking)."""
        out: list[dict[str, list[Group]]] = []
        while True:
            try:
                v, ok = self.got.recv_ok(timeout=0)
            except TimeoutError:
                return out
            if not ok:
                return out
            assert v is not None  # ok: a value that was sent
            out.append(v)

    def join(self) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive()


class Manual:
    """A provider whose ``out`` channel the test drives by hand."""

    def __init__(self) -> None:
        self.outs: Chan[Chan[list[Group]]] = Chan(None)
        self.runs = 0
        self.ended = threading.Event()

    def __call__(self, ctx: Context, out: Chan[list[Group]]) -> None:
        self.runs += 1
        self.outs.send(out)
        ctx.done().recv_ok()
        self.ended.set()

    def out(self) -> Chan[list[Group]]:
        return self.outs.recv(timeout=10)


def send(out: Chan[list[Group]], groups: list[Group]) -> None:
    """Send, then wait until the updater has fully applied it: the next send on the unbuffered
    channel completes only once the updater is back at its receive."""
    out.send(groups, timeout=10)
    out.send([], timeout=10)  # an empty list changes nothing


def targets(snap: dict[str, list[Group]], sub: str) -> dict[str, tuple[Any, ...]]:
    return {g.source: g.targets for g in snap[sub]}


def g(source: str, *instances: str) -> Group:
    return Group(source, [{"__instance__": i} for i in instances])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def agg(clock: FakeClock) -> Iterator[CoalescingAggregator]:
    a = CoalescingAggregator(1.0, clock=clock)
    yield a
    a.stop()


def tick(clock: FakeClock, parked: ReceiverParked, rx: Receiver) -> dict[str, list[Group]]:
    """Let the receiver park, fire the sender, return the one snapshot it delivered."""
    parked.wait()
    clock.step(1.0)
    snaps = rx.snapshots()
    if not snaps:  # the receiver thread forwards after step returns: wait for it
        snaps = [rx.got.recv(timeout=10)]
    assert len(snaps) == 1
    return snaps[0]


def started(
    agg: CoalescingAggregator, subs: list[str], name: str = "p"
) -> tuple[Chan[list[Group]], Receiver]:
    """Register one Manual provider ``name`` on ``subs`` and start the aggregator; return the
    provider's channel (once the provider runs) and a Receiver started on ``sync_ch``."""
    p = Manual()
    agg.add_provider(name, subs, p)
    agg.start()
    out = p.out()
    return out, Receiver(agg)


def static_foo_delivered(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> tuple[Manual, Receiver]:
    """The start of prometheus' TestTargetSetTargetGroupsPresentOnConfig* cases: provider
    "static" on sub "prometheus" reports group "0" (foo:9090), and one snapshot delivers it."""
    p = Manual()
    agg.set_providers({"static": (["prometheus"], p)})
    agg.start()
    rx = Receiver(agg)
    send(p.out(), [g("0", "foo:9090")])
    tick(clock, parked, rx)
    return p, rx


# ---------------------------------------------------------------------------------- Group


def test_group_copies_targets_into_a_tuple_and_labels_into_a_read_only_mapping() -> None:
    ts = [{"a": "1"}]
    labels = {"job": "x"}
    grp = Group("s", ts, labels)
    ts.append({"a": "2"})
    labels["job"] = "y"
    assert grp.targets == ({"a": "1"},)
    assert grp.labels == {"job": "x"}
    with pytest.raises(TypeError):
        grp.labels["job"] = "z"  # type: ignore[index]
    assert Group("s") == Group("s", (), None)
    assert Group("s").labels == {}


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1,), "source must be a str"),
        (("s", "host:1"), "targets must be an iterable"),
        (("s", 3), "targets must be an iterable"),
        (("s", [], ["x"]), "labels must be a mapping"),
    ],
)
def test_group_rejects_bad_fields(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        Group(*args)


def test_group_is_frozen() -> None:
    grp = Group("s")
    with pytest.raises(AttributeError):
        grp.source = "t"  # type: ignore[misc]


# ---------------------------------------------------------------------------- construction


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        CoalescingAggregator(0)
    with pytest.raises(TypeError, match="interval must be a number"):
        CoalescingAggregator("5")  # type: ignore[arg-type]


def test_duplicate_provider_name_and_bad_subs_are_rejected(agg: CoalescingAggregator) -> None:
    agg.add_provider("p", ["job"], Manual())
    with pytest.raises(ValueError, match="already registered"):
        agg.add_provider("p", ["job"], Manual())
    with pytest.raises(TypeError, match="not one str"):
        agg.add_provider("q", "job", Manual())
    with pytest.raises(TypeError, match="must be callable"):
        agg.add_provider("q", ["job"], 3)  # type: ignore[arg-type]


def test_aggregator_stopped_is_exported_from_goprims() -> None:
    assert TopLevelAggregatorStopped is AggregatorStopped


# ----------------------------------------------------------------------- coalescing, throttle


def test_100_rapid_updates_within_one_interval_give_at_most_two_snapshots_with_the_final_state(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    out, rx = started(agg, ["job"])
    final = {"g": ({"__instance__": "99"},)}
    for i in range(100):
        out.send([g("g", str(i))], timeout=10)
    send(out, [])  # all applied
    snap = tick(clock, parked, rx)
    assert targets(snap, "job") == final
    # The trailing no-op send is received before the updater pulls the trigger for it, so that
    # pull may land after the tick's snapshot: at most one more snapshot, with the same state.
    for _ in range(3):
        clock.step(1.0)
    agg.stop()
    rx.join()
    later = rx.snapshots()
    assert len(later) <= 1
    assert all(targets(s, "job") == final for s in later)
    assert agg.sent == 1 + len(later)


def test_100_updates_racing_the_tick_give_at_most_two_snapshots_and_the_last_is_final(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # The tick fires while the burst is in flight, wherever that falls in it: one snapshot
    # for what was applied by then, at most one more for the rest, and the last is final.
    out, rx = started(agg, ["job"])

    def burst() -> None:
        for i in range(100):
            out.send([g("g", str(i))], timeout=10)

    parked.wait()
    t = threading.Thread(target=burst)
    t.start()
    clock.step(1.0)
    t.join(10)
    send(out, [])  # the whole burst is applied
    if agg.sent == 1:
        parked.wait()  # the receiver is back at its recv
    for _ in range(3):
        clock.step(1.0)
    assert 1 <= agg.sent <= 2
    snaps = [rx.got.recv(timeout=10) for _ in range(agg.sent)]
    assert targets(snaps[-1], "job") == {"g": ({"__instance__": "99"},)}
    agg.stop()
    rx.join()
    assert rx.snapshots() == []


def test_a_receiver_that_does_not_read_for_3_intervals_gets_the_latest_state_and_no_provider_blocks(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    p1, p2 = Manual(), Manual()
    agg.add_provider("p1", ["job"], p1)
    agg.add_provider("p2", ["job"], p2)
    agg.start()
    out1, out2 = p1.out(), p2.out()
    for i in range(3):  # three intervals with nobody reading sync_ch
        for j in range(20):
            out1.send([g("a", f"{i}.{j}")], timeout=5)  # would raise TimeoutError if blocked
            out2.send([g("b", f"{i}.{j}")], timeout=5)
        send(out1, [])
        send(out2, [])
        clock.step(1.0)
    assert agg.sent == 0
    assert agg.delayed == 3  # each tick found nobody waiting and re-armed
    rx = Receiver(agg)
    snap = tick(clock, parked, rx)
    assert targets(snap, "job") == {
        "a": ({"__instance__": "2.19"},),
        "b": ({"__instance__": "2.19"},),
    }
    agg.stop()
    rx.join()


def test_no_update_means_no_snapshot_and_no_armed_timer(
    agg: CoalescingAggregator, clock: FakeClock
) -> None:
    agg.add_provider("p", ["job"], Manual())
    agg.start()
    assert not clock.has_waiters()  # an idle aggregator has no timer


# ----------------------------------------------------------------------------- target table


def test_an_empty_group_deletes_its_source(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    out, rx = started(agg, ["job"])
    send(out, [g("a", "1"), g("b", "2")])
    assert set(targets(tick(clock, parked, rx), "job")) == {"a", "b"}
    send(out, [Group("a", [])])
    assert set(targets(tick(clock, parked, rx), "job")) == {"b"}
    send(out, [Group("b")])
    assert tick(clock, parked, rx) == {"job": []}  # the sub stays, with an empty list


def test_none_and_non_group_entries_are_skipped(
    agg: CoalescingAggregator,
    clock: FakeClock,
    parked: ReceiverParked,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out, rx = started(agg, ["job"])
    with caplog.at_level(logging.ERROR, logger="goprims.discovery"):
        send(out, [None, g("a", "1"), "junk"])  # type: ignore[list-item]
        send(out, "not a list")  # type: ignore[arg-type]
    assert targets(tick(clock, parked, rx), "job") == {"a": ({"__instance__": "1"},)}
    assert "not a Group" in caplog.text
    assert "not a list of Group" in caplog.text


def test_two_subs_on_one_provider_both_receive_the_groups(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    out, rx = started(agg, ["job1", "job2"])
    send(out, [g("a", "1")])
    snap = tick(clock, parked, rx)
    assert targets(snap, "job1") == targets(snap, "job2") == {"a": ({"__instance__": "1"},)}


def test_a_sub_whose_providers_have_no_targets_maps_to_an_empty_list(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    p1, p2 = Manual(), Manual()
    agg.add_provider("p1", ["job", "idle"], p1)
    agg.add_provider("p2", ["other"], p2)
    agg.start()
    p2.out()
    rx = Receiver(agg)
    send(p1.out(), [])  # "Single TP empty initials": an update with no groups
    assert tick(clock, parked, rx) == {"job": [], "idle": [], "other": []}


def test_groups_from_several_providers_of_one_sub_are_merged(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # TestTargetUpdatesOrder "Multiple TPs initials and new groups", step by step.
    p1, p2 = Manual(), Manual()
    agg.add_provider("tp1", ["job"], p1)
    agg.add_provider("tp2", ["job"], p2)
    agg.start()
    out1, out2 = p1.out(), p2.out()
    rx = Receiver(agg)
    steps: list[tuple[Chan[list[Group]], list[Group], set[str]]] = [
        (out1, [g("tp1_group1", "1"), g("tp1_group2", "2")], {"tp1_group1", "tp1_group2"}),
        (
            out2,
            [g("tp2_group1", "5"), g("tp2_group2", "6")],
            {"tp1_group1", "tp1_group2", "tp2_group1", "tp2_group2"},
        ),
        (
            out2,
            [g("tp2_group3", "7")],
            {"tp1_group1", "tp1_group2", "tp2_group1", "tp2_group2", "tp2_group3"},
        ),
        (
            out1,
            [Group("tp1_group1"), Group("tp1_group2")],
            {"tp2_group1", "tp2_group2", "tp2_group3"},
        ),
    ]
    for out, groups, expected in steps:
        send(out, groups)
        assert set(targets(tick(clock, parked, rx), "job")) == expected


def test_a_later_group_replaces_the_earlier_one_of_the_same_source(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # "Single TP initials and new groups"
    out, rx = started(agg, ["job"], "tp1")
    send(out, [g("tp1_group1", "1"), g("tp1_group2", "2")])
    tick(clock, parked, rx)
    send(out, [g("tp1_group1", "3"), g("tp1_group2", "4"), g("tp1_group3", "1")])
    assert targets(tick(clock, parked, rx), "job") == {
        "tp1_group1": ({"__instance__": "3"},),
        "tp1_group2": ({"__instance__": "4"},),
        "tp1_group3": ({"__instance__": "1"},),
    }


# -------------------------------------------------------------------------- closing, stopping


def test_a_provider_that_closes_its_channel_keeps_its_targets_until_stop(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # TestCoordinationWithReceiver "Receiver should get all updates even when one provider
    # closes its channel"
    once_ended = threading.Event()

    def once(ctx: Context, out: Chan[list[Group]]) -> None:
        out.send([g("tg1", "1")])
        out.close()
        once_ended.set()

    p = Manual()
    agg.add_provider("once1", ["once1"], once)
    agg.add_provider("mock1", ["mock1"], p)
    agg.start()
    out = p.out()
    assert once_ended.wait(10)
    rx = Receiver(agg)
    send(out, [g("tg2", "2")])
    snap = tick(clock, parked, rx)
    assert targets(snap, "once1") == {"tg1": ({"__instance__": "1"},)}
    assert targets(snap, "mock1") == {"tg2": ({"__instance__": "2"},)}
    send(out, [g("tg2", "3")])
    assert targets(tick(clock, parked, rx), "once1") == {"tg1": ({"__instance__": "1"},)}
    agg.stop()
    rx.join()


def test_sync_ch_is_closed_by_stop_and_nothing_can_be_added_after(
    agg: CoalescingAggregator,
) -> None:
    p = Manual()
    agg.add_provider("p", ["job"], p)
    agg.start()
    p.out()
    agg.stop()
    assert p.ended.wait(10)  # cancelled
    assert agg.sync_ch.recv_ok(timeout=1) == (None, False)
    agg.stop()  # idempotent
    with pytest.raises(AggregatorStopped):
        agg.add_provider("q", ["job"], Manual())
    with pytest.raises(AggregatorStopped):
        agg.set_providers({})
    with pytest.raises(AggregatorStopped):
        agg.start()


def test_stop_cancels_a_pending_timer(agg: CoalescingAggregator, clock: FakeClock) -> None:
    p = Manual()
    agg.add_provider("p", ["job"], p)
    agg.start()
    send(p.out(), [g("a", "1")])
    assert clock.has_waiters()
    agg.stop()
    assert not clock.has_waiters()
    clock.step(5.0)  # nothing fires into the closed channel


def test_a_provider_still_sending_after_cancellation_gets_chan_closed_not_a_hang(
    clock: FakeClock,
) -> None:
    agg = CoalescingAggregator(1.0, clock=clock)
    result: Chan[BaseException | None] = Chan(1)
    started = threading.Event()
    stopped = threading.Event()

    def stubborn(ctx: Context, out: Chan[list[Group]]) -> None:
        started.set()
        ctx.done().recv_ok()
        # Send only once stop() has returned: sending while the updater is still in its select
        # on (done, out) lets Go's random choice take the late value (harmless, but not what
        # this test pins, and it made the test depend on thread timing).
        assert stopped.wait(10)
        try:
            out.send([g("late", "1")], timeout=10)
        except BaseException as exc:
            result.send(exc)
            raise
        result.send(None)

    agg.add_provider("p", ["job"], stubborn)
    agg.start()
    assert started.wait(10)
    agg.stop()
    stopped.set()
    assert isinstance(result.recv(timeout=10), ChanClosed)


def test_a_failing_provider_is_logged_and_the_others_go_on(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    logged = threading.Event()

    class Spot(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "discovery provider 'broken' failed" in record.getMessage():
                logged.set()

    def broken(ctx: Context, out: Chan[list[Group]]) -> None:
        raise RuntimeError("boom")

    p = Manual()
    spot = Spot()
    logger = logging.getLogger("goprims.discovery")
    logger.addHandler(spot)
    try:
        agg.add_provider("broken", ["job"], broken)
        agg.add_provider("ok", ["job"], p)
        agg.start()
        assert logged.wait(10)
        rx = Receiver(agg)
        send(p.out(), [g("a", "1")])
        assert set(targets(tick(clock, parked, rx), "job")) == {"a"}
    finally:
        logger.removeHandler(spot)


def test_with_block_starts_and_stops(clock: FakeClock) -> None:
    p = Manual()
    with CoalescingAggregator(1.0, clock=clock) as agg:
        agg.add_provider("p", ["job"], p)
        p.out()
    assert p.ended.wait(10)
    assert agg.sync_ch.closed


# ------------------------------------------------------------------------------ set_providers


def test_set_providers_reuses_unchanged_providers_and_cancels_obsolete_ones(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    keep, gone = Manual(), Manual()
    agg.set_providers({"keep": (["job"], keep), "gone": (["old-job"], gone)})
    agg.start()
    out_keep, out_gone = keep.out(), gone.out()
    rx = Receiver(agg)
    send(out_keep, [g("k", "1")])
    send(out_gone, [g("x", "9")])
    snap = tick(clock, parked, rx)
    assert set(snap) == {"job", "old-job"}

    added = Manual()
    agg.set_providers({"keep": (["job"], keep), "new": (["new-job"], added)})
    assert gone.ended.wait(10)  # cancelled, and set_providers waited for it
    assert keep.runs == 1  # reused: not restarted
    out_new = added.out()
    snap = tick(clock, parked, rx)  # the reload pulled the trigger by itself
    # the obsolete provider's sub gets [] (consumers drop its stale targets); the new one's
    # sub appears with [] until it reports
    assert snap == {"job": [g("k", "1")], "old-job": [], "new-job": []}
    send(out_new, [g("n", "2")])
    snap = tick(clock, parked, rx)
    assert snap == {"job": [g("k", "1")], "new-job": [g("n", "2")]}  # old-job sent once only
    with pytest.raises(ChanClosed):
        out_gone.send([g("x", "10")], timeout=5)


def test_set_providers_replaces_a_provider_whose_run_changed(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # TestTargetSetRecreatesTargetGroupsOnConfigChange: the old provider's targets go.
    first, second = Manual(), Manual()
    agg.set_providers({"static": (["prometheus"], first)})
    agg.start()
    rx = Receiver(agg)
    send(first.out(), [g("0", "foo"), g("1", "bar")])
    assert set(targets(tick(clock, parked, rx), "prometheus")) == {"0", "1"}
    agg.set_providers({"static": (["prometheus"], second)})
    assert first.ended.wait(10)
    send(second.out(), [g("0", "foo")])
    assert targets(tick(clock, parked, rx), "prometheus") == {"0": ({"__instance__": "foo"},)}


def test_set_providers_with_a_renamed_sub_keeps_the_targets(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # TestTargetSetTargetGroupsPresentOnConfigRename: same provider, sub renamed.
    p, rx = static_foo_delivered(agg, clock, parked)
    agg.set_providers({"static": (["prometheus2"], p)})
    snap = tick(clock, parked, rx)
    assert snap == {"prometheus2": [g("0", "foo:9090")], "prometheus": []}
    assert p.runs == 1


def test_set_providers_with_a_duplicated_then_dropped_sub(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # TestTargetSetTargetGroupsPresentOnConfigDuplicateAndDeleteOriginal
    p, rx = static_foo_delivered(agg, clock, parked)
    agg.set_providers({"static": (["prometheus", "prometheus2"], p)})
    snap = tick(clock, parked, rx)
    assert snap == {"prometheus": [g("0", "foo:9090")], "prometheus2": [g("0", "foo:9090")]}
    agg.set_providers({"static": (["prometheus2"], p)})
    snap = tick(clock, parked, rx)
    assert snap == {"prometheus2": [g("0", "foo:9090")], "prometheus": []}


def test_set_providers_same_config_twice_keeps_the_targets(
    agg: CoalescingAggregator, clock: FakeClock, parked: ReceiverParked
) -> None:
    # TestTargetSetTargetGroupsPresentOnConfigReload
    p = Manual()
    cfg = {"static": (["prometheus"], p)}
    agg.set_providers(cfg)
    agg.start()
    rx = Receiver(agg)
    send(p.out(), [g("0", "foo:9090")])
    assert tick(clock, parked, rx) == {"prometheus": [g("0", "foo:9090")]}
    agg.set_providers(cfg)
    assert tick(clock, parked, rx) == {"prometheus": [g("0", "foo:9090")]}
    assert p.runs == 1


def test_set_providers_validates_before_changing_anything(agg: CoalescingAggregator) -> None:
    p = Manual()
    agg.set_providers({"a": (["job"], p)})
    with pytest.raises(TypeError, match="must be callable"):
        agg.set_providers({"b": (["job"], None)})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="not one str"):
        agg.set_providers({"b": ("job", p)})
    agg.start()
    p.out()  # "a" is still registered and runs


# ------------------------------------------------------------------------------------ stress


def test_many_providers_hammering_never_block_and_the_final_state_arrives() -> None:
    agg = CoalescingAggregator(0.01)
    n_prov, n_upd = 8, 300
    provs = [Manual() for _ in range(n_prov)]
    for i, p in enumerate(provs):
        agg.add_provider(f"p{i}", ["job", f"own{i % 2}"], p)
    agg.start()
    outs = [p.out() for p in provs]
    errors: list[BaseException] = []

    def hammer(i: int) -> None:
        try:
            for k in range(n_upd):
                outs[i].send([g(f"s{i}.{k % 5}", str(k))], timeout=10)
        except BaseException as exc:  # a blocked provider would time out here
            errors.append(exc)

    ts = [threading.Thread(target=hammer, args=(i,)) for i in range(n_prov)]
    for t in ts:
        t.start()
    snaps: list[dict[str, list[Group]]] = []
    final = {
        f"s{i}.{k}": ({"__instance__": str(n_upd - 5 + k)},)
        for i in range(n_prov)
        for k in range(5)
    }
    # Each source's final value comes from its provider's last sends, so seeing the whole
    # final state means every update was applied; then no further snapshot is due.
    while not snaps or targets(snaps[-1], "job") != final:
        snaps.append(agg.sync_ch.recv(timeout=30))
    for t in ts:
        t.join(10)
    agg.stop()
    slow = snaps
    assert not errors
    assert targets(slow[-1], "own0") == {k: v for k, v in final.items() if int(k[1]) % 2 == 0}


# ------------------------------------------------------------------- async stop and reload


def run_in(world: str, fn: Any) -> Any:
    """Run the coroutine function ``fn`` to completion under ``world`` (asyncio or trio)."""
    if world == "trio":
        import trio

        return trio.run(fn)
    import asyncio

    return asyncio.run(fn())


@pytest.mark.parametrize("world", ["asyncio", "trio"])
def test_async_stop_cancels_the_providers_and_closes_sync_ch(
    agg: CoalescingAggregator, world: str
) -> None:
    p = Manual()
    agg.add_provider("p", ["job"], p)
    agg.start()
    p.out()

    async def main() -> None:
        await agg.async_stop()
        await agg.async_stop()  # idempotent

    run_in(world, main)
    assert agg.sync_ch.recv_ok(timeout=0) == (None, False)  # closed when async_stop returned
    assert p.ended.wait(10)  # the provider was cancelled
    with pytest.raises(AggregatorStopped):
        agg.add_provider("q", ["job"], Manual())


@pytest.mark.parametrize("world", ["asyncio", "trio"])
def test_async_set_providers_reuses_unchanged_ones_and_waits_for_the_obsolete(
    agg: CoalescingAggregator, clock: FakeClock, world: str
) -> None:
    keep, gone, added = Manual(), Manual(), Manual()
    agg.set_providers({"keep": (["job"], keep), "gone": (["old-job"], gone)})
    agg.start()
    keep.out()
    gone.out()

    async def main() -> None:
        await agg.async_set_providers({"keep": (["job"], keep), "new": (["new-job"], added)})

    run_in(world, main)
    assert gone.ended.wait(10)  # cancelled
    assert keep.runs == 1  # not restarted
    added.out()  # the new provider runs


def test_a_cancelled_async_stop_still_completes_the_stop(
    agg: CoalescingAggregator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    gate = threading.Event()  # holds the provider's updater back: async_stop must wait for it
    real_updater = agg._updater

    def held_updater(p: Any) -> None:
        gate.wait(10)
        real_updater(p)

    monkeypatch.setattr(agg, "_updater", held_updater)
    agg.add_provider("p", ["job"], Manual())
    agg.start()

    async def main() -> None:
        task = asyncio.ensure_future(agg.async_stop())
        # One loop turn: the task cancels the provider and parks on its updater (held back).
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    with pytest.raises(TimeoutError):
        agg.sync_ch.recv_ok(timeout=0)  # not closed yet: the updater has not ended
    gate.set()
    # A worker thread finishes the stop once the updater ends: sync_ch gets closed.
    assert agg.sync_ch.recv_ok(timeout=10) == (None, False)

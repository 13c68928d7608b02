"""RealFIFO: every delta in arrival order, one per pop, no per-key merging (client-go v0.33+)."""

from __future__ import annotations

from typing import Any

import pytest
from fifo_support import ADDED, DELETED, REPLACED, SYNC, UPDATED, Known, obj, tomb

from goprims.cache import (
    CacheKeyError,
    Delta,
    Deltas,
    DeltaType,
    FIFOClosed,
    RealFIFO,
)


def drain(f: RealFIFO) -> list[tuple[DeltaType, Any]]:
    out = []
    while len(f):
        d = f.pop(timeout=0)
        assert len(d) == 1
        out.append((d[0].type, d[0].object))
    return out


def test_every_delta_pops_separately_in_arrival_order() -> None:
    f = RealFIFO(known_objects=Known())
    f.add(obj("foo", 1))
    f.add(obj("bar", 1))
    f.update(obj("foo", 2))
    f.delete(obj("foo", 3))
    assert drain(f) == [
        (ADDED, obj("foo", 1)),
        (ADDED, obj("bar", 1)),
        (UPDATED, obj("foo", 2)),
        (DELETED, obj("foo", 3)),
    ]


def test_pop_returns_a_one_element_deltas() -> None:
    f = RealFIFO()
    f.add(obj("foo", 1))
    d = f.pop(timeout=0)
    assert isinstance(d, Deltas)
    assert d == [Delta(ADDED, obj("foo", 1))]


def test_delete_is_queued_without_an_existence_check_and_deletes_are_not_merged() -> None:
    f = RealFIFO(known_objects=Known())
    f.delete(obj("ghost", 1))
    f.delete(obj("ghost", 2))
    assert drain(f) == [(DELETED, obj("ghost", 1)), (DELETED, obj("ghost", 2))]


def test_replace_queues_tombstones_first_then_replaced_items() -> None:
    f = RealFIFO(known_objects=Known(obj("foo", 5), obj("bar", 6), obj("baz", 7)))
    f.add(obj("q", 1))  # queued, missing from the list: tombstoned with its last object
    f.update(obj("q", 2))
    f.delete(obj("d", 1))  # queued, last delta already a delete: no second delete
    f.replace([obj("foo", 5), obj("new", 1)], "0")
    assert drain(f) == [
        (ADDED, obj("q", 1)),
        (UPDATED, obj("q", 2)),
        (DELETED, obj("d", 1)),
        (DELETED, tomb("q", obj("q", 2))),
        (DELETED, tomb("bar", obj("bar", 6))),
        (DELETED, tomb("baz", obj("baz", 7))),
        (REPLACED, obj("foo", 5)),
        (REPLACED, obj("new", 1)),
    ]


def test_replace_does_not_tombstone_a_queued_key_that_is_relisted() -> None:
    f = RealFIFO(known_objects=Known(obj("foo", 5)))
    f.delete(obj("foo", 5))
    f.replace([obj("foo", 6)], "0")  # deleted and recreated: both delivered
    assert drain(f) == [(DELETED, obj("foo", 5)), (REPLACED, obj("foo", 6))]


def test_replace_tombstone_carries_none_when_the_known_lookup_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    f = RealFIFO(known_objects=Known(obj("a", 1), fail_on="a"))
    f.replace([], "0")
    assert drain(f) == [(DELETED, tomb("a", None))]
    assert "lookup failed" in caplog.text


def test_replace_with_an_unkeyable_item_queues_nothing() -> None:
    f = RealFIFO(known_objects=Known(obj("a", 1)))
    with pytest.raises(CacheKeyError):
        f.replace([obj("b", 1), {"nometa": True}], "0")
    assert len(f) == 0
    assert not f.has_synced()


def test_first_replace_counts_the_whole_queue_as_initial_population() -> None:
    f = RealFIFO(known_objects=Known(obj("gone", 1)))
    f.replace([obj("a", 1), obj("b", 1)], "0")  # 1 tombstone + 2 items
    flags: list[bool] = []
    for _ in range(3):
        assert not f.has_synced()
        f.pop(lambda d, initial: flags.append(initial), timeout=0)
    assert f.has_synced()
    assert flags == [True, True, True]


def test_has_synced_after_a_first_write_or_empty_replace() -> None:
    f = RealFIFO()
    f.add(obj("a", 1))
    assert f.has_synced()
    g = RealFIFO(known_objects=Known())
    g.replace([], "0")
    assert g.has_synced()


def test_resync_queues_sync_only_for_known_keys_with_nothing_queued() -> None:
    f = RealFIFO(known_objects=Known(obj("a", 1), obj("b", 1), obj("c", 1), fail_on="c"))
    f.update(obj("a", 2))
    f.resync()
    assert drain(f) == [(UPDATED, obj("a", 2)), (SYNC, obj("b", 1))]


def test_without_known_objects_resync_does_nothing_and_replace_sees_only_the_queue() -> None:
    f = RealFIFO()
    f.resync()
    assert len(f) == 0
    f.add(obj("a", 1))
    f.replace([obj("b", 1)])
    assert drain(f) == [
        (ADDED, obj("a", 1)),
        (DELETED, tomb("a", obj("a", 1))),
        (REPLACED, obj("b", 1)),
    ]


def test_transformer_skips_tombstones_and_resync() -> None:
    calls: list[Any] = []

    def transform(o: Any) -> Any:
        calls.append(o)
        return {**o, "t": True}

    f = RealFIFO(known_objects=Known(obj("k", 1)), transformer=transform)
    f.add(obj("a", 1))
    f.delete(tomb("a", obj("a", 1)))
    f.replace([obj("r", 1)])
    assert len(calls) == 2
    assert [t for t, _ in drain(f)] == [ADDED, DELETED, DELETED, REPLACED]  # a, a, k, r
    calls.clear()
    f.resync()
    assert calls == []
    assert drain(f) == [(SYNC, obj("k", 1))]


def test_list_keys_list_and_get_describe_the_queued_log() -> None:
    f = RealFIFO()
    f.add(obj("a", 1))
    f.add(obj("b", 1))
    f.update(obj("a", 2))
    assert f.list_keys() == ["a", "b"]
    assert f.list() == [obj("a", 2), obj("b", 1)]
    assert f.get(obj("a", 0)) == (
        Deltas([Delta(ADDED, obj("a", 1)), Delta(UPDATED, obj("a", 2))]),
        True,
    )
    assert f.get_by_key("zz") == (None, False)
    assert f.key_of(Delta(ADDED, obj("x", 1))) == "x"


def test_closed_realfifo_drains_then_raises_fifo_closed() -> None:
    f = RealFIFO()
    f.add(obj("a", 1))
    f.close()
    assert f.pop().newest() == Delta(ADDED, obj("a", 1))
    with pytest.raises(FIFOClosed):
        f.pop(timeout=0)

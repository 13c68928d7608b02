"""DeltaFIFO: client-go v0.32 queueing semantics (single-threaded; blocking pop is tested in
test_cache_fifo_blocking.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fifo_support import ADDED, DELETED, REPLACED, SYNC, UPDATED, Known, obj, tomb

from goprims.cache import (
    CacheKeyError,
    Delta,
    DeltaFIFO,
    Deltas,
    DeltaType,
    FIFOClosed,
    Indexer,
    meta_namespace_key_func,
)


def drain(f: DeltaFIFO) -> list[list[tuple[DeltaType, Any]]]:
    """Pop everything queued (without blocking), as lists of (type, object)."""
    out = []
    while len(f):
        out.append([(d.type, d.object) for d in f.pop(timeout=0)])
    return out


# ------------------------------------------------------------------------------- the basics


def test_pop_returns_keys_in_first_queued_order_with_all_their_deltas() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 10))
    f.add(obj("bar", 1))
    f.update(obj("foo", 11))
    assert drain(f) == [
        [(ADDED, obj("foo", 10)), (UPDATED, obj("foo", 11))],
        [(ADDED, obj("bar", 1))],
    ]


def test_an_update_does_not_move_a_queued_key_but_a_popped_key_requeues_at_the_back() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 10))
    f.add(obj("bar", 1))
    f.add(obj("foo", 11))
    f.add(obj("foo", 13))
    f.add(obj("zab", 30))
    first = f.pop(timeout=0)
    assert first.newest() == Delta(ADDED, obj("foo", 13))
    f.add(obj("foo", 14))  # foo must not jump back into its old place
    newest = [f.pop(timeout=0).newest() for _ in range(3)]
    assert [d.object["val"] for d in newest if d is not None] == [1, 30, 14]


def test_pop_returns_a_deltas_with_oldest_and_newest() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))
    f.update(obj("foo", 2))
    d = f.pop(timeout=0)
    assert isinstance(d, Deltas)
    assert d.oldest() == Delta(ADDED, obj("foo", 1))
    assert d.newest() == Delta(UPDATED, obj("foo", 2))
    assert Deltas().oldest() is None
    assert Deltas().newest() is None


def test_pop_calls_process_with_the_deltas_before_returning_them() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))
    seen: list[tuple[Deltas, bool]] = []
    got = f.pop(lambda d, initial: seen.append((d, initial)), timeout=0)
    assert seen == [(got, False)]


def test_an_exception_from_process_propagates_and_the_item_is_gone() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))

    def process(d: Deltas, initial: bool) -> None:
        raise ValueError("handler failed")

    with pytest.raises(ValueError, match="handler failed"):
        f.pop(process, timeout=0)
    assert f.list_keys() == []


def test_list_get_and_get_by_key_show_queued_state_as_copies() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))
    f.update(obj("foo", 2))
    f.add(obj("bar", 1))
    assert f.list_keys() == ["foo", "bar"]
    assert f.list() == [obj("foo", 2), obj("bar", 1)]
    got, exists = f.get(obj("foo", 99))
    assert exists
    assert got == [Delta(ADDED, obj("foo", 1)), Delta(UPDATED, obj("foo", 2))]
    assert got is not None
    got.clear()  # a copy: the queue keeps its deltas
    assert f.get_by_key("foo")[0] == [Delta(ADDED, obj("foo", 1)), Delta(UPDATED, obj("foo", 2))]
    assert f.get_by_key("nope") == (None, False)


def test_key_of_handles_deltas_tombstones_and_plain_objects() -> None:
    f = DeltaFIFO()
    assert f.key_of(obj("foo", 1)) == "foo"
    assert f.key_of(tomb("gone", None)) == "gone"
    assert f.key_of(Deltas([Delta(ADDED, obj("a", 1)), Delta(DELETED, tomb("b", None))])) == "b"
    with pytest.raises(CacheKeyError, match="0 length Deltas"):
        f.key_of(Deltas())


def test_delta_type_is_a_str_enum_with_client_go_spellings() -> None:
    assert [t.value for t in DeltaType] == ["Added", "Updated", "Deleted", "Replaced", "Sync"]
    # A str enum equals its plain string, which mypy's strict equality does not know.
    assert DeltaType.ADDED == "Added"  # type: ignore[comparison-overlap]
    assert str(DeltaType.SYNC) == "Sync"


# --------------------------------------------------------------------------------- deletes


def test_two_consecutive_deletes_collapse_keeping_the_real_object_over_a_tombstone() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))
    f.delete(obj("foo", 2))
    f.delete(tomb("foo", obj("foo", 1)))  # older is real: keep it
    f.delete(obj("foo", 3))  # older is real: keep it
    assert drain(f) == [[(ADDED, obj("foo", 1)), (DELETED, obj("foo", 2))]]


def test_a_real_delete_replaces_a_queued_tombstone() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))
    f.delete(tomb("foo", obj("foo", 1)))
    f.delete(obj("foo", 2))
    assert drain(f) == [[(ADDED, obj("foo", 1)), (DELETED, obj("foo", 2))]]


def test_other_consecutive_deltas_are_not_merged() -> None:
    f = DeltaFIFO(known_objects=Known())
    f.update(obj("foo", 1))
    f.update(obj("foo", 1))
    f.replace([obj("foo", 1)])
    f.replace([obj("foo", 1)])
    assert [t for t, _ in drain(f)[0]] == [UPDATED, UPDATED, SYNC, SYNC]


def test_delete_of_an_unqueued_key_without_known_objects_is_ignored() -> None:
    f = DeltaFIFO()
    f.delete(obj("foo", 1))
    assert f.list_keys() == []
    assert f.has_synced()  # a delete still counts as the first write


def test_delete_of_a_queued_key_without_known_objects_is_queued() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 5))
    f.delete(obj("foo", 6))
    assert drain(f) == [[(ADDED, obj("foo", 5)), (DELETED, obj("foo", 6))]]


def test_delete_of_a_known_but_unqueued_key_is_queued() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.delete(obj("foo", 6))
    assert drain(f) == [[(DELETED, obj("foo", 6))]]


def test_delete_of_a_key_neither_known_nor_queued_is_ignored() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.delete(obj("bar", 1))
    assert f.list_keys() == []


def test_delete_whose_known_lookup_fails_is_queued_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    f = DeltaFIFO(known_objects=Known(fail_on="foo"))
    f.delete(obj("foo", 1))
    assert drain(f) == [[(DELETED, obj("foo", 1))]]
    assert "lookup failed" in caplog.text


# --------------------------------------------------------------------------------- replace


def test_replace_queues_sync_deltas_by_default_and_replaced_when_asked() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.replace([obj("foo", 5)], "0")
    assert drain(f) == [[(SYNC, obj("foo", 5))]]
    g = DeltaFIFO(known_objects=Known(obj("foo", 5)), emit_delta_type_replaced=True)
    g.replace([obj("foo", 5)], "0")
    assert drain(g) == [[(REPLACED, obj("foo", 5))]]


def test_replace_after_add_appends_to_the_queued_key() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 10))
    f.replace([obj("foo", 15)], "0")
    assert drain(f) == [[(ADDED, obj("foo", 10)), (SYNC, obj("foo", 15))]]


def test_replace_keeps_a_queued_delete_before_the_relisted_object() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.delete(obj("foo", 5))
    f.replace([obj("foo", 6)], "0")
    assert drain(f) == [[(DELETED, obj("foo", 5)), (SYNC, obj("foo", 6))]]


def known3() -> Known:
    return Known(obj("foo", 5), obj("bar", 6), obj("baz", 7))


def test_replace_tombstones_known_keys_missing_from_the_list() -> None:
    # A queued real delete absorbs the tombstone; an unqueued known key gets one carrying the
    # known object.
    f = DeltaFIFO(known_objects=known3())
    f.delete(obj("baz", 10))
    f.replace([obj("foo", 5)], "0")
    assert drain(f) == [
        [(DELETED, obj("baz", 10))],
        [(SYNC, obj("foo", 5))],
        [(DELETED, tomb("bar", obj("bar", 6)))],
    ]


def test_replace_tombstones_a_queued_add_missing_from_the_list_with_its_newest_object() -> None:
    f = DeltaFIFO(known_objects=known3())
    f.add(obj("baz", 10))
    f.replace([obj("foo", 5)], "0")
    assert drain(f) == [
        [(ADDED, obj("baz", 10)), (DELETED, tomb("baz", obj("baz", 10)))],
        [(SYNC, obj("foo", 5))],
        [(DELETED, tomb("bar", obj("bar", 6)))],
    ]


def test_replace_tombstones_a_deleted_and_recreated_queued_object() -> None:
    f = DeltaFIFO(known_objects=known3())
    f.delete(obj("baz", 10))
    f.add(obj("baz", 10))
    f.replace([obj("foo", 5)], "0")
    assert drain(f) == [
        [
            (DELETED, obj("baz", 10)),
            (ADDED, obj("baz", 10)),
            (DELETED, tomb("baz", obj("baz", 10))),
        ],
        [(SYNC, obj("foo", 5))],
        [(DELETED, tomb("bar", obj("bar", 6)))],
    ]


def test_replace_unwraps_a_queued_tombstone_when_making_a_new_one() -> None:
    f = DeltaFIFO()
    f.add(obj("baz", 1))
    f.delete(tomb("baz", obj("baz", 1)))
    f.replace([], "0")  # collapses with the queued tombstone; its obj is not nested
    assert drain(f) == [[(ADDED, obj("baz", 1)), (DELETED, tomb("baz", obj("baz", 1)))]]


def test_replace_emitting_replaced_makes_the_same_deletions() -> None:
    f = DeltaFIFO(known_objects=known3(), emit_delta_type_replaced=True)
    f.delete(obj("baz", 10))
    f.replace([obj("foo", 6)], "0")
    assert drain(f) == [
        [(DELETED, obj("baz", 10))],
        [(REPLACED, obj("foo", 6))],
        [(DELETED, tomb("bar", obj("bar", 6)))],
    ]


def test_replace_without_known_objects_only_tombstones_queued_keys() -> None:
    f = DeltaFIFO()
    f.add(obj("foo", 1))
    f.replace([obj("bar", 2)], "0")
    assert drain(f) == [
        [(ADDED, obj("foo", 1)), (DELETED, tomb("foo", obj("foo", 1)))],
        [(SYNC, obj("bar", 2))],
    ]


def test_replace_tombstone_carries_none_when_the_known_lookup_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 1), obj("bar", 2), fail_on="bar"))
    f.replace([obj("foo", 1)], "0")
    assert drain(f) == [[(SYNC, obj("foo", 1))], [(DELETED, tomb("bar", None))]]
    assert "lookup failed" in caplog.text


def test_replace_with_an_unkeyable_item_queues_nothing() -> None:
    f = DeltaFIFO(known_objects=known3())
    f.add(obj("q", 1))
    with pytest.raises(CacheKeyError):
        f.replace([obj("foo", 5), {"no": "metadata"}], "0")
    assert drain(f) == [[(ADDED, obj("q", 1))]]


# ---------------------------------------------------------------------------------- resync


def test_resync_queues_sync_for_known_objects() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.resync()
    assert drain(f) == [[(SYNC, obj("foo", 5))]]


def test_resync_skips_keys_with_pending_deltas() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.update(obj("foo", 6))
    f.resync()  # the known foo@5 is older than the queued foo@6: not re-delivered
    assert drain(f) == [[(UPDATED, obj("foo", 6))]]


def test_resync_does_not_resurrect_a_pending_delete() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 5)))
    f.delete(obj("foo", 10))
    f.resync()
    assert drain(f) == [[(DELETED, obj("foo", 10))]]


def test_resync_without_known_objects_does_nothing() -> None:
    f = DeltaFIFO()
    f.resync()
    assert f.list_keys() == []
    assert not f.has_synced()


def test_resync_skips_a_known_key_whose_lookup_fails() -> None:
    f = DeltaFIFO(known_objects=Known(obj("foo", 1), obj("bar", 2), fail_on="foo"))
    f.resync()
    assert drain(f) == [[(SYNC, obj("bar", 2))]]


def test_resync_against_a_real_indexer() -> None:
    ix = Indexer(meta_namespace_key_func)
    ix.add(obj("a", 1))
    ix.add(obj("b", 1))
    f = DeltaFIFO(known_objects=ix)
    f.update(obj("a", 2))
    f.resync()
    assert [(d[0][0], d[0][1]["metadata"]["name"]) for d in drain(f)] == [
        (UPDATED, "a"),
        (SYNC, "b"),
    ]


# ----------------------------------------------------------------------------- transformer


def test_transformer_runs_on_writes_but_not_on_tombstones_or_resync() -> None:
    calls: list[Any] = []

    def transform(o: Any) -> Any:
        calls.append(o)
        return {**o, "transformed": True}

    known = Known(obj("k", 1))
    f = DeltaFIFO(known_objects=known, transformer=transform, emit_delta_type_replaced=True)
    f.add(obj("a", 1))
    f.update(obj("a", 2))
    f.delete(obj("a", 3))
    f.replace([obj("r", 1)], "0")  # also tombstones a and k: not transformed
    assert len(calls) == 4
    got = drain(f)

    def t(o: Any) -> Any:
        return {**o, "transformed": True}

    # a's real (transformed) delete absorbed its tombstone
    assert got[0] == [(ADDED, t(obj("a", 1))), (UPDATED, t(obj("a", 2))), (DELETED, t(obj("a", 3)))]
    assert got[1] == [(REPLACED, t(obj("r", 1)))]
    assert got[2] == [(DELETED, tomb("k", obj("k", 1)))]
    calls.clear()
    f.resync()
    assert calls == []
    assert drain(f) == [[(SYNC, obj("k", 1))]]


def test_a_failing_transformer_queues_nothing_and_does_not_mark_populated() -> None:
    def transform(o: Any) -> Any:
        raise RuntimeError("bad transform")

    f = DeltaFIFO(transformer=transform)
    with pytest.raises(RuntimeError):
        f.add(obj("a", 1))
    with pytest.raises(RuntimeError):
        f.replace([obj("a", 1)])
    assert f.list_keys() == []
    assert not f.has_synced()


def test_unkeyable_objects_raise_cache_key_error_and_queue_nothing() -> None:
    f = DeltaFIFO()
    for op in (f.add, f.update, f.delete, f.get):
        with pytest.raises(CacheKeyError):
            op({"kind": "NoMetadata"})
    assert f.list_keys() == []
    assert not f.has_synced()


# ------------------------------------------------------------------------------ has_synced


def test_has_synced_after_a_first_add() -> None:
    f = DeltaFIFO()
    assert not f.has_synced()
    f.add(obj("a", 1))
    assert f.has_synced()


def test_has_synced_after_a_first_empty_replace() -> None:
    f = DeltaFIFO()
    f.replace([], "0")
    assert f.has_synced()


def test_has_synced_only_once_the_whole_initial_list_was_processed() -> None:
    f = DeltaFIFO()
    f.replace([obj("a", 1), obj("b", 2)], "0")
    f.add(obj("c", 3))  # after the first replace: not part of the initial population
    assert not f.has_synced()
    flags: list[bool] = []

    def process(d: Deltas, initial: bool) -> None:
        flags.append(initial)

    f.pop(process, timeout=0)
    assert not f.has_synced()
    f.pop(process, timeout=0)
    assert f.has_synced()
    f.pop(process, timeout=0)
    assert flags == [True, True, False]


def test_initial_population_counts_synthetic_deletions() -> None:
    f = DeltaFIFO(known_objects=known3())
    f.replace([obj("foo", 5)], "0")  # one item plus two tombstones
    for _ in range(3):
        assert not f.has_synced()
        f.pop(timeout=0)
    assert f.has_synced()


def test_initial_population_counts_distinct_keys() -> None:
    f = DeltaFIFO()
    f.replace([obj("a", 1), obj("a", 2)], "0")  # one key with two deltas: one pop
    assert not f.has_synced()
    assert len(f.pop(timeout=0)) == 2
    assert f.has_synced()


def test_a_later_replace_does_not_reset_has_synced() -> None:
    f = DeltaFIFO()
    f.replace([], "0")
    f.replace([obj("a", 1)], "1")
    assert f.has_synced()


def test_is_in_initial_list_is_true_only_for_the_first_replace() -> None:
    seen: list[bool] = []
    f = DeltaFIFO()
    f.replace([obj("a", 1)], "0")
    f.pop(lambda d, initial: seen.append(initial), timeout=0)
    f.replace([obj("b", 1)], "1")
    f.pop(lambda d, initial: seen.append(initial), timeout=0)
    assert seen == [True, False]


# ---------------------------------------------------------------------------------- close


def test_pop_drains_queued_items_after_close_then_raises_fifo_closed() -> None:
    f = DeltaFIFO()
    f.add(obj("a", 1))
    f.close()
    assert f.is_closed()
    assert f.pop().newest() == Delta(ADDED, obj("a", 1))
    with pytest.raises(FIFOClosed):
        f.pop()
    with pytest.raises(FIFOClosed):
        f.pop(timeout=0)


def test_pop_with_zero_timeout_on_an_empty_open_fifo_raises_timeout_error() -> None:
    with pytest.raises(TimeoutError):
        DeltaFIFO().pop(timeout=0)

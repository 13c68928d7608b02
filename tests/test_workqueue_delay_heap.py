"""DelayHeap: the one heap of delays shared by DelayingQueue and the scheduling backoff tier."""

from __future__ import annotations

import random

import pytest

from goprims.workqueue import delay_heap
from goprims.workqueue.delay_heap import DelayHeap


def test_pop_due_returns_items_due_by_now_earliest_first_ties_in_push_order() -> None:
    h: DelayHeap[str] = DelayHeap()
    h.push("c", 3.0)
    h.push("a", 1.0)
    h.push("b", 1.0)
    h.push("late", 9.0)
    assert h.earliest() == 1.0
    assert h.pop_due(3.0) == ["a", "b", "c"]
    assert h.pop_due(8.9) == []
    assert list(h) == ["late"]
    assert len(h) == 1


def test_push_replaces_an_items_time_and_remove_takes_it_out() -> None:
    h: DelayHeap[str] = DelayHeap()
    h.push("a", 1.0)
    h.push("a", 5.0)  # replaced: only one entry is live
    assert h.due_at("a") == 5.0
    assert h.pop_due(2.0) == []
    h.push("b", 0.5)
    assert h.remove("b")
    assert not h.remove("b")
    assert "b" not in h
    assert h.due_at("b") is None
    assert h.earliest() == 5.0
    assert h.pop_due(5.0) == ["a"]
    assert h.earliest() is None
    assert not h


def test_dead_entries_are_compacted_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delay_heap, "_MIN_DEAD_TO_COMPACT", 4)
    h: DelayHeap[int] = DelayHeap()
    for i in range(10):
        h.push(i, float(i))
    for i in range(9):
        h.remove(i)
    assert len(h._heap) <= 2 * len(h) + 4
    assert h.pop_due(100.0) == [9]


@pytest.mark.parametrize("seed", range(5))
def test_random_operations_match_a_dict_model(seed: int) -> None:
    rng = random.Random(seed)
    h: DelayHeap[int] = DelayHeap()
    model: dict[int, float] = {}
    now = 0.0
    for _ in range(500):
        op = rng.random()
        k = rng.randrange(20)
        if op < 0.5:
            at = now + rng.uniform(0, 10)
            h.push(k, at)
            model[k] = at
        elif op < 0.7:
            assert h.remove(k) == (k in model)
            model.pop(k, None)
        else:
            now += rng.uniform(0, 3)
            due = sorted((at, k) for k, at in model.items() if at <= now)
            got = h.pop_due(now)
            assert sorted(got) == sorted(k for _, k in due)
            assert [model[k] for k in got] == sorted(model[k] for k in got)
            for k in got:
                del model[k]
        assert len(h) == len(model)
        assert h.earliest() == (min(model.values()) if model else None)


def test_peek_shows_the_earliest_item_without_taking_it_and_in_order_lists_all_by_due() -> None:
    h: DelayHeap[str] = DelayHeap()
    assert h.peek() is None
    assert h.in_order() == []
    h.push("b", 2.0)
    h.push("a", 1.0)
    h.push("a2", 1.0)  # tie: push order
    h.push("c", 3.0)
    h.push("b", 0.5)  # replaced: the old tuple is dead
    assert h.peek() == ("b", 0.5)
    assert h.peek() == ("b", 0.5)
    assert len(h) == 4
    assert h.in_order() == ["b", "a", "a2", "c"]
    h.remove("b")
    assert h.peek() == ("a", 1.0)

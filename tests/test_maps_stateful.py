"""Model-based tests: random operation sequences on Map and NestedMap against plain-dict models.

Each step runs one operation on the goprims object and on the model and requires identical
results (return values and exception types); after each step the full contents and the
internal invariants (read/dirty/expunged bookkeeping, branch leaf counts) are checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from goprims.maps import Map, NestedMap
from goprims.maps.nested_map import _Branch
from goprims.maps.sync_map import _EXPUNGED, _NIL

keys = st.integers(0, 7)
values = st.one_of(st.none(), st.integers(-2, 2))
ops = st.sampled_from([1, 0, -1])


def check_map_invariants(m: Map[Any, Any], model: dict[Any, Any]) -> None:
    """The invariants written next to Map's state, plus agreement with the model."""
    read_m, amended = m._read
    dirty = m._dirty
    assert amended == (dirty is not None)
    live: dict[Any, Any] = {}
    for k, e in read_m.items():
        if e.p is _EXPUNGED:
            assert dirty is not None, "an expunged entry implies a dirty map"
            assert k not in dirty, "expunged entry present in dirty"
        else:
            if dirty is not None:
                assert dirty.get(k) is e, "non-expunged read entry missing from dirty"
            if e.p is not _NIL:
                live[k] = e.p
    if dirty is not None:
        for k, e in dirty.items():
            if k in read_m:
                assert read_m[k] is e
            else:
                assert e.p is not _NIL, "dead entry only in dirty"
                assert e.p is not _EXPUNGED, "dead entry only in dirty"
                live[k] = e.p
        assert m._misses < max(len(dirty), 1)
    assert live == model
    assert len(m) == len(model)


class MapMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.m: Map[int, int | None] = Map()
        self.model: dict[int, int | None] = {}

    @rule(k=keys)
    def load(self, k: int) -> None:
        expect = (self.model[k], True) if k in self.model else (None, False)
        assert self.m.load(k) == expect
        assert (k in self.m) == (k in self.model)
        assert self.m.get(k, "absent") == self.model.get(k, "absent")

    @rule(k=keys, v=values)
    def store(self, k: int, v: int | None) -> None:
        self.m.store(k, v)
        self.model[k] = v

    @rule(k=keys, v=values)
    def setitem(self, k: int, v: int | None) -> None:
        self.m[k] = v
        self.model[k] = v

    @rule(k=keys, v=values)
    def swap(self, k: int, v: int | None) -> None:
        expect = (self.model[k], True) if k in self.model else (None, False)
        assert self.m.swap(k, v) == expect
        self.model[k] = v

    @rule(k=keys, v=values)
    def load_or_store(self, k: int, v: int | None) -> None:
        if k in self.model:
            expect = (self.model[k], True)
        else:
            expect = (v, False)
            self.model[k] = v
        assert self.m.load_or_store(k, v) == expect

    @rule(k=keys, v=values)
    def setdefault(self, k: int, v: int | None) -> None:
        assert self.m.setdefault(k, v) == self.model.setdefault(k, v)

    @rule(k=keys)
    def load_and_delete(self, k: int) -> None:
        expect = (self.model.pop(k), True) if k in self.model else (None, False)
        assert self.m.load_and_delete(k) == expect

    @rule(k=keys)
    def delete(self, k: int) -> None:
        self.m.delete(k)
        self.model.pop(k, None)

    @rule(k=keys)
    def delitem(self, k: int) -> None:
        try:
            del self.m[k]
            got = "ok"
        except KeyError:
            got = "KeyError"
        expect = "ok" if k in self.model else "KeyError"
        self.model.pop(k, None)
        assert got == expect

    @rule(k=keys)
    def pop_with_default(self, k: int) -> None:
        assert self.m.pop(k, "absent") == self.model.pop(k, "absent")

    @rule()
    def popitem(self) -> None:
        if not self.model:
            try:
                self.m.popitem()
            except KeyError:
                return
            raise AssertionError("popitem on an empty Map did not raise KeyError")
        k, v = self.m.popitem()
        assert self.model.pop(k) == v

    @rule(k=keys, old=values, new=values)
    def compare_and_swap(self, k: int, old: int | None, new: int | None) -> None:
        expect = k in self.model and self.model[k] == old
        assert self.m.compare_and_swap(k, old, new) == expect
        if expect:
            self.model[k] = new

    @rule(k=keys, old=values)
    def compare_and_delete(self, k: int, old: int | None) -> None:
        expect = k in self.model and self.model[k] == old
        assert self.m.compare_and_delete(k, old) == expect
        if expect:
            del self.model[k]

    @rule(pairs=st.dictionaries(keys, st.integers(0, 9), max_size=4))
    def update(self, pairs: dict[int, int]) -> None:
        self.m.update(pairs)  # the standard MutableMapping merge
        self.model.update(pairs)

    @rule(k=keys, op=ops, delta=st.integers(-1, 2))
    def compute(self, k: int, op: int, delta: int) -> None:
        calls: list[tuple[Any, bool]] = []

        def fn(old: int | None, loaded: bool) -> tuple[int, int]:
            calls.append((old, loaded))
            return (old or 0) + delta, op

        present = k in self.model
        old = self.model.get(k)
        expect = op == 1 or (op == -1 and present)
        assert self.m.compute(k, fn) == expect
        assert calls == [(old, present)]  # single-threaded: exactly one call
        if op == 1:
            self.model[k] = (old or 0) + delta
        elif op == -1:
            self.model.pop(k, None)

    @rule()
    def clear(self) -> None:
        self.m.clear()
        self.model.clear()

    @rule(src=st.dictionaries(keys, values, max_size=5))
    def copy_from(self, src: dict[int, int | None]) -> None:
        self.m.copy_from(src)
        self.model = dict(src)

    @rule(stop_after=st.integers(1, 4))
    def range_with_early_stop(self, stop_after: int) -> None:
        seen: list[tuple[int, int | None]] = []

        def f(k: int, v: int | None) -> bool:
            seen.append((k, v))
            return len(seen) < stop_after

        self.m.range(f)
        assert len(seen) == min(stop_after, len(self.model))
        assert all(self.model[k] == v for k, v in seen)

    @rule()
    def full_walks(self) -> None:
        seen: dict[int, int | None] = {}
        self.m.range(lambda k, v: seen.__setitem__(k, v))
        assert seen == self.model
        walked = list(self.m)
        assert sorted(walked) == sorted(self.model)
        assert dict(self.m.items()) == self.model
        assert self.m == self.model

    @invariant()
    def agrees_with_model(self) -> None:
        check_map_invariants(self.m, self.model)
        assert self.m.snapshot() == self.model


TestMapAgainstDict = MapMachine.TestCase
TestMapAgainstDict.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)


# ---------------------------------------------------------------------------------------------
# NestedMap against a nested-dict model (branches are dicts, leaves are ints)

segment = st.sampled_from(["a", "b", "c"])
paths = st.lists(segment, min_size=1, max_size=3).map(tuple)
prefixes = st.lists(segment, min_size=0, max_size=3).map(tuple)
leaves = st.integers(0, 5)


class ModelError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or (exception class name, None), for the model and the real thing alike."""
    try:
        return "ok", call()
    except ModelError as e:
        return e.name, None
    except (LookupError, ValueError) as e:
        return type(e).__name__, None


def model_branch(model: dict[Any, Any], keys: tuple[Any, ...]) -> dict[Any, Any]:
    node = model
    for k in keys:
        if k not in node:
            raise ModelError("NotExist")
        node = node[k]
        if not isinstance(node, dict):
            raise ModelError("NotBranch")
    return node


def model_leaves(
    node: dict[Any, Any], prefix: tuple[Any, ...]
) -> list[tuple[tuple[Any, ...], Any]]:
    out = []
    for k, v in node.items():
        if isinstance(v, dict):
            out.extend(model_leaves(v, (*prefix, k)))
        else:
            out.append(((*prefix, k), v))
    return out


def check_branch_counts(b: _Branch, is_root: bool) -> int:
    """Recompute every branch's leaf count from its children; no empty branch but the root."""
    total = 0
    for _, child in b.m.items():
        total += check_branch_counts(child, False) if type(child) is _Branch else 1
    assert b.count == total
    assert is_root or total > 0, "an empty branch was not pruned"
    return total


class NestedMapMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.nm = NestedMap()
        self.model: dict[Any, Any] = {}

    def model_load(self, keys: tuple[Any, ...]) -> Any:
        node = model_branch(self.model, keys[:-1])
        if keys[-1] not in node:
            raise ModelError("NotExist")
        v = node[keys[-1]]
        if isinstance(v, dict):
            raise ModelError("NotLeaf")
        return v

    def model_put(self, v: int, keys: tuple[Any, ...], only_if_absent: bool) -> Any:
        node = self.model
        for k in keys[:-1]:
            if k not in node:
                break
            node = node[k]
            if not isinstance(node, dict):
                raise ModelError("NotBranch")
        else:
            old = node.get(keys[-1])
            if isinstance(old, dict):
                raise ModelError("NotLeaf")
            if old is not None and only_if_absent:
                return old, True
        node = self.model
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = v
        return v, False

    def model_delete(self, keys: tuple[Any, ...]) -> bool:
        chain = [self.model]
        node = self.model
        for k in keys[:-1]:
            if k not in node:
                return False
            node = node[k]
            if not isinstance(node, dict):
                raise ModelError("NotBranch")
            chain.append(node)
        if keys[-1] not in node:
            return False
        del node[keys[-1]]
        for i in range(len(chain) - 1, 0, -1):  # prune empty branches bottom-up
            if chain[i]:
                break
            del chain[i - 1][keys[i - 1]]
        return True

    @rule(keys=paths)
    def load(self, keys: tuple[Any, ...]) -> None:
        assert outcome(lambda: self.nm.load(*keys)) == outcome(lambda: self.model_load(keys))
        assert outcome(lambda: self.nm[keys]) == outcome(lambda: self.model_load(keys))
        assert (keys in self.nm) == (outcome(lambda: self.model_load(keys))[0] == "ok")

    @rule(v=leaves, keys=paths)
    def store(self, v: int, keys: tuple[Any, ...]) -> None:
        expect = outcome(lambda: self.model_put(v, keys, only_if_absent=False))
        got = outcome(lambda: self.nm.store(v, *keys))
        assert got[0] == expect[0]

    @rule(v=leaves, keys=paths)
    def load_or_store(self, v: int, keys: tuple[Any, ...]) -> None:
        expect = outcome(lambda: self.model_put(v, keys, only_if_absent=True))
        assert outcome(lambda: self.nm.load_or_store(v, *keys)) == expect

    @rule(keys=paths)
    def delete(self, keys: tuple[Any, ...]) -> None:
        expect = outcome(lambda: self.model_delete(keys))
        assert outcome(lambda: self.nm.delete(*keys)) == expect

    @rule(keys=prefixes)
    def length(self, keys: tuple[Any, ...]) -> None:
        expect = outcome(lambda: len(model_leaves(model_branch(self.model, keys), keys)))
        assert outcome(lambda: self.nm.len(*keys)) == expect

    @rule(keys=prefixes)
    def range_subtree(self, keys: tuple[Any, ...]) -> None:
        def collect() -> list[tuple[tuple[Any, ...], Any]]:
            got: list[tuple[tuple[Any, ...], Any]] = []
            self.nm.range(lambda p, v: got.append((p, v)), *keys)
            return sorted(got)

        expect = outcome(lambda: sorted(model_leaves(model_branch(self.model, keys), keys)))
        assert outcome(collect) == expect

    @rule(stop_after=st.integers(1, 3))
    def range_with_early_stop(self, stop_after: int) -> None:
        calls: list[tuple[Any, ...]] = []

        def f(p: tuple[Any, ...], v: Any) -> bool:
            calls.append(p)
            return len(calls) < stop_after

        self.nm.range(f)
        assert len(calls) == min(stop_after, len(model_leaves(self.model, ())))

    @rule()
    def clear(self) -> None:
        self.nm.clear()
        self.model.clear()

    @invariant()
    def agrees_with_model(self) -> None:
        assert self.nm.snapshot() == self.model
        assert len(self.nm) == len(model_leaves(self.model, ()))
        check_branch_counts(self.nm._root, True)


TestNestedMapAgainstNestedDict = NestedMapMachine.TestCase
TestNestedMapAgainstNestedDict.settings = settings(
    max_examples=150, stateful_step_count=50, deadline=None
)

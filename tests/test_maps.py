"""goprims.maps: Map (copy-on-write sync.Map) and NestedMap, behaviour and concurrency."""

from __future__ import annotations

import copy
import pickle
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from goprims.maps import Map, NestedMap, NotBranch, NotExist, NotLeaf


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads every 10 µs, so that races actually interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(n: int, target: Callable[[int], None]) -> None:
    """Run ``target(i)`` in ``n`` threads released together by a barrier; re-raise a failure."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# ---------------------------------------------------------------------------------------------
# Map: the Go method set


def test_load_reports_absence_with_a_flag_so_none_values_are_distinct() -> None:
    m: Map[str, int | None] = Map()
    assert m.load("k") == (None, False)
    m.store("k", None)
    assert m.load("k") == (None, True)
    assert "k" in m
    assert len(m) == 1


def test_store_overwrites_and_swap_returns_the_previous_value() -> None:
    m: Map[str, int] = Map()
    assert m.swap("a", 1) == (None, False)
    m.store("a", 2)
    assert m.swap("a", 3) == (2, True)
    assert m.load("a") == (3, True)


def test_load_or_store_stores_only_when_absent() -> None:
    m: Map[str, int] = Map()
    assert m.load_or_store("a", 1) == (1, False)
    assert m.load_or_store("a", 2) == (1, True)
    m.delete("a")
    assert m.load_or_store("a", 3) == (3, False)


def test_load_and_delete_returns_the_value_once() -> None:
    m = Map({"a": 1})
    assert m.load_and_delete("a") == (1, True)
    assert m.load_and_delete("a") == (None, False)
    assert len(m) == 0


def test_delete_of_a_missing_key_is_a_no_op() -> None:
    m = Map({"a": 1})
    m.delete("zz")
    assert m.snapshot() == {"a": 1}


def test_compare_and_swap_uses_equality_and_fails_on_absent_keys() -> None:
    m: Map[str, float] = Map()
    assert not m.compare_and_swap("a", 1, 2)
    assert "a" not in m
    m.store("a", 1)
    assert not m.compare_and_swap("a", 5, 6)
    assert m.compare_and_swap("a", 1.0, 2)  # == equality, as Go's == on interface values
    assert m.load("a") == (2, True)


def test_compare_and_swap_accepts_the_identical_object_even_if_it_is_not_equal_to_itself() -> None:
    nan = float("nan")
    m = Map({"a": nan})
    assert m.compare_and_swap("a", nan, 1.0)
    assert m["a"] == 1.0


def test_compare_and_delete_is_false_on_an_absent_key_even_for_old_none() -> None:
    m: Map[str, int | None] = Map()
    assert not m.compare_and_delete("a", None)
    m.store("a", None)
    assert not m.compare_and_delete("a", 0)
    assert m.compare_and_delete("a", None)
    assert "a" not in m


def test_compare_and_swap_propagates_an_eq_error_and_changes_nothing() -> None:
    class Bad:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no eq")

        __hash__ = object.__hash__

    v = Bad()
    m: Map[str, Any] = Map({"a": v})
    with pytest.raises(RuntimeError, match="no eq"):
        m.compare_and_swap("a", Bad(), 1)
    assert m["a"] is v


def test_range_visits_every_pair_and_stops_on_false() -> None:
    m = Map({i: i * 10 for i in range(20)})
    seen: dict[int, int] = {}
    m.range(lambda k, v: seen.__setitem__(k, v))  # returns None: keeps going
    assert seen == {i: i * 10 for i in range(20)}
    calls: list[int] = []

    def stop_at_three(k: int, v: int) -> bool:
        calls.append(k)
        return len(calls) < 3

    m.range(stop_at_three)
    assert len(calls) == 3


def test_range_callback_may_modify_the_map() -> None:
    m = Map({i: i for i in range(50)})
    seen: list[int] = []

    def f(k: int, v: int) -> bool:
        seen.append(k)
        m.delete(k)
        m.store(k + 1000, v)
        return True

    m.range(f)
    assert sorted(seen) == list(range(50))
    assert m.snapshot() == {k + 1000: k for k in range(50)}


def test_range_skips_a_key_deleted_before_the_walk_reaches_it() -> None:
    m = Map({i: i for i in range(10)})
    seen: list[int] = []
    first: list[int] = []

    def f(k: int, v: int) -> None:
        if not first:
            first.append(k)
            for other in range(10):
                if other != k:
                    m.delete(other)
        seen.append(k)

    m.range(f)
    assert seen == first


def test_clear_during_range_leaves_the_walk_on_the_contents_it_started_with() -> None:
    m = Map({i: i for i in range(10)})
    seen: list[int] = []

    def f(k: int, v: int) -> None:
        if not seen:
            m.clear()
            m.store(100, 100)
        seen.append(k)

    m.range(f)
    assert sorted(seen) == list(range(10))
    assert m.snapshot() == {100: 100}


def test_range_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        Map().range(42)  # type: ignore[arg-type]


def test_clear_empties_the_map() -> None:
    m = Map({i: i for i in range(5)})
    m.store(99, 99)  # pending in the dirty map
    m.clear()
    assert len(m) == 0
    assert m.load(99) == (None, False)
    assert m.snapshot() == {}
    m.store(1, 1)
    assert m.snapshot() == {1: 1}


# ---------------------------------------------------------------------------------------------
# Map: compute (the origin's Update) and copy_from


def test_compute_stores_aborts_and_deletes() -> None:
    m: Map[str, int] = Map()
    assert m.compute("n", lambda old, loaded: (1 if not loaded else (old or 0) + 1, 1))
    assert m.compute("n", lambda old, loaded: ((old or 0) + 1, 1))
    assert m["n"] == 2
    assert not m.compute("n", lambda old, loaded: (100, 0))
    assert m["n"] == 2
    assert m.compute("n", lambda old, loaded: (None, -1))
    assert "n" not in m


def test_compute_deleting_a_missing_key_is_a_no_op_returning_false() -> None:
    m: Map[str, int | None] = Map()
    assert not m.compute("ghost", lambda old, loaded: (None, -1))
    assert "ghost" not in m
    assert len(m) == 0


def test_compute_passes_old_none_and_loaded_false_for_an_absent_key() -> None:
    m: Map[str, int | None] = Map()
    seen: list[tuple[Any, bool]] = []

    def fn(old: int | None, loaded: bool) -> tuple[int | None, int]:
        seen.append((old, loaded))
        return None, 0

    m.compute("a", fn)
    m.store("a", None)
    m.compute("a", fn)
    assert seen == [(None, False), (None, True)]


def test_compute_rejects_an_unknown_op_and_changes_nothing() -> None:
    m = Map({"a": 1})
    with pytest.raises(ValueError, match="op must be"):
        m.compute("a", lambda old, loaded: (5, 2))
    assert m["a"] == 1


def test_compute_propagates_an_exception_from_fn_and_changes_nothing() -> None:
    m = Map({"a": 1})

    def boom(old: int | None, loaded: bool) -> tuple[int, int]:
        raise LookupError("from fn")

    with pytest.raises(LookupError, match="from fn"):
        m.compute("a", boom)
    assert m.snapshot() == {"a": 1}


def test_compute_calls_fn_again_when_the_key_changed_meanwhile() -> None:
    m = Map({"a": 1})
    seen: list[int | None] = []

    def fn(old: int | None, loaded: bool) -> tuple[int, int]:
        seen.append(old)
        if len(seen) == 1:
            m.store("a", 10)  # a concurrent writer, simulated: fn may use the map
        return (old or 0) + 1, 1

    assert m.compute("a", fn)
    assert seen == [1, 10]
    assert m["a"] == 11


def test_compute_retries_when_an_absent_key_appears_meanwhile() -> None:
    m: Map[str, int] = Map()
    seen: list[tuple[int | None, bool]] = []

    def fn(old: int | None, loaded: bool) -> tuple[int, int]:
        seen.append((old, loaded))
        if len(seen) == 1:
            m.store("a", 5)
        return (old or 0) + 1, 1

    assert m.compute("a", fn)
    assert seen == [(None, False), (5, True)]
    assert m["a"] == 6


def test_copy_from_replaces_all_contents() -> None:
    m = Map({"old": 0, "both": 0})
    m.copy_from({"both": 1, "new": 2})
    assert m.snapshot() == {"both": 1, "new": 2}
    m.copy_from([("p", 3)])
    assert m.snapshot() == {"p": 3}
    other = Map({"x": 9})
    m.copy_from(other)
    other.store("y", 1)
    assert m.snapshot() == {"x": 9}
    m.copy_from(m)
    assert m.snapshot() == {"x": 9}
    assert len(m) == 1


# ---------------------------------------------------------------------------------------------
# Map: the MutableMapping face


def test_mapping_face_behaves_like_a_dict() -> None:
    m: Map[str, int] = Map()
    m["a"] = 1
    m["b"] = 2
    assert m["a"] == 1
    with pytest.raises(KeyError):
        m["zz"]
    del m["a"]
    with pytest.raises(KeyError):
        del m["a"]
    assert m.get("a") is None
    assert m.get("a", 7) == 7
    assert m.get("b", 7) == 2
    assert m.setdefault("c", 3) == 3
    assert m.setdefault("c", 4) == 3
    assert m.pop("c") == 3
    assert m.pop("c", "gone") == "gone"
    with pytest.raises(KeyError):
        m.pop("c")
    assert sorted(m) == ["b"]
    assert m == {"b": 2}
    assert m != {"b": 3}
    assert repr(m) == "Map({'b': 2})"


def test_popitem_removes_one_pair_and_raises_when_empty() -> None:
    m = Map({"a": 1})
    m.store("b", 2)  # only in the dirty map
    got = {m.popitem(), m.popitem()}
    assert got == {("a", 1), ("b", 2)}
    with pytest.raises(KeyError, match="empty"):
        m.popitem()


def test_keys_values_items_are_point_in_time_copies() -> None:
    m = Map({"a": 1, "b": 2})
    keys, values, items = m.keys(), m.values(), m.items()
    m.store("c", 3)
    m.delete("a")
    assert set(keys) == {"a", "b"}
    assert sorted(values) == [1, 2]
    assert set(items) == {("a", 1), ("b", 2)}


def test_copy_and_pickle_give_an_independent_map() -> None:
    m = Map({"a": [1]})
    shallow = copy.copy(m)
    deep = copy.deepcopy(m)
    restored = pickle.loads(pickle.dumps(m))
    m.store("b", [2])
    assert shallow.snapshot() == {"a": [1]}
    assert shallow["a"] is m["a"]
    assert deep["a"] == [1]
    assert deep["a"] is not m["a"]
    assert restored.snapshot() == {"a": [1]}


def test_unhashable_key_raises_type_error() -> None:
    m: Map[Any, int] = Map()
    with pytest.raises(TypeError, match="unhashable"):
        m.store([1], 1)
    with pytest.raises(TypeError, match="unhashable"):
        m.load([1])


def test_map_is_generic_and_constructible_from_pairs() -> None:
    m = Map[str, int]([("a", 1), ("b", 2)])
    assert m.snapshot() == {"a": 1, "b": 2}


# ---------------------------------------------------------------------------------------------
# Map: the copy-on-write design (white-box: these pin the lock-free read path)


def test_load_of_a_snapshot_key_does_not_take_the_lock() -> None:
    m = Map({i: i for i in range(10)})
    got: list[Any] = []
    done = threading.Event()

    def reader() -> None:
        got.extend([m.load(3), m.get(4), 5 in m, m[6], m.load_or_store(7, -1), m.load(99)])
        got.append(sorted(m))
        done.set()

    with m._lock:  # a writer holds the lock for as long as it likes
        t = threading.Thread(target=reader)
        t.start()
        finished = done.wait(5)
    t.join()
    assert finished, "a read of a key in the read snapshot blocked on the write lock"
    assert got == [(3, True), 4, True, 6, (7, True), (None, False), list(range(10))]


def test_a_new_key_is_promoted_to_the_lock_free_snapshot_after_enough_misses() -> None:
    m: Map[str, int] = Map()
    m.store("k", 1)  # goes to the dirty map
    assert m._read[1] is True
    assert m.load("k") == (1, True)  # a miss: 1 >= len(dirty) promotes
    assert m._read[1] is False
    done = threading.Event()
    with m._lock:
        t = threading.Thread(target=lambda: (m.load("k"), done.set()))
        t.start()
        finished = done.wait(5)
    t.join()
    assert finished


def test_a_published_snapshot_dict_is_never_mutated() -> None:
    m = Map({i: i for i in range(10)})
    snap = m._read[0]
    before = dict(snap)
    m.store(100, 100)
    m.delete(3)
    m.store(3, 33)  # revives an expunged entry through the dirty map
    m.load(100)
    m.load(100)
    m.compute(5, lambda old, loaded: (55, 1))
    m.pop(6)
    m.clear()
    m.copy_from({1: 1})
    assert snap.keys() == before.keys()
    assert all(snap[k] is e for k, e in before.items())


def test_store_after_delete_and_rebuild_revives_the_expunged_key() -> None:
    m = Map({"a": 1, "b": 2})
    m.delete("a")  # lazy: a tombstone in the snapshot
    m.store("c", 3)  # rebuilds dirty: "a" is expunged, left out of dirty
    m.store("a", 4)  # must go back into dirty, or the promotion below would lose it
    m.load("zz")
    m.load("zz")
    m.load("zz")  # misses reach len(dirty): promote
    assert m._read[1] is False
    assert m.snapshot() == {"a": 4, "b": 2, "c": 3}
    assert len(m) == 3


# ---------------------------------------------------------------------------------------------
# Map: concurrency


@pytest.mark.usefixtures("fast_switching")
def test_compute_from_eight_threads_counts_exactly() -> None:
    m: Map[str, int] = Map()
    n_threads, n_incr = 8, 10_000

    def work(_: int) -> None:
        for _ in range(n_incr):
            m.compute("counter", lambda old, loaded: ((old or 0) + 1, 1))

    run_threads(n_threads, work)
    assert m["counter"] == n_threads * n_incr


@pytest.mark.usefixtures("fast_switching")
def test_compare_and_swap_loops_from_threads_count_exactly() -> None:
    m = Map({"c": 0})

    def work(_: int) -> None:
        for _ in range(2_000):
            while True:
                cur = m["c"]
                if m.compare_and_swap("c", cur, cur + 1):
                    break

    run_threads(4, work)
    assert m["c"] == 8_000


@pytest.mark.usefixtures("fast_switching")
def test_load_or_store_races_have_exactly_one_winner_per_key() -> None:
    m: Map[int, int] = Map()
    n_threads, n_keys = 8, 2_000
    results: list[list[tuple[int, bool]]] = [[] for _ in range(n_threads)]

    def work(i: int) -> None:
        results[i] = [m.load_or_store(k, i) for k in range(n_keys)]

    run_threads(n_threads, work)
    for k in range(n_keys):
        answers = [results[i][k] for i in range(n_threads)]
        winners = [i for i in range(n_threads) if not answers[i][1]]
        assert len(winners) == 1, (k, answers)
        assert all(actual == winners[0] for actual, _ in answers)
        assert m[k] == winners[0]


@pytest.mark.usefixtures("fast_switching")
@pytest.mark.usefixtures("fast_switching")
def test_range_under_concurrent_writes_never_yields_a_key_twice() -> None:
    stable = range(500)  # present for the whole test: every walk must see each of them
    m: Map[int, int] = Map({k: k for k in stable})
    stop = threading.Event()
    started = threading.Barrier(4)
    writes = [0, 0, 0]

    def insert_new_keys() -> None:
        started.wait()
        n = 10_000
        while not stop.is_set():
            m.store(n, n)
            m.delete(n - 50)
            n += 1
            writes[0] += 1

    def churn_volatile_keys() -> None:
        started.wait()
        while not stop.is_set():
            for k in range(500, 600):
                m.store(k, k)
            for k in range(500, 600):
                m.delete(k)
            writes[1] += 1

    def rewrite_stable_values() -> None:
        started.wait()
        i = 0
        while not stop.is_set():
            m.store(i % 500, i)
            i += 1
            writes[2] += 1

    writers = [
        threading.Thread(target=insert_new_keys),
        threading.Thread(target=churn_volatile_keys),
        threading.Thread(target=rewrite_stable_values),
    ]
    overlapped = 0
    try:
        for t in writers:
            t.start()
        started.wait()
        # Walk until enough walks overlapped a write (a loaded machine may run whole walks
        # between two thread switches), bounded so a broken writer still ends the test.
        walk = 0
        while walk < 60 or (overlapped < 20 and walk < 20_000):
            walk += 1
            seen: list[int] = []
            before = sum(writes)
            if walk % 2:

                def collect(k: int, v: int, out: list[int] = seen) -> None:
                    out.append(k)

                m.range(collect)
            else:
                seen.extend(m)
            overlapped += sum(writes) > before
            assert len(seen) == len(set(seen)), "a key was visited twice"
            assert set(stable) <= set(seen), "a key present throughout was not visited"
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert overlapped > 0, "no write happened during any walk: the test did not test anything"


@pytest.mark.usefixtures("fast_switching")
def test_concurrent_stores_and_deletes_keep_len_exact() -> None:
    m: Map[tuple[int, int], int] = Map()

    def work(i: int) -> None:
        for j in range(3_000):
            m.store((i, j), j)
            if j % 3 == 0:
                m.delete((i, j))
            if j % 7 == 0:
                m.load((i, j))  # misses drive promotions while others write

    run_threads(6, work)
    expected = {(i, j): j for i in range(6) for j in range(3_000) if j % 3}
    assert len(m) == len(expected)
    assert m.snapshot() == expected


# ---------------------------------------------------------------------------------------------
# NestedMap


def test_nested_store_and_load_create_branches_on_the_way() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b", "c")
    nm.store(2, "a", "x")
    nm.store(3, 7)
    assert nm.load("a", "b", "c") == 1
    assert nm.load("a", "x") == 2
    assert nm.load(7) == 3
    assert nm.snapshot() == {"a": {"b": {"c": 1}, "x": 2}, 7: 3}
    nm.store(10, "a", "x")  # replaces a leaf
    assert nm["a", "x"] == 10
    assert len(nm) == 3


def test_zero_keys_raise_value_error() -> None:
    nm = NestedMap()
    for call in (nm.load, nm.delete, lambda: nm.store(1), lambda: nm.load_or_store(1)):
        with pytest.raises(ValueError, match="at least one key"):
            call()
    with pytest.raises(ValueError, match="at least one key"):
        nm[()]


def test_missing_path_raises_not_exist_which_is_a_key_error() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b")
    with pytest.raises(NotExist) as info:
        nm.load("a", "zz", "q")
    assert isinstance(info.value, KeyError)
    assert info.value.path == ("a", "zz", "q")
    assert info.value.at == ("a", "zz")
    assert "('a', 'zz')" in str(info.value)
    with pytest.raises(NotExist):
        nm.load("nope")


def test_a_leaf_on_the_path_raises_not_branch() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b")
    for call in (
        lambda: nm.load("a", "b", "c"),
        lambda: nm.store(2, "a", "b", "c", "d"),
        lambda: nm.load_or_store(2, "a", "b", "c"),
        lambda: nm.delete("a", "b", "c"),
        lambda: nm.range(print, "a", "b"),
        lambda: nm.len("a", "b"),
    ):
        with pytest.raises(NotBranch) as info:
            call()
        assert info.value.at == ("a", "b")
    assert nm.snapshot() == {"a": {"b": 1}}, "a failed store must not leave branches behind"


def test_a_branch_where_a_leaf_is_needed_raises_not_leaf() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b")
    with pytest.raises(NotLeaf):
        nm.load("a")
    with pytest.raises(NotLeaf):
        nm.load_or_store(5, "a")
    with pytest.raises(NotLeaf, match="branch"):
        nm.store(5, "a")  # the origin silently replaced the subtree
    assert nm.snapshot() == {"a": {"b": 1}}


def test_nested_errors_are_lookup_errors_but_only_not_exist_is_a_key_error() -> None:
    assert issubclass(NotBranch, LookupError)
    assert not issubclass(NotBranch, KeyError)
    assert issubclass(NotLeaf, LookupError)
    assert not issubclass(NotLeaf, KeyError)
    assert issubclass(NotExist, KeyError)


@pytest.mark.parametrize(
    "exc", [NotExist(("a", "b"), ("a",)), NotBranch(("a", "b"), ("a",)), NotLeaf(("a",))]
)
def test_nested_errors_survive_pickling_with_their_paths(exc: LookupError) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert (back.path, back.at) == (exc.path, exc.at)  # type: ignore[attr-defined]
    assert str(back) == str(exc)


def test_nested_load_or_store_stores_only_when_absent() -> None:
    nm = NestedMap()
    assert nm.load_or_store(1, "a", "b") == (1, False)
    assert nm.load_or_store(2, "a", "b") == (1, True)
    assert len(nm) == 1


def test_delete_prunes_empty_branches() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b", "c", "d")
    nm.store(2, "a", "x")
    assert nm.delete("a", "b", "c", "d")
    assert nm.snapshot() == {"a": {"x": 2}}
    with pytest.raises(NotExist):
        nm.len("a", "b")
    assert nm.delete("a", "x")
    assert nm.snapshot() == {}
    assert len(nm) == 0
    with pytest.raises(NotExist):
        nm.range(print, "a")
    assert list(nm) == []


def test_delete_of_a_missing_path_returns_false_and_del_raises_not_exist() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b")
    assert not nm.delete("a", "zz")
    assert not nm.delete("q", "r", "s")
    with pytest.raises(NotExist):
        del nm["a", "zz"]
    del nm["a", "b"]
    assert len(nm) == 0


def test_delete_of_a_branch_removes_the_whole_subtree() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b", "c")
    nm.store(2, "a", "b", "d")
    nm.store(3, "z")
    assert nm.delete("a", "b")
    assert nm.snapshot() == {"z": 3}
    assert len(nm) == 1


def test_nested_range_passes_full_fresh_paths_and_covers_a_subtree() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b", "c")
    nm.store(2, "a", "b", "d")
    nm.store(3, "a", "e")
    nm.store(4, "f")
    got: list[tuple[tuple[Any, ...], Any]] = []
    nm.range(lambda path, v: got.append((path, v)))
    assert sorted(got) == [
        (("a", "b", "c"), 1),
        (("a", "b", "d"), 2),
        (("a", "e"), 3),
        (("f",), 4),
    ]
    assert len({id(p) for p, _ in got}) == len(got)  # the origin reused one slice
    sub: list[tuple[tuple[Any, ...], Any]] = []
    nm.range(lambda path, v: sub.append((path, v)), "a", "b")
    assert sorted(sub) == [(("a", "b", "c"), 1), (("a", "b", "d"), 2)]


def test_nested_range_stop_inside_a_branch_stops_the_whole_walk() -> None:
    nm = NestedMap()
    for i in range(5):
        for j in range(5):
            nm.store(i * 10 + j, f"b{i}", j)
    calls: list[tuple[Any, ...]] = []

    def f(path: tuple[Any, ...], v: Any) -> bool:
        calls.append(path)
        return False

    nm.range(f)
    assert len(calls) == 1  # the origin carried on in the parent


def test_nested_range_callback_may_write_to_the_map() -> None:
    nm = NestedMap()
    for i in range(10):
        nm.store(i, "a", i)
    seen: list[Any] = []

    def f(path: tuple[Any, ...], v: Any) -> None:
        seen.append(v)
        nm.delete(*path)
        nm.store(v, "b", v)

    nm.range(f, "a")
    assert sorted(seen) == list(range(10))
    assert nm.snapshot() == {"b": {i: i for i in range(10)}}


def test_nested_len_counts_leaves_below_a_path() -> None:
    nm = NestedMap()
    nm.store(1, "a", "b", "c")
    nm.store(2, "a", "b", "d")
    nm.store(3, "a", "e")
    nm.store(4, "f")
    assert nm.len() == len(nm) == 4
    assert nm.len("a") == 3
    assert nm.len("a", "b") == 2
    nm.store(5, "a", "b", "c")  # replacing a leaf does not change counts
    assert nm.len("a") == 3


def test_nested_indexing_contains_and_iteration_use_paths() -> None:
    nm = NestedMap()
    nm["a", "b"] = 1
    nm["c"] = 2
    assert nm["a", "b"] == 1
    assert nm["c"] == 2
    assert ("a", "b") in nm
    assert "c" in nm
    assert "a" not in nm  # a branch, not a leaf
    assert ("c", "d") not in nm
    assert () not in nm
    assert sorted(nm) == [("a", "b"), ("c",)]
    with pytest.raises(NotExist):
        nm.load(("a", "b"))  # a tuple passed to a method is a single key, not a path
    nm.store(3, ("t", "u"))
    assert nm.load(("t", "u")) == 3
    assert nm[(("t", "u"),)] == 3


def test_nested_keys_of_mixed_types_work() -> None:
    nm = NestedMap()
    nm.store("v", 1, "two", 3.0, (4, 5), None)
    assert nm.load(1, "two", 3.0, (4, 5), None) == "v"


def test_nested_depth_is_unbounded() -> None:
    depth = sys.getrecursionlimit() * 2
    path = tuple(range(depth))
    nm = NestedMap()
    nm.store("leaf", *path)
    assert nm.load(*path) == "leaf"
    got: list[tuple[Any, ...]] = []
    nm.range(lambda p, v: got.append(p))
    assert got == [path]
    assert nm.len(*path[:10]) == 1
    assert nm.delete(*path)
    assert len(nm) == 0
    assert nm.snapshot() == {}


def test_nested_clear_copy_and_pickle() -> None:
    nm = NestedMap()
    nm.store({"a": 1}, "x", "y")  # a dict leaf survives pickling as a leaf
    nm.store(2, "z")
    back = pickle.loads(pickle.dumps(nm))
    shallow = copy.copy(nm)
    nm.clear()
    assert len(nm) == 0
    assert nm.snapshot() == {}
    for other in (back, shallow):
        assert other.load("x", "y") == {"a": 1}
        assert other.load("z") == 2
        assert len(other) == 2
    assert repr(back) == "NestedMap({'x': {'y': {'a': 1}}, 'z': 2})"


def test_nested_range_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        NestedMap().range(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# NestedMap: concurrency


@pytest.mark.usefixtures("fast_switching")
def test_a_store_never_lands_in_a_branch_that_a_concurrent_delete_prunes() -> None:
    nm = NestedMap()
    rounds = 3_000

    def work(i: int) -> None:
        if i == 0:
            for _ in range(rounds):
                nm.store(1, "a", "x")
                nm.delete("a", "x")  # empties "a" unless "y" is there: prunes it
        else:
            for n in range(rounds):
                nm.store(n, "a", "y")
                assert nm.load("a", "y") == n, "a store was lost in a pruned branch"
                nm.delete("a", "y")

    run_threads(2, work)
    assert len(nm) == 0
    assert nm.snapshot() == {}


@pytest.mark.usefixtures("fast_switching")
def test_nested_load_or_store_races_have_one_winner_per_path() -> None:
    nm = NestedMap()
    n_threads = 6
    paths = [(f"b{i % 7}", i % 3, i) for i in range(300)]
    results: list[list[tuple[Any, bool]]] = [[] for _ in range(n_threads)]

    def work(i: int) -> None:
        results[i] = [nm.load_or_store(i, *p) for p in paths]

    run_threads(n_threads, work)
    for j, p in enumerate(paths):
        answers = [results[i][j] for i in range(n_threads)]
        winners = [i for i, (_, loaded) in enumerate(answers) if not loaded]
        assert len(winners) == 1
        assert all(actual == winners[0] for actual, _ in answers)
        assert nm.load(*p) == winners[0]
    assert len(nm) == len(paths)


@pytest.mark.usefixtures("fast_switching")
def test_nested_counts_stay_exact_under_concurrent_writers() -> None:
    nm = NestedMap()

    def work(i: int) -> None:
        for j in range(1_500):
            nm.store(j, "t", j % 5, i, j)
            if j % 2:
                nm.delete("t", j % 5, i, j)

    run_threads(4, work)
    leaves: list[tuple[Any, ...]] = []
    nm.range(lambda p, v: leaves.append(p))
    assert len(nm) == len(leaves) == 4 * 750
    for b in range(5):
        assert nm.len("t", b) == sum(1 for p in leaves if p[1] == b)


def test_map_and_nested_map_each_live_in_their_own_module_and_goprims_maps_re_exports_them() -> (
    None
):
    import goprims.maps
    import goprims.maps.nested_map
    import goprims.maps.sync_map

    assert Map.__module__ == "goprims.maps.sync_map"
    assert NestedMap.__module__ == "goprims.maps.nested_map"
    assert goprims.maps.Map is goprims.maps.sync_map.Map
    for cls in (NestedMap, NotExist, NotBranch, NotLeaf):
        assert getattr(goprims.maps.nested_map, cls.__name__) is cls


def test_a_nested_map_pickled_before_the_module_split_still_loads() -> None:
    import pickle

    # What pickle.dumps(NestedMap) wrote when NestedMap lived in goprims/maps.py: a call of
    # goprims.maps._rebuild_nested with the (path, leaf) pairs.
    old = (
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x0cgoprims.maps\x94\x8c\x0f_rebuild_nested"
        b"\x94\x93\x94]\x94\x8c\x01a\x94\x8c\x01b\x94\x86\x94K\x01\x86\x94a\x85\x94R\x94."
    )
    nm = pickle.loads(old)
    assert isinstance(nm, NestedMap)
    assert nm.load("a", "b") == 1


# ---------------------------------------------------------------------------------------------
# Map.update is the standard MutableMapping merge


def test_update_merges_a_mapping_pairs_and_keywords_like_dict_update() -> None:
    m: Map[str, int] = Map({"a": 1, "b": 2})
    m.update({"b": 20, "c": 3})
    m.update([("d", 4)])
    m.update(e=5)
    m.update(Map({"f": 6}))
    want = {"a": 1, "b": 20, "c": 3, "d": 4, "e": 5, "f": 6}
    assert m == want
    assert len(m) == len(want)


def test_update_with_a_key_and_a_function_is_rejected_and_changes_nothing() -> None:
    m: Map[str, int] = Map({"n": 1})
    with pytest.raises(TypeError):
        m.update("n", lambda old, loaded: (2, 1))  # type: ignore[call-overload]
    assert m == {"n": 1}
    assert m.compute("n", lambda old, loaded: ((old or 0) + 1, 1))
    assert m["n"] == 2


def test_compute_reports_its_own_name_for_a_bad_op() -> None:
    m: Map[str, int] = Map()
    with pytest.raises(ValueError, match=r"Map\.compute"):
        m.compute("a", lambda old, loaded: (1, 7))

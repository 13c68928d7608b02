"""ThreadSafeStore, Store and Indexer: client-go semantics, bad input, and all-or-nothing writes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from goprims.cache import (
    NAMESPACE_INDEX,
    CacheKeyError,
    DeletedFinalStateUnknown,
    Indexer,
    IndexerConflict,
    IndexNotFound,
    Store,
    ThreadSafeStore,
    deletion_handling_meta_namespace_key_func,
    meta_namespace_index_func,
    meta_namespace_key_func,
)


def pod(name: str, ns: str = "default", *, rv: str = "1", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv, "labels": labels},
    }


def by_label(obj: dict[str, Any]) -> list[str]:
    """Multi-valued: one value per label, ``key=value``."""
    return [f"{k}={v}" for k, v in sorted(obj["metadata"]["labels"].items())]


def indexer() -> Indexer:
    return Indexer(
        meta_namespace_key_func, {NAMESPACE_INDEX: meta_namespace_index_func, "label": by_label}
    )


def snapshot(ix: Indexer) -> tuple[Any, ...]:
    """Everything observable about an indexer, order-independent."""
    names = sorted(ix.get_indexers())
    return (
        sorted(ix.list_keys()),
        sorted((k, repr(ix.get_by_key(k)[0])) for k in ix.list_keys()),
        {
            name: {v: sorted(ix.index_keys(name, v)) for v in ix.list_index_func_values(name)}
            for name in names
        },
    )


# ---------------------------------------------------------------------------------- basics


def test_add_then_get_list_and_delete() -> None:
    s = Store()
    a, b = pod("a"), pod("b", "kube-system")
    s.add(a)
    s.add(b)
    assert s.get(a) == (a, True)
    assert s.get_by_key("kube-system/b") == (b, True)
    assert s.get_by_key("default/zzz") == (None, False)
    assert sorted(s.list_keys()) == ["default/a", "kube-system/b"]
    assert len(s.list()) == 2
    assert len(s) == 2
    s.delete(a)
    assert s.get(a) == (None, False)
    s.delete(a)  # deleting a missing key is a no-op
    assert s.list_keys() == ["kube-system/b"]


def test_add_of_an_existing_key_replaces_the_object() -> None:
    s = Store()
    s.add(pod("a", rv="1"))
    s.add(pod("a", rv="2"))
    assert s.list() == [pod("a", rv="2")]


def test_update_of_a_missing_key_inserts_it() -> None:
    s = Store()
    s.update(pod("a"))
    assert s.list_keys() == ["default/a"]


def test_replace_swaps_the_whole_content_and_last_duplicate_wins() -> None:
    s = Store()
    s.add(pod("old"))
    s.replace([pod("a", rv="1"), pod("b"), pod("a", rv="2")], "17")
    assert sorted(s.list_keys()) == ["default/a", "default/b"]
    assert s.get_by_key("default/a")[0] == pod("a", rv="2")


def test_resync_on_a_store_does_nothing() -> None:
    s = Store()
    s.add(pod("a"))
    s.resync()
    assert s.list() == [pod("a")]


def test_store_with_deletion_handling_key_func_deletes_by_tombstone() -> None:
    s = Store(deletion_handling_meta_namespace_key_func)
    s.add(pod("a"))
    s.delete(DeletedFinalStateUnknown("default/a", None))
    assert s.list() == []


# --------------------------------------------------------------------------------- indices


def test_by_index_returns_objects_filed_under_a_value() -> None:
    ix = indexer()
    ix.add(pod("a", app="web"))
    ix.add(pod("b", app="web", tier="fe"))
    ix.add(pod("c", "other", app="db"))
    assert sorted(o["metadata"]["name"] for o in ix.by_index("label", "app=web")) == ["a", "b"]
    assert sorted(ix.index_keys("label", "tier=fe")) == ["default/b"]
    assert ix.by_index(NAMESPACE_INDEX, "other") == [pod("c", "other", app="db")]
    assert ix.by_index("label", "app=nothing") == []


def test_index_with_a_multi_valued_probe_returns_the_union_once_each() -> None:
    ix = indexer()
    ix.add(pod("a", app="web", tier="fe"))
    ix.add(pod("b", app="db"))
    ix.add(pod("c", tier="be"))
    probe = pod("probe", app="web", tier="fe")  # matches a twice: returned once
    assert sorted(o["metadata"]["name"] for o in ix.index("label", probe)) == ["a"]
    probe2 = pod("probe", app="db", tier="be")
    assert sorted(o["metadata"]["name"] for o in ix.index("label", probe2)) == ["b", "c"]


def test_update_moves_an_object_between_values_and_prunes_empty_values() -> None:
    ix = indexer()
    ix.add(pod("a", app="web"))
    assert ix.list_index_func_values("label") == ["app=web"]
    ix.update(pod("a", app="db"))
    assert ix.list_index_func_values("label") == ["app=db"]  # "app=web" was pruned
    assert ix.by_index("label", "app=web") == []
    ix.delete(pod("a"))
    assert ix.list_index_func_values("label") == []
    assert ix.list_index_func_values(NAMESPACE_INDEX) == []


def test_an_object_with_no_index_values_is_stored_but_filed_nowhere() -> None:
    ix = indexer()
    ix.add(pod("plain"))
    assert ix.list_keys() == ["default/plain"]
    assert ix.list_index_func_values("label") == []


def test_duplicate_values_from_an_index_function_count_once() -> None:
    s = ThreadSafeStore({"dup": lambda o: ["x", "x", "y"]})
    s.add("k", object())
    assert sorted(s.list_index_func_values("dup")) == ["x", "y"]
    s.delete("k")
    assert s.list_index_func_values("dup") == []


def test_index_functions_may_return_any_non_string_iterable() -> None:
    s = ThreadSafeStore({"tuple": lambda o: ("a", "b"), "gen": lambda o: (v for v in ["c"])})
    s.add("k", 1)
    assert sorted(s.list_index_func_values("tuple")) == ["a", "b"]
    assert s.index_keys("gen", "c") == ["k"]


def test_replace_rebuilds_every_index_from_the_new_items() -> None:
    ix = indexer()
    ix.add(pod("gone", app="web"))
    ix.replace([pod("x", "ns1", app="db")], "5")
    assert ix.list_index_func_values("label") == ["app=db"]
    assert ix.list_index_func_values(NAMESPACE_INDEX) == ["ns1"]


def test_add_indexers_after_items_exist_indexes_them() -> None:
    ix = Indexer(meta_namespace_key_func, {})
    ix.add(pod("a", "ns1", app="web"))
    ix.add(pod("b", "ns2"))
    ix.add_indexers({NAMESPACE_INDEX: meta_namespace_index_func, "label": by_label})
    assert sorted(ix.get_indexers()) == ["label", NAMESPACE_INDEX]
    assert ix.index_keys(NAMESPACE_INDEX, "ns2") == ["ns2/b"]
    assert ix.index_keys("label", "app=web") == ["ns1/a"]
    ix.add(pod("c", "ns2"))  # and later writes maintain the new index
    assert sorted(ix.index_keys(NAMESPACE_INDEX, "ns2")) == ["ns2/b", "ns2/c"]


def test_add_indexers_with_an_existing_name_raises_conflict_and_adds_none() -> None:
    ix = indexer()
    with pytest.raises(IndexerConflict, match="indexer conflict") as exc:
        ix.add_indexers({"fresh": by_label, "label": by_label})
    assert exc.value.names == ["label"]
    assert "fresh" not in ix.get_indexers()


def test_get_indexers_returns_a_copy() -> None:
    ix = indexer()
    ix.get_indexers().clear()
    assert sorted(ix.get_indexers()) == ["label", NAMESPACE_INDEX]


# ------------------------------------------------------------------------- unknown indices


@pytest.mark.parametrize(
    "query",
    [
        lambda ix: ix.by_index("nope", "v"),
        lambda ix: ix.index_keys("nope", "v"),
        lambda ix: ix.index("nope", pod("p")),
    ],
    ids=["by_index", "index_keys", "index"],
)
def test_queries_on_an_unknown_index_raise_index_not_found(query: Any) -> None:
    ix = indexer()
    ix.add(pod("a"))
    with pytest.raises(IndexNotFound) as exc:
        query(ix)
    assert isinstance(exc.value, KeyError)
    assert exc.value.index_name == "nope"
    assert str(exc.value) == "index with name 'nope' does not exist"


def test_list_index_func_values_of_an_unknown_index_is_empty() -> None:
    assert indexer().list_index_func_values("nope") == []


# ---------------------------------------------------------------------- all or nothing


class Boom(Exception):
    pass


def fragile(obj: dict[str, Any]) -> list[str]:
    """An index function that raises on objects labelled ``boom``."""
    if "boom" in obj["metadata"]["labels"]:
        raise Boom(obj["metadata"]["name"])
    return by_label(obj)


def fragile_indexer() -> Indexer:
    ix = Indexer(
        meta_namespace_key_func, {NAMESPACE_INDEX: meta_namespace_index_func, "z": fragile}
    )
    ix.add(pod("a", app="web"))
    ix.add(pod("b", "ns2", app="db"))
    return ix


def test_index_function_raising_on_add_of_a_new_key_leaves_the_store_unchanged() -> None:
    ix = fragile_indexer()
    before = snapshot(ix)
    with pytest.raises(Boom):
        ix.add(pod("c", "ns3", boom="1"))
    assert snapshot(ix) == before


def test_index_function_raising_on_update_leaves_the_old_object_and_index() -> None:
    ix = fragile_indexer()
    before = snapshot(ix)
    with pytest.raises(Boom):
        ix.update(pod("a", "default", rv="2", boom="1"))
    assert snapshot(ix) == before
    assert ix.get_by_key("default/a")[0] == pod("a", app="web")


def test_index_function_raising_during_replace_keeps_the_previous_content() -> None:
    ix = fragile_indexer()
    before = snapshot(ix)
    with pytest.raises(Boom):
        ix.replace([pod("x"), pod("y", boom="1")])
    assert snapshot(ix) == before


def test_index_function_raising_in_add_indexers_adds_nothing() -> None:
    ix = fragile_indexer()
    ix.add(pod("c", app="x"))
    before = snapshot(ix)

    def picky(obj: dict[str, Any]) -> list[str]:
        if obj["metadata"]["name"] == "c":
            raise Boom("c")
        return ["ok"]

    with pytest.raises(Boom):
        ix.add_indexers({"fine": by_label, "picky": picky})
    assert snapshot(ix) == before
    assert sorted(ix.get_indexers()) == [NAMESPACE_INDEX, "z"]


@pytest.mark.parametrize(
    ("result", "match"),
    [("web", "returned str"), (["ok", 3], "non-str value"), ([["a"]], "list of str"), (5, "int")],
    ids=["bare-str", "non-str-item", "unhashable-item", "not-iterable"],
)
def test_index_function_with_a_bad_result_raises_type_error_and_changes_nothing(
    result: Any, match: str
) -> None:
    s = ThreadSafeStore({"good": lambda o: ["v"], "bad": lambda o: result})
    with pytest.raises(TypeError, match=match):
        s.add("k", object())
    assert s.list_keys() == []
    assert s.list_index_func_values("good") == []


def test_key_function_failure_raises_cache_key_error_and_changes_nothing() -> None:
    ix = fragile_indexer()
    before = snapshot(ix)
    for op in (ix.add, ix.update, ix.delete, ix.get):
        with pytest.raises(CacheKeyError):
            op({"kind": "NoMetadata"})
    with pytest.raises(CacheKeyError):
        ix.replace([pod("fine"), {"kind": "NoMetadata"}])
    assert snapshot(ix) == before


def test_foreign_key_function_errors_are_wrapped_with_their_cause() -> None:
    def key_func(obj: Any) -> str:
        raise LookupError("no key here")

    s = Store(key_func)
    with pytest.raises(CacheKeyError, match="no key here") as exc:
        s.add(pod("a"))
    assert isinstance(exc.value.__cause__, LookupError)
    assert exc.value.err is exc.value.__cause__


def test_key_function_returning_a_non_string_is_a_cache_key_error() -> None:
    s = Store(lambda obj: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(CacheKeyError, match="returned int"):
        s.add(pod("a"))
    assert s.list() == []


def test_thread_safe_store_rejects_non_string_keys() -> None:
    s = ThreadSafeStore()
    with pytest.raises(TypeError):
        s.add(1, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        s.replace({"a": 1, 2: 2})  # type: ignore[dict-item]
    assert s.list() == []


def test_index_values_are_remembered_so_in_place_mutation_cannot_strand_a_key() -> None:
    # client-go recomputes old values from the stored object; a caller mutating it in place
    # leaves the key filed under a value nobody can remove. Here the filed values are kept.
    ix = indexer()
    obj = pod("a", app="web")
    ix.add(obj)
    obj["metadata"]["labels"] = {"app": "mutated"}
    ix.delete(obj)
    assert ix.list_index_func_values("label") == []


# ------------------------------------------------------------------------------- threads


def test_concurrent_writers_leave_indices_consistent_with_a_scan() -> None:
    ix = indexer()
    n_threads, per_thread = 4, 300
    start = threading.Barrier(n_threads)

    def writer(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            name = f"p{i % 50}"
            ns = f"ns{(t + i) % 3}"
            ix.update(pod(name, ns, app=f"a{(i * t) % 7}"))
            if i % 5 == 0:
                ix.delete(pod(f"p{(i + 7) % 50}", ns))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    objs = {ix.key_of(o): o for o in ix.list()}
    for value in {v for o in objs.values() for v in by_label(o)}:
        expected = sorted(k for k, o in objs.items() if value in by_label(o))
        assert sorted(ix.index_keys("label", value)) == expected
    assert sorted(ix.list_index_func_values("label")) == sorted(
        {v for o in objs.values() for v in by_label(o)}
    )
    for ns in ix.list_index_func_values(NAMESPACE_INDEX):
        expected = sorted(k for k, o in objs.items() if o["metadata"]["namespace"] == ns)
        assert sorted(ix.index_keys(NAMESPACE_INDEX, ns)) == expected


def test_a_plain_store_starts_without_indices_but_can_gain_them() -> None:
    s = Store()
    s.add(pod("a", "ns1"))
    assert s.get_indexers() == {}
    with pytest.raises(IndexNotFound):
        s.by_index(NAMESPACE_INDEX, "ns1")
    s.add_indexers({NAMESPACE_INDEX: meta_namespace_index_func})
    assert s.index_keys(NAMESPACE_INDEX, "ns1") == ["ns1/a"]

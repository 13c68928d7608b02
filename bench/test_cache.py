"""pytest-benchmark runs of the cache workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Ratios against the anchors come from ``python -m bench --only cache``,
at 100k objects; here the sizes are cut so that one run stays well under a second."""

from __future__ import annotations

from typing import Any

import pytest

from bench import compare_cache as cc
from goprims.cache import NAMESPACE_INDEX

N = 20_000


@pytest.mark.parametrize(
    "make", [cc.indexer_add, cc.hand_rolled_add], ids=["indexer", "hand-rolled"]
)
def test_bench_add_two_indices(benchmark: Any, make: Any) -> None:
    benchmark(make(N))


@pytest.mark.parametrize(
    "make", [cc.indexer_update, cc.hand_rolled_update], ids=["indexer", "hand-rolled"]
)
def test_bench_update_two_indices(benchmark: Any, make: Any) -> None:
    benchmark(make(N))


@pytest.mark.parametrize(
    "make", [cc.by_index_queries, cc.linear_scan_queries], ids=["by_index", "linear-scan"]
)
def test_bench_namespace_query(benchmark: Any, make: Any) -> None:
    benchmark(make(N, 10))


@pytest.mark.parametrize(
    "make", [cc.delta_fifo_add_pop, cc.queue_put_get], ids=["delta_fifo", "queue"]
)
def test_bench_fifo_add_pop(benchmark: Any, make: Any) -> None:
    benchmark(make(N))


def test_by_index_answers_like_the_linear_scan() -> None:
    # The two sides of the by_index comparison must do the same work.
    ix = cc.new_indexer()
    objs = cc.pods(2_000)
    ix.replace(objs)
    for ns in ("ns-0", "ns-57", "ns-none"):
        scan = [o for o in objs if o["metadata"].get("namespace") == ns]
        assert sorted(map(id, ix.by_index(NAMESPACE_INDEX, ns))) == sorted(map(id, scan))


def test_update_workload_moves_half_of_the_objects_between_apps() -> None:
    first, second = cc.pods(1_000), cc.pods(1_000, generation=1)
    moved = sum(
        a["metadata"]["labels"] != b["metadata"]["labels"]
        for a, b in zip(first, second, strict=True)
    )
    assert moved == 500


def test_comparisons_cover_the_issue_goals() -> None:
    rows = cc.comparisons()
    assert all(r.area == "cache" for r in rows)
    goals = {r.name: r.goal for r in rows}
    assert goals["by_index(namespace) at 100k objects, 50 queries"] == 50.0
    assert any(r.name.startswith("Indexer.add 100k") for r in rows)
    assert any(r.name.startswith("Indexer.update 100k") for r in rows)

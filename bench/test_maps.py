"""pytest-benchmark microbenchmarks for goprims.maps (the suite runs them once as a smoke test)."""

from __future__ import annotations

from typing import Any

from bench.compare_maps import mixed_map
from goprims.maps import Map, NestedMap

N = 1000


def _full_map() -> Map[int, int]:
    return Map({k: k for k in range(N)})


def test_map_load_hit(benchmark: Any) -> None:
    m = _full_map()

    def run() -> int:
        load = m.load
        hits = 0
        for k in range(N):
            hits += load(k)[1]
        return hits

    assert benchmark(run) == N


def test_map_getitem_hit(benchmark: Any) -> None:
    m = _full_map()

    def run() -> int:
        return sum(m[k] for k in range(N))

    assert benchmark(run) == sum(range(N))


def test_map_store_existing_key(benchmark: Any) -> None:
    m = _full_map()

    def run() -> None:
        store = m.store
        for k in range(N):
            store(k, -k)

    benchmark(run)
    assert m[5] == -5


def test_map_store_new_keys_then_load(benchmark: Any) -> None:
    def run() -> int:
        m: Map[int, int] = Map()
        for k in range(N):
            m.store(k, k)
            m.load(k)
        return len(m)

    assert benchmark(run) == N


def test_map_load_or_store_hit(benchmark: Any) -> None:
    m = _full_map()

    def run() -> int:
        return sum(m.load_or_store(k, -1)[1] for k in range(N))

    assert benchmark(run) == N


def test_map_compute_increment(benchmark: Any) -> None:
    m: Map[int, int] = Map()

    def incr(old: int | None, loaded: bool) -> tuple[int, int]:
        return (old or 0) + 1, 1

    def run() -> None:
        for k in range(N):
            m.compute(k % 10, incr)

    benchmark(run)
    assert len(m) == 10


def test_map_range_10k(benchmark: Any) -> None:
    m: Map[int, int] = Map({k: k for k in range(10_000)})

    def run() -> int:
        seen = [0]

        def f(k: int, v: int) -> None:
            seen[0] += 1

        m.range(f)
        return seen[0]

    assert benchmark(run) == 10_000


def test_map_mixed_8_threads_90_load_10_store(benchmark: Any) -> None:
    workload = mixed_map(8, 2_000, 0.1)
    assert benchmark(workload) > 0


def test_nested_map_store_load_delete(benchmark: Any) -> None:
    def run() -> int:
        nm = NestedMap()
        for i in range(N):
            nm.store(i, "ns", i % 10, i)
        for i in range(N):
            nm.load("ns", i % 10, i)
        n = len(nm)
        for i in range(N):
            nm.delete("ns", i % 10, i)
        return n

    assert benchmark(run) == N


def test_nested_map_range(benchmark: Any) -> None:
    nm = NestedMap()
    for i in range(N):
        nm.store(i, "ns", i % 10, i)

    def run() -> int:
        seen = [0]

        def f(path: tuple[Any, ...], v: Any) -> None:
            seen[0] += 1

        nm.range(f)
        return seen[0]

    assert benchmark(run) == N

"""pytest-benchmark runs of the channel workloads (``--benchmark-disable`` runs each once, as a
smoke test in the suite). Ratios against the anchors come from ``python -m bench --only chan``."""

from __future__ import annotations

from typing import Any

import pytest

from bench import compare_chan as cc

# Sized so that each function takes well under 0.5 s on a 2-core machine.
N = 20_000
ROUNDS = 2_000


@pytest.mark.parametrize("impl", [cc.spsc_chan, cc.spsc_queue], ids=["chan", "queue"])
def test_bench_thread_spsc_cap128(benchmark: Any, impl: Any) -> None:
    benchmark(impl, N)


@pytest.mark.parametrize(
    "impl", [cc.pingpong_chan, cc.pingpong_queue, cc.pingpong_locks], ids=["chan", "queue", "locks"]
)
def test_bench_thread_pingpong(benchmark: Any, impl: Any) -> None:
    benchmark(impl, ROUNDS)


@pytest.mark.parametrize("cap", [0, 128])
@pytest.mark.parametrize(
    "impl", [cc.trio_chan, cc.trio_memory_channel], ids=["chan", "memory_channel"]
)
def test_bench_trio_task_to_task(benchmark: Any, impl: Any, cap: int) -> None:
    benchmark(impl, N // 2, cap)


@pytest.mark.parametrize(
    "impl",
    [cc.thread_to_asyncio_chan, cc.thread_to_asyncio_janus, cc.thread_to_asyncio_culsans],
    ids=["chan", "janus", "culsans"],
)
def test_bench_thread_to_asyncio(benchmark: Any, impl: Any) -> None:
    benchmark(impl, N // 2)


def test_bench_thread_spsc_unbounded_chan(benchmark: Any) -> None:
    benchmark(cc.spsc_chan, N, None)


def test_bench_thread_spsc_simplequeue(benchmark: Any) -> None:
    benchmark(cc.spsc_simplequeue, N)


@pytest.mark.parametrize("impl", [cc.asyncio_chan, cc.asyncio_queue], ids=["chan", "queue"])
def test_bench_asyncio_task_to_task(benchmark: Any, impl: Any) -> None:
    benchmark(impl, N // 2)


def test_comparisons_cover_every_goal_of_the_issue() -> None:
    rows = cc.comparisons()
    anchors = {r.anchor for r in rows}
    assert {
        "queue.Queue(128)",
        "queue.Queue(1)",
        "janus.Queue(128)",
        "culsans.Queue(128)",
    } <= anchors
    assert "queue.SimpleQueue" in anchors
    assert "asyncio.Queue(128)" in anchors
    assert any(a.startswith("trio.open_memory_channel") for a in anchors)
    assert all(r.area == "chan" for r in rows)
    # Core round 2's goals (issue 13, item 4), each on its row.
    by_anchor = {r.anchor: r.goal for r in rows}
    assert by_anchor["two Locks bounced (the limit)"] == 0.8
    assert by_anchor["queue.Queue(1)"] is None  # reported beside the limit
    assert by_anchor["queue.SimpleQueue"] == 0.3
    assert by_anchor["asyncio.Queue(128)"] == 1.0
    assert by_anchor["trio.open_memory_channel(0)"] == 0.9
    assert by_anchor["trio.open_memory_channel(128)"] == 0.9
    assert by_anchor["queue.Queue(128)"] == 2.0

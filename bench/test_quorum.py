"""pytest-benchmark microbenchmarks for goprims.quorum (run once by the suite as a smoke test)."""

from __future__ import annotations

from typing import Any

from goprims.quorum import Inflights, JointConfig, MajorityConfig

ACKED = {1: 10, 2: 12, 3: 7, 4: 15, 5: 9}


def test_majority_committed_index_5(benchmark: Any) -> None:
    c = MajorityConfig([1, 2, 3, 4, 5])
    assert benchmark(c.committed_index, ACKED) == 10


def test_joint_committed_index(benchmark: Any) -> None:
    j = JointConfig([1, 2, 3], [3, 4, 5])
    assert benchmark(j.committed_index, ACKED) == 9


def test_inflights_add_free(benchmark: Any) -> None:
    def run() -> int:
        win = Inflights(256, 1 << 20)
        for i in range(1000):
            if win.full:
                win.free_le(i - 128)
            win.add(i, 1024)
        return win.count

    assert benchmark(run) > 0

"""goprims.quorum against the one-liner a user would write inline.

``MajorityConfig.committed_index`` for 5 and 7 voters (the usual raft group sizes) over 20,000
pre-generated ``acked`` maps (some voters missing), against the hand-written expression
``sorted(acked.get(v, 0) for v in voters)[n - (n // 2 + 1)]`` with the voters in a local tuple:
the floor for this computation in pure Python, with none of the class's checks (empty config,
negative indexes). A ratio near 1.0 means the class costs nothing over writing the math inline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from bench._harness import Comparison
from goprims.quorum import MajorityConfig

N_MAPS = 20_000


def _acked_maps(n_voters: int, seed: int = 7) -> list[dict[int, int]]:
    rng = random.Random(seed)
    maps = []
    for _ in range(N_MAPS):
        maps.append({v: rng.randrange(1, 10_000) for v in range(n_voters) if rng.random() < 0.9})
    return maps


def committed_index(n_voters: int) -> Callable[[], float]:
    config = MajorityConfig(range(n_voters))
    maps = _acked_maps(n_voters)

    def workload() -> float:
        committed = config.committed_index
        t0 = time.perf_counter()
        for acked in maps:
            committed(acked)
        return time.perf_counter() - t0

    return workload


def inline_sort(n_voters: int) -> Callable[[], float]:
    voters = tuple(range(n_voters))
    pos = n_voters - (n_voters // 2 + 1)
    maps = _acked_maps(n_voters)

    def workload() -> float:
        t0 = time.perf_counter()
        for acked in maps:
            get = acked.get
            sorted([get(v, 0) for v in voters])[pos]
        return time.perf_counter() - t0

    return workload


def comparisons() -> list[Comparison]:
    """The quorum rows of ``python -m bench``."""
    return [
        Comparison(
            area="quorum",
            name=f"committed_index, {n} voters, {N_MAPS // 1000}k acked maps",
            anchor="inline sorted(...)[n - q]",
            subject=committed_index(n),
            baseline=inline_sort(n),
            items=N_MAPS,
        )
        for n in (5, 7)
    ]

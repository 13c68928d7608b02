"""The channel soak, short (``python -m bench --soak 1000000`` is the long run): threads, asyncio
tasks and trio tasks doing random sends, receives, selects (timeouts, defaults), closes and
cancellations on shared channels of capacity 0, small and unbounded; every value is received
exactly once or was reported as not sent; no waiter and no thread is left behind."""

from __future__ import annotations

from typing import Any

import pytest

from bench.soak import judge, run_soak
from goprims.chan import Chan


@pytest.mark.parametrize("seed", [1, 2])
def test_soak_loses_duplicates_and_leaks_nothing(seed: int) -> None:
    result = run_soak(40_000, seed=seed)
    assert result.ok, result.summary()
    assert result.sent > 1000
    assert result.not_sent > 1000
    # Every kind of operation happened, in every world, cancellations included.
    for kind in ("send", "recv", "select", "close"):
        assert result.kinds[kind] > 0, kind
    for world in ("async", "trio"):
        for op in ("send", "recv", "select"):
            assert result.kinds[f"{world} {op}"] > 0
            assert result.kinds[f"{world} {op} cancelled"] > 0
    assert result.channels > len(result.worlds)  # closes replaced channels


def test_soak_reports_a_channel_that_drops_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # The check can fail: a recv_ok that swallows every 50th value is caught as a loss.
    real = Chan.recv_ok
    calls = [0]

    def lossy(self: Chan[Any], timeout: float | None = None) -> tuple[Any, bool]:
        v, ok = real(self, timeout)
        if ok:
            calls[0] += 1
            if calls[0] % 50 == 0:
                return None, False
        return v, ok

    monkeypatch.setattr(Chan, "recv_ok", lossy)
    result = run_soak(5_000, seed=3, asyncio_tasks=0, trio_tasks=0)
    assert not result.ok
    assert result.lost


def test_judge_finds_losses_duplicates_and_phantoms() -> None:
    v = judge(sent=[1, 2, 3], not_sent=[4, 5], received=[1, 1, 2, 4, 9])
    assert v["lost"] == [3]
    assert v["duplicated"] == [1]
    assert v["received_but_reported_not_sent"] == [4]
    assert v["phantom"] == [9]

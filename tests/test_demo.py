"""The README's demo runs to a consistent end (a smaller run than the default)."""

from __future__ import annotations

import pytest

from goprims.demo import main, pipeline, run_controller


def test_controller_demo_converges_with_cache_and_world_equal_to_storage() -> None:
    summary = run_controller(changes=2000, workers=3, quiet=True)
    assert summary["cache_equals_storage"] and summary["reconciled_equals_storage"]
    assert summary["changes"] == 2000
    assert summary["retries"] > 0  # flaky widgets really failed and were retried
    assert sum(summary["events"].values()) > 0


def test_pipeline_demo_squares_every_number_once(capsys: pytest.CaptureFixture[str]) -> None:
    counts = pipeline(n=30, workers=3)
    assert sum(counts.values()) == 30
    assert "sum of squares: 8555 (expected 8555)" in capsys.readouterr().out


def test_demo_cli_rejects_unknown_demo() -> None:
    with pytest.raises(SystemExit):
        main(["nonsense"])

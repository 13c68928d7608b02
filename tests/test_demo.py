"""The README's demo (examples/demo.py, run by ./dev demo) runs to a consistent end (a smaller
run than the default), from outside the library's import path."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest
from examples_support import ROOT, load_example

DEMO = ROOT / "examples" / "demo.py"
demo: Any = load_example(DEMO, "goprims_examples_demo")
main, pipeline, run_controller = demo.main, demo.pipeline, demo.run_controller


def test_controller_demo_converges_with_cache_and_world_equal_to_storage() -> None:
    summary = run_controller(changes=2000, workers=3, quiet=True)
    assert summary["cache_equals_storage"]
    assert summary["reconciled_equals_storage"]
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


def test_the_demo_is_not_part_of_the_library() -> None:
    assert not (ROOT / "goprims" / "demo.py").exists()
    assert importlib.util.find_spec("goprims.demo") is None


def test_dev_demo_runs_the_example_script_as_a_program() -> None:
    out = subprocess.run(
        [sys.executable, str(DEMO), "pipeline", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "usage" in out.stdout
    assert "examples/demo.py" in (ROOT / "dev").read_text()

"""The cost of ``import goprims`` (``python -m bench --only import``).

Each run is a whole fresh interpreter, ``python -c "import goprims"`` against
``python -c "import concurrent.futures"`` (what a thread program imports anyway), so the figure
is what a user pays at start-up, interpreter start included. The goal (issue 13): goprims costs at
most 15 ms more, which needs ``import goprims`` to import neither trio nor asyncio nor the
client-go layers (the top-level names are imported on first use).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench._harness import Comparison

GOAL_EXTRA_MS = 15.0


def process_seconds(code: str) -> float:
    """Wall time of one ``python -c code`` process, start to exit."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def import_goprims() -> float:
    """One ``python -c "import goprims"``."""
    return process_seconds("import goprims")


def import_futures() -> float:
    """One ``python -c "import concurrent.futures"`` (the anchor)."""
    return process_seconds("import concurrent.futures")


def comparisons() -> list[Comparison]:
    """The import row of the benchmark report."""
    return [
        Comparison(
            area="import",
            name='python -c "import goprims" (whole process)',
            anchor='python -c "import concurrent.futures"',
            subject=import_goprims,
            baseline=import_futures,
        )
    ]


def figures(runs: int = 15) -> dict[str, float]:
    """Median process times (ms) and goprims' extra cost over the anchor, measured alternately."""
    ours: list[float] = []
    anchor: list[float] = []
    for _ in range(runs):
        ours.append(import_goprims())
        anchor.append(import_futures())
    extra = [1000 * (a - b) for a, b in zip(ours, anchor, strict=True)]
    return {
        "import goprims ms": 1000 * statistics.median(ours),
        "import concurrent.futures ms": 1000 * statistics.median(anchor),
        f"extra ms (goal <= {GOAL_EXTRA_MS:g})": statistics.median(extra),
        "chan first use ms (import goprims; goprims.Chan)": 1000
        * statistics.median(process_seconds("import goprims; goprims.Chan") for _ in range(5)),
    }


if __name__ == "__main__":
    for k, v in figures().items():
        print(f"{k}: {v:.1f}")

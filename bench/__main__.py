"""``python -m bench``: every comparison in one process, as ratios against its anchor.

``python -m bench``              print the table (median of ``--reps`` alternating runs)
``python -m bench --only chan``  one area
``python -m bench --report``     also write docs/benchmarks.md and its PNG plots
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

import bench
from bench._harness import Comparison, Result, run


def discover(only: list[str] | None) -> list[tuple[str, object]]:
    """The ``bench/compare_<area>.py`` modules, in name order."""
    mods = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("compare_"):
            continue
        area = info.name.removeprefix("compare_")
        if only and area not in only:
            continue
        mods.append((area, importlib.import_module(f"bench.{info.name}")))
    return mods


def fmt_row(r: Result) -> str:
    goal = "" if r.cmp.goal is None else f">= {r.cmp.goal:.1f}x"
    verdict = {None: "reported", True: "met", False: "MISSED"}[r.meets_goal]
    return f"| {r.cmp.area} | {r.cmp.name} | {r.cmp.anchor} | {r.ratio:.2f}x | {goal} | {verdict} |"


def main(argv: list[str] | None = None) -> int:
    """Run the comparisons and print (and optionally write) the report."""
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--only", nargs="*", help="areas to run (chan, sync, pool, maps, ...)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--report", action="store_true", help="write docs/benchmarks.md and plots")
    args = ap.parse_args(argv)

    results: list[Result] = []
    figures: dict[str, dict[str, float]] = {}
    print("| area | workload | anchor | ratio (anchor time / goprims time) | goal | |")
    print("|---|---|---|---:|---|---|")
    for area, mod in discover(args.only):
        cmps: list[Comparison] = getattr(mod, "comparisons", lambda: [])()
        for c in cmps:
            r = run(c, args.reps)
            results.append(r)
            print(fmt_row(r), flush=True)
        figs = getattr(mod, "figures", None)
        if figs is not None:
            figures[area] = figs()
    for area, figs in figures.items():
        for k, v in figs.items():
            print(f"  {area}: {k} = {v:.6g}")
    if args.report:
        from bench.report import write_report

        out = write_report(results, figures, Path(__file__).resolve().parent.parent / "docs")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

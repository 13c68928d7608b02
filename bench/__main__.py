"""``python -m bench``: every comparison in one process, as ratios against its anchor.

``python -m bench``              print the table (median of ``--reps`` alternating runs)
``python -m bench --only chan``  one area
``python -m bench --report``     also run the sweeps and write docs/benchmarks.md and its PNG plots
``python -m bench --soak N``     instead, the channel soak: N random operations from threads,
                                 asyncio and trio tasks, checked by a model (bench/soak.py)

An area whose module fails to import or to run, or that has not finished after
``--area-timeout`` seconds, is reported (on stderr, and in the written report) and the other
areas still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import bench
from bench._harness import Comparison, Result, run


def discover(only: list[str] | None) -> list[tuple[str, str]]:
    """The ``bench/compare_<area>.py`` modules as (area, module name), in name order."""
    mods = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("compare_"):
            continue
        area = info.name.removeprefix("compare_")
        if only and area not in only:
            continue
        mods.append((area, f"bench.{info.name}"))
    return mods


def fmt_row(r: Result) -> str:
    """One Markdown row of the printed table."""
    goal = "" if r.cmp.goal is None else f">= {r.cmp.goal:.1f}x"
    verdict = {None: "reported", True: "met", False: "MISSED"}[r.meets_goal]
    lo, hi = r.spread
    return (
        f"| {r.cmp.area} | {r.cmp.name} | {r.cmp.anchor} | {r.ratio:.2f}x | "
        f"{lo:.2f}-{hi:.2f} | {goal} | {verdict} |"
    )


def _fail(errors: list[str], area: str, what: str) -> None:
    msg = f"{area}: {what} failed:\n{traceback.format_exc()}"
    errors.append(msg)
    print(f"!! {msg}", file=sys.stderr, flush=True)


def run_area(
    area: str, modname: str, reps: int, timeout: float
) -> tuple[list[Result], dict[str, float] | None, list[str], bool]:
    """Run one area's comparisons and figures on a watchdog thread.

    Returns (rows, figures or None, errors, finished). An area still running after ``timeout``
    seconds is abandoned (its daemon thread is left blocked or running) so that one hung
    workload cannot stop the whole report; the rows it measured until then are returned.
    """
    rows: list[Result] = []
    errors: list[str] = []
    figs: list[dict[str, float]] = []

    def work() -> None:
        try:
            mod: Any = importlib.import_module(modname)
            cmps: list[Comparison] = getattr(mod, "comparisons", lambda: [])()
        except Exception:
            _fail(errors, area, "import/comparisons()")
            return
        for c in cmps:
            try:
                r = run(c, reps)
            except Exception:
                _fail(errors, area, f"comparison {c.name!r}")
                continue
            rows.append(r)
            print(fmt_row(r), flush=True)
        fn = getattr(mod, "figures", None)
        if fn is not None:
            try:
                figs.append(fn())
            except Exception:
                _fail(errors, area, "figures()")

    t = threading.Thread(target=work, name=f"bench-{area}", daemon=True)
    t.start()
    t.join(timeout)
    finished = not t.is_alive()
    return list(rows), (figs[0] if figs else None), list(errors), finished


def main(argv: list[str] | None = None) -> int:
    """Run the comparisons and print (and optionally write) the report."""
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--only", nargs="*", help="areas to run (chan, sync, pool, maps, ...)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--report", action="store_true", help="also run the sweeps; write docs/benchmarks.md"
    )
    ap.add_argument("--skip", nargs="*", help="areas not to run")
    ap.add_argument(
        "--area-timeout",
        type=float,
        default=900.0,
        help="seconds after which an area that has not finished is reported as hung",
    )
    ap.add_argument("--sweep-reps", type=int, default=5, help="repetitions per sweep point")
    ap.add_argument(
        "--soak",
        type=int,
        metavar="N",
        help="run the channel soak for N operations instead (see bench/soak.py)",
    )
    ap.add_argument("--seed", type=int, default=1, help="the soak's random seed")
    args = ap.parse_args(argv)
    if args.soak is not None:
        from bench.soak import main as soak_main

        return soak_main(args.soak, seed=args.seed)

    results: list[Result] = []
    figures: dict[str, dict[str, float]] = {}
    errors: list[str] = []
    timings: dict[str, float] = {}
    print("| area | workload | anchor | ratio (anchor time / goprims time) | spread | goal | |")
    print("|---|---|---|---:|---:|---|---|")
    for area, modname in discover(args.only):
        if args.skip and area in args.skip:
            continue
        t0 = time.perf_counter()
        rows, figs, errs, finished = run_area(area, modname, args.reps, args.area_timeout)
        results.extend(rows)
        errors.extend(errs)
        if figs is not None:
            figures[area] = figs
        if not finished:
            msg = (
                f"{area}: did not finish within {args.area_timeout:g} s (a hang?); "
                f"{len(rows)} rows measured before that are kept, its figures are missing"
            )
            errors.append(msg)
            print(f"!! {msg}", file=sys.stderr, flush=True)
        timings[area] = time.perf_counter() - t0
    for area, figs in figures.items():
        for k, v in figs.items():
            print(f"  {area}: {k} = {v:.6g}")
    print("  seconds per area: " + ", ".join(f"{a} {s:.0f}" for a, s in timings.items()))
    if args.report:
        from bench.report import write_report
        from bench.sweeps import run_sweeps

        t0 = time.perf_counter()
        sweeps = run_sweeps(args.sweep_reps, progress=lambda line: print(line, flush=True))
        print(f"  sweeps: {time.perf_counter() - t0:.0f} s")
        out = write_report(
            results,
            figures,
            Path(__file__).resolve().parent.parent / "docs",
            sweeps=sweeps,
            reps=args.reps,
            errors=errors,
        )
        print(f"wrote {out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Write ``docs/benchmarks.md`` and its plots from one ``python -m bench --report`` run.

:func:`write_report` takes the comparison results and the per-area absolute figures that
``bench/__main__.py`` measured, runs the sweeps of :mod:`bench.sweeps` in the same process (unless
given them), draws the sweeps with matplotlib (Agg backend, PNGs in ``docs/img/``) and writes the
Markdown page: the machine, every ratio grouped by area, the sweeps, the absolute figures.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._harness import Result
from bench.sweeps import Sweep, run_sweeps

IMG_DIR = "img"

# Where each area is explained, relative to docs/ (only pages that exist are linked).
AREA_PAGES = {
    "chan": ("Channels", "channels.md"),
    "sync": ("Synchronisation", "sync.md"),
    "context": ("Context", "context.md"),
    "pool": ("Worker pool", "pool.md"),
    "maps": ("Maps", "maps.md"),
    "workqueue": ("Work queues", "workqueue.md"),
    "cache": ("Caches", "cache.md"),
    "informers": ("Informers", "informers.md"),
    "storage": ("Storage", "storage.md"),
    "etcd": ("Storage on etcd", "storage.md"),
    "import": ("Importing goprims", "index.md"),
    "framing": ("Stream framing", "framing.md"),
    "quorum": ("Quorum and flow control", "distributed.md"),
    "konfig": ("Hot configuration", "distributed.md"),
    "controller": ("Controller toolkit", "controller.md"),
}

# Anchor libraries whose versions matter for the ratios.
VERSIONED = ("goprims", "trio", "janus", "culsans", "aiologic", "matplotlib")


# ---------------------------------------------------------------------------------- machine


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = cores
    versions = []
    for dist in VERSIONED:
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "CPU": cpu_model(),
        "cores": f"{cores} logical" + ("" if usable == cores else f" ({usable} usable)"),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "switch interval": f"{sys.getswitchinterval() * 1000:g} ms (sys.getswitchinterval)",
        "libraries": ", ".join(versions),
    }
    commit = _git_commit()
    if commit:
        info["goprims commit"] = commit
    return info


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# ------------------------------------------------------------------------------------ plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt_rate(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def plot_lines(sw: Sweep, path: Path) -> None:
    """Throughput of subject and anchor against a numeric x, min-max bars, ratio labels."""
    plt = _pyplot()
    xs = [p.x for p in sw.points]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    for series, color, marker in ((sw.subject, "tab:blue", "o"), (sw.anchor, "tab:orange", "s")):
        ys = [p.rate(series) for p in sw.points]
        lo = [y - p.rate_range(series)[0] for y, p in zip(ys, sw.points, strict=True)]
        hi = [p.rate_range(series)[1] - y for y, p in zip(ys, sw.points, strict=True)]
        ax.errorbar(xs, ys, yerr=[lo, hi], label=series, color=color, marker=marker, capsize=3)
    for p in sw.points:
        top = max(p.rate_range(sw.subject)[1], p.rate_range(sw.anchor)[1])
        ax.annotate(
            f"{p.ratio(sw.subject, sw.anchor):.2f}x",
            (p.x, top),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
            color="tab:blue",
        )
    if sw.log_x:
        ax.set_xscale("log", base=2)
    ax.set_xticks(xs)
    ax.set_xticklabels([str(x) for x in xs])
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.1)
    ax.yaxis.set_major_formatter(_rate_formatter())
    ax.set_xlabel(sw.xlabel)
    ax.set_ylabel("items per second (median, min-max bars)")
    ax.set_title(sw.title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    fig.text(
        0.99,
        0.01,
        "labels: goprims speed-up (anchor time / goprims time)",
        ha="right",
        fontsize=7,
        color="grey",
    )
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_bars(sw: Sweep, path: Path) -> None:
    """One panel per category (its own linear axis from 0): subject and anchor bars, ratio."""
    plt = _pyplot()
    n = len(sw.points)
    fig, axes = plt.subplots(1, n, figsize=(2.2 * n + 0.6, 4.0), dpi=110, squeeze=False)
    series = ((sw.subject, "tab:blue"), (sw.anchor, "tab:orange"))
    for ax, p in zip(axes[0], sw.points, strict=True):
        for k, (name, color) in enumerate(series):
            y = p.rate(name)
            lo, hi = p.rate_range(name)
            ax.bar(k, y, 0.7, yerr=[[y - lo], [hi - y]], color=color, capsize=3, label=name)
        ax.set_xticks([])
        ax.set_xlabel(str(p.x))
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
        ax.yaxis.set_major_formatter(_rate_formatter())
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(alpha=0.3, axis="y")
        ax.set_title(f"{p.ratio(sw.subject, sw.anchor):.2f}x", fontsize=9, color="tab:blue")
    axes[0][0].set_ylabel("tasks per second (median, min-max bars)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=9, bbox_to_anchor=(0.5, 0.92))
    fig.suptitle(sw.title, fontsize=10)
    fig.text(
        0.99,
        0.01,
        "panel titles: goprims speed-up (anchor time / goprims time)",
        ha="right",
        fontsize=7,
        color="grey",
    )
    fig.tight_layout(rect=(0, 0.02, 1, 0.84))
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _fmt_num(v: float) -> str:
    """A figure with about 3 significant digits, without exponent for everyday magnitudes."""
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 0.01 or a == 0:
        return f"{v:.3g}"
    return f"{v:.2e}"


def _rate_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: _fmt_rate(v))


PLOTTERS: dict[str, Callable[[Sweep, Path], None]] = {
    "capacity": plot_lines,
    "producers": plot_lines,
    "pool": plot_bars,
}


# ---------------------------------------------------------------------------------- markdown


def _md(text: str) -> str:
    """Escape what would break a Markdown table cell."""
    return text.replace("|", "\\|")


def _ratio_cell(r: Result) -> str:
    return f"**{r.ratio:.2f}x**"


def _spread_cell(r: Result) -> str:
    lo, hi = r.spread
    return f"{lo:.2f}-{hi:.2f}"


def _rates_cell(r: Result) -> str:
    s, a = r.subject_rate, r.anchor_rate
    if s is None or a is None:
        return ""
    return f"{_fmt_rate(s)} / {_fmt_rate(a)}"


def _verdict(r: Result) -> str:
    if r.cmp.goal is None:
        return "reported"
    return f">= {r.cmp.goal:g}x: " + ("met" if r.meets_goal else "**missed**")


def _area_title(area: str, docs_dir: Path) -> str:
    title, page = AREA_PAGES.get(area, (area, ""))
    if page and (docs_dir / page).exists():
        return f"{title} (`{area}`, see [{page}]({page}))"
    return f"{title} (`{area}`)"


def render(
    results: list[Result],
    figures: dict[str, dict[str, float]],
    sweeps: list[Sweep],
    images: dict[str, str],
    info: dict[str, str],
    docs_dir: Path,
    reps: int | None = None,
    errors: list[str] | None = None,
) -> str:
    """The Markdown text of the report."""
    out: list[str] = []
    w = out.append
    w("# Benchmarks")
    w("")
    w(
        "Generated by `python -m bench --report` (this page and its plots are overwritten by the "
        "next run: do not edit by hand). Every number on this page was measured in **one "
        "process, in one run**, on the machine below; goprims is always measured next to its "
        "anchor (the standard library or another library doing the same job), alternately, so "
        "the **ratios** are what to read: absolute rates move with the machine."
    )
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    for k, v in info.items():
        w(f"| {k} | {_md(v)} |")
    w("")
    w("## How to read the tables")
    w("")
    w(
        "- **ratio** = median anchor time / median goprims time"
        + (f" over {reps} alternating repetitions" if reps else "")
        + " (after one warm-up of each): **above 1, goprims is faster**."
    )
    w(
        "- **spread** = the lowest and highest ratio of a single repetition (goprims and anchor "
        "run back to back): a wide spread means a noisy row."
    )
    w(
        "- **rates** = goprims / anchor items per second at the median time, where the workload "
        "counts items."
    )
    w(
        "- **goal**: the target ratio set in the project's issues (rows without one are "
        "reported for information, often where goprims pays for semantics the anchor lacks)."
    )
    w("")
    met = sum(1 for r in results if r.meets_goal is True)
    missed = [r for r in results if r.meets_goal is False]
    goals = sum(1 for r in results if r.meets_goal is not None)
    areas: dict[str, list[Result]] = {}
    for r in results:
        areas.setdefault(r.cmp.area, []).append(r)
    w(
        f"{len(results)} comparisons in {len(areas)} areas; {goals} with a goal: {met} met, "
        f"{len(missed)} missed."
    )
    if missed:
        w("")
        w("Missed goals in this run:")
        w("")
        for r in missed:
            w(
                f"- `{r.cmp.area}`: {_md(r.cmp.name)} vs {_md(r.cmp.anchor)}: {r.ratio:.2f}x "
                f"(goal {r.cmp.goal:g}x, spread {_spread_cell(r)})"
            )
    w("")
    w("## Ratios against the anchors")
    w("")
    for area, rows in areas.items():
        w(f"### {_area_title(area, docs_dir)}")
        w("")
        w("| workload | anchor | ratio | spread | rates (goprims / anchor, per s) | goal |")
        w("|---|---|---:|---:|---:|---|")
        for r in rows:
            w(
                f"| {_md(r.cmp.name)} | {_md(r.cmp.anchor)} | {_ratio_cell(r)} | "
                f"{_spread_cell(r)} | {_rates_cell(r)} | {_verdict(r)} |"
            )
        w("")
    if sweeps:
        w("## Sweeps")
        w("")
        w(
            "Throughput of goprims and its anchor side by side while one parameter varies "
            "(`bench/sweeps.py`; medians of alternating repetitions, bars from the slowest to "
            "the fastest repetition; the labels are the ratios)."
        )
        w("")
        for sw in sweeps:
            w(f"### {sw.title}")
            w("")
            w(f"{sw.what[0].upper()}{sw.what[1:]}.")
            w("")
            if sw.key in images:
                w(f"![{_md(sw.title)}]({images[sw.key]})")
                w("")
            w(f"| {sw.xlabel} | {_md(sw.subject)} /s | {_md(sw.anchor)} /s | ratio |")
            w("|---|---:|---:|---:|")
            for p in sw.points:
                w(
                    f"| {p.x} | {_fmt_rate(p.rate(sw.subject))} | {_fmt_rate(p.rate(sw.anchor))} "
                    f"| **{p.ratio(sw.subject, sw.anchor):.2f}x** |"
                )
            w("")
    figs = {area: f for area, f in figures.items() if f}
    if figs:
        w("## Absolute figures on this machine")
        w("")
        w("Measured by the areas' `figures()` functions in the same run (no anchor).")
        w("")
        for area, f in figs.items():
            w(f"### {_area_title(area, docs_dir)}")
            w("")
            w("| figure | value |")
            w("|---|---:|")
            for name, value in f.items():
                w(f"| {_md(name)} | {_fmt_num(value)} |")
            w("")
    if errors:
        w("## Failures in this run")
        w("")
        w(
            "These parts of the run raised or did not finish; their rows or figures are "
            "missing above."
        )
        w("")
        for e in errors:
            w("```")
            w(e.rstrip())
            w("```")
            w("")
    empty = sorted(area for area, f in figures.items() if not f)
    if empty:
        w(
            "Areas whose figures could not be measured in this run (e.g. no etcd binary): "
            + ", ".join(f"`{a}`" for a in empty)
            + "."
        )
        w("")
    return "\n".join(out).rstrip() + "\n"


def write_report(
    results: list[Result],
    figures: dict[str, dict[str, float]],
    docs_dir: Path,
    sweeps: list[Sweep] | None = None,
    reps: int | None = None,
    errors: list[str] | None = None,
) -> Path:
    """Write ``docs_dir/benchmarks.md`` and ``docs_dir/img/bench-*.png``; return the page's path.

    ``sweeps`` default to a fresh :func:`bench.sweeps.run_sweeps` run, so that the plots come from
    the same process as the ratios.
    """
    docs_dir = Path(docs_dir)
    if sweeps is None:
        sweeps = run_sweeps()
    img_dir = docs_dir / IMG_DIR
    img_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, str] = {}
    for sw in sweeps:
        plot = PLOTTERS.get(sw.key, plot_lines)
        name = f"bench-{sw.key}.png"
        plot(sw, img_dir / name)
        images[sw.key] = f"{IMG_DIR}/{name}"
    text = render(results, figures, sweeps, images, machine(), docs_dir, reps, errors)
    out = docs_dir / "benchmarks.md"
    out.write_text(text, encoding="utf-8")
    return out

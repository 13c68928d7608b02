"""goprims.cache against hand-written alternatives: what the Indexer's locking, key function and
all-or-nothing indexing cost, what its indices buy over a scan, and DeltaFIFO against a queue.

Objects are Kubernetes-shaped dicts, built before the clock starts: ``n`` pods spread over
``NAMESPACES`` namespaces, each labelled with one of ``APPS`` apps. The two indices are the
namespace index and an ``app`` label index.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from bench._harness import Comparison
from goprims.cache import (
    NAMESPACE_INDEX,
    DeltaFIFO,
    Indexer,
    meta_namespace_index_func,
    meta_namespace_key_func,
)

NAMESPACES = 100
APPS = 1000
QUERIES = 50


def pods(n: int, generation: int = 0) -> list[dict[str, Any]]:
    """``n`` pods; ``generation`` 1 moves half of them to another app (an index change)."""
    out = []
    for i in range(n):
        app = (i + (generation if i % 2 else 0)) % APPS
        out.append(
            {
                "metadata": {
                    "name": f"pod-{i}",
                    "namespace": f"ns-{i % NAMESPACES}",
                    "resourceVersion": str(generation + 1),
                    "labels": {"app": f"app-{app}"},
                }
            }
        )
    return out


def app_index(obj: dict[str, Any]) -> list[str]:
    return [obj["metadata"]["labels"]["app"]]


def new_indexer() -> Indexer:
    return Indexer(
        meta_namespace_key_func, {NAMESPACE_INDEX: meta_namespace_index_func, "app": app_index}
    )


# ---------------------------------------------------------------------------- add / update


def _each(make: Callable[[], Callable[[Any], object]], objs: list[Any]) -> Callable[[], float]:
    """A workload that times ``write(o)`` for each of ``objs``, ``write = make()`` (not timed)."""

    def workload() -> float:
        write = make()
        t0 = time.perf_counter()
        for o in objs:
            write(o)
        return time.perf_counter() - t0

    return workload


def indexer_add(n: int) -> Callable[[], float]:
    return _each(lambda: new_indexer().add, pods(n))


def indexer_update(n: int) -> Callable[[], float]:
    """Update every object of a full indexer; half of them change app (move in the index)."""
    first = pods(n)

    def make() -> Callable[[Any], object]:
        ix = new_indexer()
        ix.replace(first)
        return ix.update

    return _each(make, pods(n, generation=1))


class HandRolled:
    """The anchor: a dict plus two ``value -> set(keys)`` dicts, no lock, no validation, no
    remembered values, no pruning of empty sets -- the least code that answers the same queries."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.by_ns: dict[str, set[str]] = {}
        self.by_app: dict[str, set[str]] = {}

    def upsert(self, obj: dict[str, Any]) -> None:
        md = obj["metadata"]
        ns = md.get("namespace") or ""
        key = f"{ns}/{md['name']}" if ns else md["name"]
        old = self.items.get(key)
        self.items[key] = obj
        app = md["labels"]["app"]
        if old is not None:
            old_app = old["metadata"]["labels"]["app"]
            if old_app != app:
                self.by_app[old_app].discard(key)
        self.by_ns.setdefault(ns, set()).add(key)
        self.by_app.setdefault(app, set()).add(key)


def hand_rolled_add(n: int) -> Callable[[], float]:
    return _each(lambda: HandRolled().upsert, pods(n))


def hand_rolled_update(n: int) -> Callable[[], float]:
    first = pods(n)

    def make() -> Callable[[Any], object]:
        h = HandRolled()
        for o in first:
            h.upsert(o)
        return h.upsert

    return _each(make, pods(n, generation=1))


# ----------------------------------------------------------------------- by_index vs scan


def by_index_queries(n: int, queries: int = QUERIES) -> Callable[[], float]:
    ix = new_indexer()
    ix.replace(pods(n))
    namespaces = [f"ns-{q % NAMESPACES}" for q in range(queries)]

    def workload() -> float:
        by_index = ix.by_index
        t0 = time.perf_counter()
        for ns in namespaces:
            by_index(NAMESPACE_INDEX, ns)
        return time.perf_counter() - t0

    return workload


def linear_scan_queries(n: int, queries: int = QUERIES) -> Callable[[], float]:
    """The anchor: filter a ready-made list of every object (no copy, no lock)."""
    objs = pods(n)
    namespaces = [f"ns-{q % NAMESPACES}" for q in range(queries)]

    def workload() -> float:
        t0 = time.perf_counter()
        for ns in namespaces:
            [o for o in objs if o["metadata"].get("namespace") == ns]
        return time.perf_counter() - t0

    return workload


# --------------------------------------------------------------------------------- FIFOs


def delta_fifo_add_pop(n: int) -> Callable[[], float]:
    objs = pods(n)

    def workload() -> float:
        f = DeltaFIFO()
        add, pop = f.add, f.pop
        t0 = time.perf_counter()
        for o in objs:
            add(o)
        for _ in range(n):
            pop(None, 0)
        return time.perf_counter() - t0

    return workload


def queue_put_get(n: int) -> Callable[[], float]:
    objs = pods(n)

    def workload() -> float:
        q: queue.Queue[Any] = queue.Queue()
        put, get = q.put, q.get
        t0 = time.perf_counter()
        for o in objs:
            put(o)
        for _ in range(n):
            get(timeout=0)
        return time.perf_counter() - t0

    return workload


def _lazy(build: Callable[..., Callable[[], float]], *args: int) -> Callable[[], float]:
    """``build(*args)`` on the first call (the harness's warm-up), so listing is cheap."""
    workload: Callable[[], float] | None = None

    def run() -> float:
        nonlocal workload
        if workload is None:
            workload = build(*args)
        return workload()

    return run


def comparisons() -> list[Comparison]:
    """The cache rows of ``python -m bench`` (workloads are built on their warm-up run)."""
    n = 100_000
    return [
        Comparison(
            area="cache",
            name="Indexer.add 100k objects, 2 indices",
            anchor="hand-rolled dict + 2 set indices (no lock)",
            subject=_lazy(indexer_add, n),
            baseline=_lazy(hand_rolled_add, n),
            items=n,
        ),
        Comparison(
            area="cache",
            name="Indexer.update 100k objects, 2 indices, half move",
            anchor="hand-rolled dict + 2 set indices (no lock)",
            subject=_lazy(indexer_update, n),
            baseline=_lazy(hand_rolled_update, n),
            items=n,
        ),
        Comparison(
            area="cache",
            name=f"by_index(namespace) at 100k objects, {QUERIES} queries",
            anchor="linear scan of a list",
            subject=_lazy(by_index_queries, n),
            baseline=_lazy(linear_scan_queries, n),
            goal=50.0,
            items=QUERIES,
        ),
        Comparison(
            area="cache",
            name="DeltaFIFO add then pop 100k distinct keys",
            anchor="queue.Queue put then get",
            subject=_lazy(delta_fifo_add_pop, n),
            baseline=_lazy(queue_put_get, n),
            items=n,
        ),
    ]


def figures() -> dict[str, float]:
    """Absolute per-item costs on this machine (microseconds), for the report."""
    n = 100_000
    out = {}
    for label, fn, items in [
        ("Indexer.add us/object (100k, 2 indices)", indexer_add(n), n),
        ("Indexer.update us/object (100k, 2 indices)", indexer_update(n), n),
        ("by_index us/query (100k, 1000 results)", by_index_queries(n), QUERIES),
        ("linear scan us/query (100k)", linear_scan_queries(n), QUERIES),
    ]:
        fn()
        out[label] = min(fn() for _ in range(3)) / items * 1e6
    return out

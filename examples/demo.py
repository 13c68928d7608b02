"""The README's demo: ``./dev demo`` (``python examples/demo.py``; not part of the installed
package, which it uses as any program would).

``controller`` (the default): a small Kubernetes-style controller on the embedded
:class:`~goprims.storage.MemoryStorage`. A writer thread churns objects; a
:class:`~goprims.cache.SharedIndexInformer` with a namespace index feeds a
:class:`~goprims.workqueue.RateLimitingQueue`; a :class:`~goprims.pool.Pool` of workers
reconciles, some reconciles failing and being retried with per-item backoff. A progress line runs
meanwhile; at the end a summary (events, reconciles, retries) and a consistency check: the
informer's cache equals the storage, and the reconciled state equals the storage too.

``pipeline``: Go's classic channel pipeline in threads -- a producer, fan-out workers that
``select`` with a timeout case, fan-in, printed results.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from goprims.cache import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    Lister,
    ListerNotFound,
    ResourceEventHandlerFuncs,
    SharedIndexInformer,
    meta_namespace_index_func,
    meta_namespace_key_func,
    split_meta_namespace_key,
    wait_for_cache_sync,
)
from goprims.chan import Chan, Recv, Send, after, select
from goprims.pool import Pool
from goprims.storage import MemoryStorage, list_watch
from goprims.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue

PREFIX = "/widgets/"
NAMESPACES = ("red", "green", "blue")


# ------------------------------------------------------------------------------------ controller


class Stats:
    """Counters shared by the demo's threads (each += happens under ``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events = {"add": 0, "update": 0, "delete": 0}
        self.reconciles = 0
        self.failures = 0
        self.writes = 0

    def bump(self, field: str, key: str | None = None) -> None:
        with self.lock:
            if key is None:
                setattr(self, field, getattr(self, field) + 1)
            else:
                self.events[key] += 1


def writer(storage: MemoryStorage, changes: int, seed: int, stats: Stats) -> None:
    """Churn ``changes`` random creates, updates and deletes over 60 widgets."""
    rng = random.Random(seed)
    live: set[tuple[str, str]] = set()
    for _ in range(changes):
        ns = rng.choice(NAMESPACES)
        name = f"widget-{rng.randrange(20):02d}"
        key = f"{PREFIX}{ns}/{name}"
        if (ns, name) not in live:
            spec = {"replicas": rng.randrange(1, 6), "flaky": rng.random() < 0.25}
            storage.create(key, {"metadata": {"name": name, "namespace": ns}, "spec": spec})
            live.add((ns, name))
        elif rng.random() < 0.2:
            storage.delete(key)
            live.discard((ns, name))
        else:
            storage.guaranteed_update(key, _set_replicas(rng.randrange(1, 6)))
        stats.bump("writes")


def _set_replicas(replicas: int) -> Callable[[Any], Any]:
    def update(obj: Any) -> Any:
        return {**obj, "spec": {**obj["spec"], "replicas": replicas}}

    return update


class Reconciler:
    """Makes ``observed`` (the "world" this controller manages) match the desired objects.

    A widget marked ``flaky`` fails its first two reconciles: the worker retries it with
    exponential backoff through the rate-limiting queue.
    """

    def __init__(self, lister: Lister, stats: Stats, rng_seed: int) -> None:
        self.lister = lister
        self.stats = stats
        self.observed: dict[str, dict[str, Any]] = {}  # key -> reconciled spec
        self.lock = threading.Lock()
        self.attempts: dict[str, int] = {}

    def reconcile(self, key: str) -> None:
        ns, name = split_meta_namespace_key(key)
        self.stats.bump("reconciles")
        try:
            obj = self.lister.by_namespace(ns).get(name)
        except ListerNotFound:
            with self.lock:
                self.observed.pop(key, None)
                self.attempts.pop(key, None)
            return
        with self.lock:
            n = self.attempts.get(key, 0) + 1
            self.attempts[key] = n
        if obj["spec"].get("flaky") and n <= 2:
            raise RuntimeError(f"{key}: transient failure (attempt {n})")
        with self.lock:
            self.observed[key] = dict(obj["spec"])


def run_controller(
    changes: int = 20000, workers: int = 4, seed: int = 1, quiet: bool = False
) -> dict[str, Any]:
    """Run the controller demo; return the summary (also printed unless ``quiet``)."""
    out = (lambda *a, **k: None) if quiet else print
    t0 = time.monotonic()
    storage = MemoryStorage()
    stats = Stats()
    informer = SharedIndexInformer(
        list_watch(storage, PREFIX), indexers={NAMESPACE_INDEX: meta_namespace_index_func}
    )
    queue: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(0.005, 0.5), name="widgets"
    )

    def enqueue(obj: Any, event: str) -> None:
        stats.bump("events", event)
        if isinstance(obj, DeletedFinalStateUnknown):
            queue.add(obj.key)
        else:
            queue.add(meta_namespace_key_func(obj))

    informer.add_event_handler(
        ResourceEventHandlerFuncs(
            on_add=lambda o: enqueue(o, "add"),
            on_update=lambda old, new: enqueue(new, "update"),
            on_delete=lambda o: enqueue(o, "delete"),
        )
    )
    reconciler = Reconciler(Lister(informer.get_indexer()), stats, seed)

    def worker() -> None:
        while True:
            key, shutdown = queue.get()
            if shutdown:
                return
            assert key is not None  # None only on shutdown
            try:
                reconciler.reconcile(key)
                queue.forget(key)
            except Exception:
                stats.bump("failures")
                queue.add_rate_limited(key)
            finally:
                queue.done(key)

    stop: Chan[None] = Chan()
    informer_thread = threading.Thread(target=informer.run, args=(stop,), name="demo-informer")
    informer_thread.start()
    pool = Pool(workers, name="demo-workers")
    for _ in range(workers):
        pool.go(worker)
    if not wait_for_cache_sync(stop, informer.synced(), timeout=30):
        raise SystemExit("informer did not sync")

    w = threading.Thread(target=writer, args=(storage, changes, seed, stats), name="demo-writer")
    w.start()

    def desired() -> dict[str, dict[str, Any]]:
        return {
            f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["spec"]
            for o in storage.list(PREFIX).items
        }

    tty = sys.stdout.isatty() and not quiet
    last_line = 0.0
    while True:
        select(Recv(after(0.1)))  # a display tick, not synchronisation
        with stats.lock:
            line = (
                f"writes {stats.writes:5d}/{changes}  events {sum(stats.events.values()):5d}  "
                f"reconciles {stats.reconciles:5d}  retries {stats.failures:4d}  "
                f"queue {len(queue):3d}"
            )
        now = time.monotonic()
        if tty:
            out("\r" + line, end="", flush=True)
        elif now - last_line >= 1.0:
            out(line)
            last_line = now
        if not w.is_alive() and len(queue) == 0:
            with reconciler.lock:
                observed = dict(reconciler.observed)
            if observed == desired():
                break
        if now - t0 > 120:
            raise SystemExit("the controller did not converge within 120 s")
    if tty:
        out()

    queue.shut_down_with_drain()
    stop.close()
    informer_thread.join()
    pool.release(timeout=10)

    cache = {meta_namespace_key_func(o): o for o in informer.get_store().list()}
    stored = {meta_namespace_key_func(o): o for o in storage.list(PREFIX).items}
    by_ns = {ns: len(informer.get_indexer().by_index(NAMESPACE_INDEX, ns)) for ns in NAMESPACES}
    summary: dict[str, Any] = {
        "changes": stats.writes,
        "events": dict(stats.events),
        "reconciles": stats.reconciles,
        "retries": stats.failures,
        "objects": len(stored),
        "by_namespace": by_ns,
        "cache_equals_storage": cache == stored,
        "reconciled_equals_storage": reconciler.observed == desired(),
        "seconds": round(time.monotonic() - t0, 2),
    }
    out("== summary")
    out(f"  storage writes  : {summary['changes']} (final revision {storage.revision()})")
    ev = summary["events"]
    out(
        f"  informer events : {sum(ev.values())} ({ev['add']} adds, {ev['update']} updates, "
        f"{ev['delete']} deletes)"
    )
    out(f"  reconciles      : {summary['reconciles']} ({summary['retries']} failed and retried)")
    out(f"  objects by ns   : {', '.join(f'{k}={v}' for k, v in by_ns.items())}")
    out(f"  cache == storage: {summary['cache_equals_storage']}")
    out(f"  world == storage: {summary['reconciled_equals_storage']}")
    out(f"  time            : {summary['seconds']} s")
    if not (summary["cache_equals_storage"] and summary["reconciled_equals_storage"]):
        raise SystemExit("consistency check FAILED")
    return summary


# -------------------------------------------------------------------------------------- pipeline


def pipeline(n: int = 40, workers: int = 4) -> dict[str, int]:
    """Square ``n`` numbers with ``workers`` fan-out workers; return counts per worker."""
    jobs: Chan[int] = Chan(8)
    results: Chan[tuple[str, int, int]] = Chan(8)

    def producer() -> None:
        for i in range(n):
            jobs.send(i)
        jobs.close()

    def worker(name: str) -> None:
        idle_checks = 0
        while True:
            # A timeout case: if no job arrives within 50 ms, note it and wait again.
            sel = select(Recv(jobs), Recv(after(0.05)))
            if sel.index == 1:
                idle_checks += 1
                continue
            if not sel.ok:  # jobs closed and drained
                break
            results.send((name, sel.value, sel.value * sel.value))
        select(Send(results, (name, -1, idle_checks)))

    threads = [threading.Thread(target=producer)]
    threads += [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(workers)]
    for t in threads:
        t.start()

    counts: dict[str, int] = {}
    finished = 0
    total = 0
    for name, i, sq in results:  # fan-in
        if i < 0:
            finished += 1
            if finished == workers:
                results.close()
            continue
        counts[name] = counts.get(name, 0) + 1
        total += sq
        print(f"  {name}: {i:3d}^2 = {sq}")
    for t in threads:
        t.join()
    expected = sum(i * i for i in range(n))
    print(f"sum of squares: {total} (expected {expected})")
    print("jobs per worker:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if total != expected:
        raise SystemExit("pipeline lost or duplicated a value")
    return counts


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m goprims.demo``."""
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument(
        "which", nargs="?", default="controller", choices=["controller", "pipeline"]
    )
    parser.add_argument("--changes", type=int, default=20000, help="controller: storage writes")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--n", type=int, default=40, help="pipeline: numbers to square")
    args = parser.parse_args(argv)
    if args.which == "pipeline":
        print("== goprims channel pipeline: producer -> fan-out (select + timeout) -> fan-in")
        pipeline(args.n, args.workers)
        return
    print("== goprims controller demo: MemoryStorage -> informer -> workqueue -> Pool")
    run_controller(args.changes, args.workers)


if __name__ == "__main__":
    main()

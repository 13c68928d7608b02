"""MemoryStorage throughput figures (``python -m bench --only storage``).

There is no meaningful anchor in the standard library for a versioned store with watches, so
this module reports absolute figures via :func:`figures` (machine-dependent; compare them only
with figures from the same machine):

* ``writes_per_s_0_watchers``: compare-and-swap updates of a small Kubernetes-shaped object,
  one writer thread, no watch;
* ``writes_per_s_3_watchers``: the same writes with 3 watches each drained by its own thread,
  timed until every watcher has received every event (end to end, consumers' copies included);
* ``writes_per_s_3_buffering_watchers``: the writer's own rate while 3 watches buffer every
  event unread (the fan-out cost a slow watcher puts on writers);
* ``guaranteed_updates_per_s_8_threads``: 8 threads incrementing one counter with
  ``guaranteed_update`` (optimistic retries included).
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from goprims.storage import MemoryStorage

KEYS = 100


def _pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"pod-{i}", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"nodeName": "", "containers": [{"name": "c", "image": "nginx:1.27"}]},
        "status": {"phase": "Pending"},
    }


def _seeded() -> tuple[MemoryStorage, list[dict[str, Any]]]:
    s = MemoryStorage()
    return s, [s.create(f"/pods/default/pod-{i}", _pod(i)) for i in range(KEYS)]


def _write(s: MemoryStorage, cur: list[dict[str, Any]], n: int) -> None:
    for i in range(n):
        k = i % KEYS
        obj = cur[k]
        obj["status"] = {"phase": "Running", "n": i}
        cur[k] = s.update(f"/pods/default/pod-{k}", obj)


def writes(n: int, watchers: int = 0) -> float:
    """Seconds for ``n`` updates; with ``watchers``, until each of them received all ``n``."""
    s, cur = _seeded()
    start_rv = str(s.revision())
    ws = [s.watch("/pods/", start_rv) for _ in range(watchers)]

    def drain(w: Any) -> None:
        for _ in range(n):
            w.next_event()

    ts = [threading.Thread(target=drain, args=(w,)) for w in ws]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    _write(s, cur, n)
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    for w in ws:
        w.stop()
    return dt


def buffered_writes(n: int, watchers: int = 3) -> float:
    """Seconds for the writer alone to make ``n`` updates while ``watchers`` watches buffer."""
    s, cur = _seeded()
    ws = [s.watch("/pods/", str(s.revision())) for _ in range(watchers)]
    t0 = time.perf_counter()
    _write(s, cur, n)
    dt = time.perf_counter() - t0
    for w in ws:
        w.stop()
    return dt


def contended_guaranteed_updates(threads: int, per_thread: int) -> float:
    """Seconds for ``threads`` threads to each make ``per_thread`` counter increments."""
    s = MemoryStorage()
    s.create("/counter", {"metadata": {"name": "counter"}, "n": 0})
    go = threading.Barrier(threads + 1)

    def inc(cur: Any) -> Any:
        cur["n"] += 1
        return cur

    def work() -> None:
        go.wait()
        for _ in range(per_thread):
            s.guaranteed_update("/counter", inc)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    assert s.get("/counter")["n"] == threads * per_thread
    return dt


def _rate(items: int, fn: Any, *args: Any, reps: int = 5) -> float:
    fn(*args)  # warm-up
    return float(items / statistics.median(fn(*args) for _ in range(reps)))


def figures() -> dict[str, float]:
    """Throughput figures (operations per second, median of 5 runs after a warm-up)."""
    n = 20_000
    return {
        "writes_per_s_0_watchers": _rate(n, writes, n, 0),
        "writes_per_s_3_watchers": _rate(n, writes, n, 3),
        "writes_per_s_3_buffering_watchers": _rate(n, buffered_writes, n, 3),
        "guaranteed_updates_per_s_8_threads": _rate(
            8 * 1000, contended_guaranteed_updates, 8, 1000
        ),
    }

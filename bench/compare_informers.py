"""Informer figures (``python -m bench --only informers``).

No standard-library anchor does what an informer does, so this module reports figures
(machine-dependent; compare them only with figures from the same machine):

* ``sync_100k_seconds``: from ``run()`` to ``synced()`` for 100k objects already in a
  MemoryStorage (list, DeltaFIFO replace, pop into the indexer with one index, handler adds);
* ``events_per_s``: change events from storage writes to a handler, one writer thread and the
  informer's threads (all on one interpreter, so on one core's worth of GIL); goal >= 20k/s;
* ``bytes_per_cached_object``: tracemalloc growth of the informer's cache per object (the
  informer keeps its own copy of each object, plus index entries).
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from goprims.cache import (
    NAMESPACE_INDEX,
    ResourceEventHandlerFuncs,
    SharedIndexInformer,
    meta_namespace_index_func,
    wait_for_cache_sync,
)
from goprims.chan import Chan
from goprims.storage import MemoryStorage, list_watch

PREFIX = "/pods/"


def _pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"pod-{i}", "namespace": f"ns-{i % 10}", "labels": {"app": "web"}},
        "spec": {"nodeName": "", "containers": [{"name": "c", "image": "nginx:1.27"}]},
        "status": {"phase": "Pending"},
    }


def _informer(storage: MemoryStorage) -> SharedIndexInformer:
    return SharedIndexInformer(
        list_watch(storage, PREFIX), indexers={NAMESPACE_INDEX: meta_namespace_index_func}
    )


@contextmanager
def _running(inf: SharedIndexInformer) -> Iterator[Chan[None]]:
    """Run ``inf`` in a thread for the ``with`` block (which gets its stop channel); stop it
    and join the thread at the block's end."""
    stop: Chan[None] = Chan()
    t = threading.Thread(target=inf.run, args=(stop,))
    t.start()
    try:
        yield stop
    finally:
        stop.close()
        t.join()


def sync_seconds(n: int) -> float:
    """Seconds from run() until synced for ``n`` stored objects (a counting handler attached)."""
    storage = MemoryStorage(history_limit=None)
    for i in range(n):
        storage.create(f"{PREFIX}ns-{i % 10}/pod-{i}", _pod(i))
    return run_to_sync_seconds(_informer(storage))


def run_to_sync_seconds(inf: SharedIndexInformer, timeout: float | None = None) -> float:
    """Seconds from ``inf``'s run() until it and a handler attached first have synced; the
    informer is stopped before this returns. (``bench/compare_kube.py`` times it over HTTP.)"""
    reg = inf.add_event_handler(ResourceEventHandlerFuncs(on_add=lambda o: None))
    t0 = time.perf_counter()
    with _running(inf) as stop:
        wait_for_cache_sync(stop, inf.synced(), reg.synced(), timeout=timeout)
        return time.perf_counter() - t0


def events_per_s(n: int) -> float:
    """Change events per second from ``n`` storage updates to a handler."""
    # No history limit: if the informer fell behind a compaction it would relist and merge the
    # missed updates (correctly), and fewer than ``n`` notifications would arrive.
    storage = MemoryStorage(history_limit=None)
    objs = [storage.create(f"{PREFIX}ns-{i % 10}/pod-{i}", _pod(i)) for i in range(100)]
    return n / updates_seconds(
        storage, _informer(storage), objs, n, lambda k: f"{PREFIX}ns-{k % 10}/pod-{k}"
    )


def updates_seconds(
    storage: MemoryStorage,
    inf: SharedIndexInformer,
    objs: list[dict[str, Any]],
    n: int,
    key: Callable[[int], str],
    *,
    sync_timeout: float | None = None,
    seen_timeout: float = 120,
) -> float:
    """Run ``inf`` over ``storage`` until synced, then time ``n`` updates of the stored
    objects ``objs`` (round robin; object ``k`` at ``key(k)``) until the n-th update has reached
    a handler; seconds. (``bench/compare_kube.py`` times the same through HTTP.)"""
    seen: Chan[None] = Chan()
    count = [0]

    def on_update(old: Any, new: Any) -> None:
        count[0] += 1
        if count[0] == n:
            seen.close()

    inf.add_event_handler(ResourceEventHandlerFuncs(on_update=on_update))
    m = len(objs)
    with _running(inf) as stop:
        wait_for_cache_sync(stop, inf.synced(), timeout=sync_timeout)
        t0 = time.perf_counter()
        for i in range(n):
            k = i % m
            obj = objs[k]
            obj["status"] = {"phase": "Running", "n": i}
            objs[k] = storage.update(key(k), obj)
        seen.recv_ok(timeout=seen_timeout)
        return time.perf_counter() - t0


def bytes_per_object(n: int) -> float:
    """tracemalloc growth of an informer's cache per object, for ``n`` objects."""
    storage = MemoryStorage(history_limit=None)
    for i in range(n):
        storage.create(f"{PREFIX}ns-{i % 10}/pod-{i}", _pod(i))
    inf = _informer(storage)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with _running(inf) as stop:
        wait_for_cache_sync(stop, inf.synced())
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return (after - before) / n


def _fresh(fn: Any, *args: Any) -> float:
    """Run a figure after a full collection, so the previous figure's garbage (a 100k-object
    cache only a cyclic collection frees) is not scanned during this one's timed part."""
    gc.collect()
    return float(fn(*args))


def figures() -> dict[str, float]:
    """The informer figures, medians of 3 runs where cheap."""
    return {
        "sync_100k_seconds": _fresh(sync_seconds, 100_000),
        "events_per_s": statistics.median(_fresh(events_per_s, 20_000) for _ in range(3)),
        "bytes_per_cached_object": _fresh(bytes_per_object, 20_000),
    }


if __name__ == "__main__":
    for k, v in figures().items():
        print(f"{k}: {v:,.1f}")

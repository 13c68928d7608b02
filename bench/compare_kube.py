"""The informer through HTTP (``python -m bench --only kube``): a SharedIndexInformer fed by
``KubeListWatch`` (the official client's transport) from the embedded ``APIServer``, against
the same informer fed in-process by ``list_watch`` on the same MemoryStorage (the anchor).

Ratios below 1.0 are the cost of the wire: JSON encoding and decoding, HTTP, and the server's
threads, all on the one interpreter (and GIL) the informer runs on.

* sync of 10k objects: ``run()`` to ``synced()``; over HTTP once with the watch-list mode (one
  watch streaming 10k ``ADDED`` events) and once with list+watch (one 10k list; a list at
  resourceVersion "0" is served whole, as from kube-apiserver's cache);
* events/s: 5k updates written to the storage, to the handler's last notification.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench._harness import Comparison
from goprims.cache import ResourceEventHandlerFuncs, SharedIndexInformer, wait_for_cache_sync
from goprims.chan import Chan
from goprims.storage import MemoryStorage, list_watch

PREFIX = "/registry/pods/"


def _pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i}", "namespace": f"ns-{i % 10}", "labels": {"app": "web"}},
        "spec": {"nodeName": "", "containers": [{"name": "c", "image": "nginx:1.27"}]},
        "status": {"phase": "Pending"},
    }


def _key(i: int) -> str:
    return f"{PREFIX}ns-{i % 10}/pod-{i}"


@contextmanager
def _lister_watcher(storage: MemoryStorage, path: str) -> Iterator[Any]:
    """``path``: "direct" (list_watch), "watch-list" or "list" (KubeListWatch over HTTP)."""
    if path == "direct":
        yield list_watch(storage, PREFIX)
        return
    from kubernetes import config

    from goprims.kube import APIServer, KubeListWatch

    with APIServer(storage, ["v1/pods"], watch_list=path == "watch-list") as srv:
        client = config.new_client_from_config(srv.kubeconfig())
        try:
            yield KubeListWatch(client, "v1/pods")
        finally:
            client.close()


def sync_seconds(n: int, path: str) -> float:
    """Seconds from run() until synced for ``n`` stored objects, a counting handler attached."""
    storage = MemoryStorage(history_limit=None)
    for i in range(n):
        storage.create(_key(i), _pod(i))
    with _lister_watcher(storage, path) as lw:
        inf = SharedIndexInformer(lw)
        reg = inf.add_event_handler(ResourceEventHandlerFuncs(on_add=lambda o: None))
        stop: Chan[None] = Chan()
        t0 = time.perf_counter()
        t = threading.Thread(target=inf.run, args=(stop,))
        t.start()
        try:
            wait_for_cache_sync(stop, inf.synced(), reg.synced(), timeout=300)
            assert len(inf.get_store().list()) == n
            return time.perf_counter() - t0
        finally:
            stop.close()
            t.join()


def events_seconds(n: int, path: str) -> float:
    """Seconds for ``n`` storage updates to reach a handler."""
    storage = MemoryStorage(history_limit=None)
    objs = [storage.create(_key(i), _pod(i)) for i in range(100)]
    with _lister_watcher(storage, path) as lw:
        inf = SharedIndexInformer(lw)
        seen: Chan[None] = Chan()
        count = [0]

        def on_update(old: Any, new: Any) -> None:
            count[0] += 1
            if count[0] == n:
                seen.close()

        inf.add_event_handler(ResourceEventHandlerFuncs(on_update=on_update))
        stop: Chan[None] = Chan()
        t = threading.Thread(target=inf.run, args=(stop,))
        t.start()
        try:
            wait_for_cache_sync(stop, inf.synced(), timeout=60)
            t0 = time.perf_counter()
            for i in range(n):
                k = i % 100
                obj = objs[k]
                obj["status"] = {"phase": "Running", "n": i}
                objs[k] = storage.update(_key(k), obj)
            seen.recv_ok(timeout=300)
            return time.perf_counter() - t0
        finally:
            stop.close()
            t.join()


def comparisons() -> list[Comparison]:
    """Three rows: HTTP informer vs in-process informer, on the same storage contents."""
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        return []
    sync_n, events_n = 10_000, 5_000
    direct = "in-process list_watch"
    return [
        Comparison(
            "kube",
            "informer sync 10k objects, HTTP watch-list",
            direct,
            lambda: sync_seconds(sync_n, "watch-list"),
            lambda: sync_seconds(sync_n, "direct"),
            items=sync_n,
        ),
        Comparison(
            "kube",
            "informer sync 10k objects, HTTP list+watch",
            direct,
            lambda: sync_seconds(sync_n, "list"),
            lambda: sync_seconds(sync_n, "direct"),
            items=sync_n,
        ),
        Comparison(
            "kube",
            "informer events 5k updates, HTTP watch",
            direct,
            lambda: events_seconds(events_n, "watch-list"),
            lambda: events_seconds(events_n, "direct"),
            items=events_n,
        ),
    ]

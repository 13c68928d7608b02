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

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench._harness import Comparison
from bench.compare_informers import run_to_sync_seconds, updates_seconds
from goprims.cache import SharedIndexInformer
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
        seconds = run_to_sync_seconds(inf, timeout=300)
        assert len(inf.get_store().list()) == n
        return seconds


def events_seconds(n: int, path: str) -> float:
    """Seconds for ``n`` storage updates to reach a handler."""
    storage = MemoryStorage(history_limit=None)
    objs = [storage.create(_key(i), _pod(i)) for i in range(100)]
    with _lister_watcher(storage, path) as lw:
        return updates_seconds(
            storage, SharedIndexInformer(lw), objs, n, _key, sync_timeout=60, seen_timeout=300
        )


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

"""A ReplicaSet-style controller built from goprims: ``python examples/replicaset.py``.

The Kubernetes ReplicaSet controller in about 300 lines, against a ``MemoryStorage``:

* ReplicaSets (``/replicasets/<ns>/<name>``) hold ``spec.replicas`` and a label selector;
  their pods (``/pods/<ns>/<name>``) carry the labels and an owner reference.
* Two informers (ReplicaSets, pods) feed a rate-limited work queue of ReplicaSet keys; a few
  workers on a :class:`goprims.Pool` run :meth:`ReplicaSetController.sync`.
* A sync claims the pods of its namespace with a :class:`~goprims.controller.RefManager`
  (adopting matching orphans, releasing pods whose labels changed), then, only if its
  :class:`~goprims.controller.UIDTrackingExpectations` are satisfied, creates the missing pods
  through :func:`~goprims.controller.slow_start_batch` or deletes the extra ones.
* The pod handlers count the creations and deletions down, so a sync never acts on a cache that
  has not yet seen the controller's own writes: no pod is created twice.
* A :class:`FaultInjector` makes some creates fail (as a quota or a webhook would).

This module is an example: it is not part of the ``goprims`` package.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from goprims import Chan, Pool, select
from goprims.cache import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    ResourceEventHandlerFuncs,
    SharedIndexInformer,
    meta_namespace_index_func,
    meta_namespace_key_func,
    split_meta_namespace_key,
    wait_for_cache_sync,
)
from goprims.chan import Recv, Send
from goprims.controller import (
    RefManager,
    UIDTrackingExpectations,
    controller_of,
    owner_reference,
    slow_start_batch,
)
from goprims.storage import MemoryStorage, NotFound, list_watch
from goprims.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue

RS_PREFIX = "/replicasets/"
POD_PREFIX = "/pods/"
KIND = "ReplicaSet"
API_VERSION = "apps/v1"


# ----------------------------------------------------------------------------- objects


def replica_set(namespace: str, name: str, replicas: int, app: str) -> dict[str, Any]:
    """A ReplicaSet object selecting ``app=<app>``."""
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4())},
        "spec": {
            "replicas": replicas,
            "selector": {"app": app},
            "template": {"metadata": {"labels": {"app": app}}},
        },
    }


def create_replica_set(storage: MemoryStorage, rs: dict[str, Any]) -> dict[str, Any]:
    """Store ``rs`` under its key."""
    stored: dict[str, Any] = storage.create(RS_PREFIX + meta_namespace_key_func(rs), rs)
    return stored


def scale(storage: MemoryStorage, key: str, replicas: int) -> None:
    """Set ``spec.replicas`` of the ReplicaSet ``key`` (``namespace/name``)."""

    def set_replicas(rs: dict[str, Any]) -> dict[str, Any]:
        rs["spec"]["replicas"] = replicas
        return rs

    storage.guaranteed_update(RS_PREFIX + key, set_replicas)


def selects(rs: dict[str, Any], pod: dict[str, Any]) -> bool:
    """True if ``rs``'s selector matches ``pod``'s labels (same namespace)."""
    if pod["metadata"].get("namespace") != rs["metadata"].get("namespace"):
        return False
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in rs["spec"]["selector"].items())


def owned_pods(storage: MemoryStorage) -> dict[str, list[str]]:
    """The source of truth: ``rs uid -> names of the pods it controls`` (storage, not cache)."""
    out: dict[str, list[str]] = {}
    for pod in storage.list(POD_PREFIX).items:
        ref = controller_of(pod)
        if ref is not None:
            out.setdefault(ref["uid"], []).append(pod["metadata"]["name"])
    return out


# ------------------------------------------------------------------------- fault injection


class CreateFailed(RuntimeError):
    """An injected create failure (a quota, a webhook, a timeout)."""


class FaultInjector:
    """Fails a fraction of the creates, from a seeded random generator (thread-safe), and
    makes each create take ``latency`` seconds (an API round trip)."""

    def __init__(self, seed: int, create_failure_rate: float = 0.0, latency: float = 0.0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.create_failure_rate = create_failure_rate
        self.latency = latency
        self.failed_creates = 0

    def before_create(self, key: str) -> None:
        """Raise :class:`CreateFailed` for a share ``create_failure_rate`` of the calls."""
        with self._lock:
            fail = self._rng.random() < self.create_failure_rate
            if fail:
                self.failed_creates += 1
        if self.latency:
            time.sleep(self.latency)
        if fail:
            raise CreateFailed(f"injected failure creating {key}")


class AlreadyOwned(RuntimeError):
    """An adoption lost the race: another controller owns the pod now."""


# ------------------------------------------------------------------------------ controller


class ReplicaSetController:
    """Keeps ``spec.replicas`` pods per ReplicaSet, as the Kubernetes ReplicaSet controller does.

    ``start()`` runs the informers and ``workers`` sync workers; ``stop()`` (or leaving a
    ``with`` block) shuts everything down and joins the threads. ``burst_replicas`` caps the
    creations or deletions of one sync (upstream: 500).
    """

    def __init__(
        self,
        storage: MemoryStorage,
        *,
        workers: int = 2,
        burst_replicas: int = 500,
        faults: FaultInjector | None = None,
    ) -> None:
        self.storage = storage
        self.faults = faults or FaultInjector(0)
        self.burst_replicas = burst_replicas
        self.expectations = UIDTrackingExpectations()
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(
            ItemExponentialFailureRateLimiter(0.005, 1.0), name="replicasets"
        )
        self.rs_informer = SharedIndexInformer(list_watch(storage, RS_PREFIX))
        self.pod_informer = SharedIndexInformer(
            list_watch(storage, POD_PREFIX), indexers={NAMESPACE_INDEX: meta_namespace_index_func}
        )
        self._workers = workers
        self._pool = Pool(workers + 2, name="replicaset")
        self._stop: Chan[None] = Chan()
        self._synced: Chan[None] = Chan(1)  # a sync finished (coalesced, never blocks)
        self._names = itertools.count()
        self._lock = threading.Lock()
        self.syncs = 0  # guarded by _lock
        self.busy = 0  # syncs in progress, guarded by _lock
        self.creates = 0  # successful creates, guarded by _lock
        self.deletes = 0  # guarded by _lock

    # -------------------------------------------------------------- life cycle

    def start(self, timeout: float = 10.0) -> None:
        """Start the informers, wait for their caches, start the workers."""
        self.rs_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                on_add=self._enqueue_rs,
                on_update=lambda old, new: self._enqueue_rs(new),
                on_delete=self._enqueue_rs,
            )
        )
        self.pod_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
            )
        )
        for informer in (self.rs_informer, self.pod_informer):
            self._pool.go(informer.run, self._stop)
        wait_for_cache_sync(
            self._stop, self.rs_informer.synced(), self.pod_informer.synced(), timeout=timeout
        )
        for _ in range(self._workers):
            self._pool.go(self._worker)

    def stop(self) -> None:
        """Stop the workers (after their current sync) and the informers; join every thread."""
        self.queue.shut_down()
        self._stop.close()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ReplicaSetController:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- handlers

    def _enqueue_rs(self, rs: Any) -> None:
        if isinstance(rs, DeletedFinalStateUnknown):
            self.queue.add(rs.key)
        else:
            self.queue.add(meta_namespace_key_func(rs))

    def _owner_key(self, pod: dict[str, Any]) -> str | None:
        """The key of the cached ReplicaSet controlling ``pod`` (None for an orphan, or when
        the reference names a ReplicaSet that no longer exists under that uid)."""
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != KIND:
            return None
        key = f"{pod['metadata']['namespace']}/{ref['name']}"
        rs, exists = self.rs_informer.get_indexer().get_by_key(key)
        if not exists or rs["metadata"]["uid"] != ref["uid"]:
            return None
        return key

    def _enqueue_matching(self, pod: dict[str, Any]) -> None:
        """An orphan: wake every ReplicaSet that could adopt it."""
        for rs in self.rs_informer.get_indexer().list():
            if selects(rs, pod):
                self.queue.add(meta_namespace_key_func(rs))

    def _pod_added(self, pod: dict[str, Any]) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)
        elif controller_of(pod) is None:
            self._enqueue_matching(pod)

    def _pod_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for key in (self._owner_key(old), self._owner_key(new)):
            if key is not None:
                self.queue.add(key)  # merged if both are the same
        if controller_of(new) is None:
            self._enqueue_matching(new)

    def _pod_deleted(self, obj: Any) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if pod is None:
            return
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, meta_namespace_key_func(pod))
            self.queue.add(key)

    # ------------------------------------------------------------------ workers

    def _worker(self) -> None:
        while True:
            key, shutdown = self.queue.get()
            if shutdown:
                return
            assert key is not None  # None only on shutdown
            with self._lock:
                self.busy += 1
            try:
                self.sync(key)
                self.queue.forget(key)
            except Exception:
                self.queue.add_rate_limited(key)  # adoption races, failed creates: retry
            finally:
                with self._lock:
                    self.busy -= 1
                self.queue.done(key)
                select(Send(self._synced, None), default=True)  # tell wait_converged

    # --------------------------------------------------------------------- sync

    def sync(self, key: str) -> None:
        """Bring the pods of the ReplicaSet ``key`` to ``spec.replicas``."""
        with self._lock:
            self.syncs += 1
        rs, exists = self.rs_informer.get_indexer().get_by_key(key)
        if not exists:
            self.expectations.delete(key)
            return
        namespace, _ = split_meta_namespace_key(key)
        candidates = self.pod_informer.get_indexer().by_index(NAMESPACE_INDEX, namespace)
        manager = RefManager(
            rs,
            lambda pod: selects(rs, pod),
            lambda pod: self._adopt(rs, pod),
            lambda pod: self._release(rs, pod),
            can_adopt=lambda: self._still_exists(rs),
        )
        claimed, errors = manager.claim(candidates)
        active = [p for p in claimed if p["metadata"].get("deletionTimestamp") is None]
        if self.expectations.satisfied(key):
            self._manage_replicas(key, rs, active)
        if errors:
            raise errors[0]

    def _manage_replicas(self, key: str, rs: dict[str, Any], active: list[dict[str, Any]]) -> None:
        diff = len(active) - rs["spec"]["replicas"]
        if diff < 0:
            n = min(-diff, self.burst_replicas)
            # Expect the creations BEFORE issuing them: an informer may see a pod before
            # slow_start_batch returns.
            self.expectations.expect_creations(key, n)
            successes, err = slow_start_batch(n, 1, lambda: self._create_pod(key, rs), pool=None)
            with self._lock:
                self.creates += successes
            # Failed and skipped creates produce no event: observe them here.
            for _ in range(n - successes):
                self.expectations.creation_observed(key)
            if err is not None:
                raise err
        elif diff > 0:
            n = min(diff, self.burst_replicas)
            # Newest first (upstream ranks by readiness and age; all pods are alike here).
            doomed = sorted(active, key=lambda p: int(p["metadata"]["resourceVersion"]))[-n:]
            doomed_keys = [meta_namespace_key_func(p) for p in doomed]
            self.expectations.expect_deletions(key, doomed_keys)
            for pod_key in doomed_keys:
                try:
                    self.storage.delete(POD_PREFIX + pod_key)
                    with self._lock:
                        self.deletes += 1
                except NotFound:
                    self.expectations.deletion_observed(key, pod_key)

    def _create_pod(self, key: str, rs: dict[str, Any]) -> None:
        self.faults.before_create(key)
        meta = rs["metadata"]
        name = f"{meta['name']}-{next(self._names):05d}"
        pod = {
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "labels": dict(rs["spec"]["template"]["metadata"]["labels"]),
                "ownerReferences": [owner_reference(rs, kind=KIND, api_version=API_VERSION)],
            }
        }
        self.storage.create(f"{POD_PREFIX}{meta['namespace']}/{name}", pod)

    def _adopt(self, rs: dict[str, Any], pod: dict[str, Any]) -> None:
        ref = owner_reference(rs, kind=KIND, api_version=API_VERSION)

        def add_ref(current: dict[str, Any]) -> dict[str, Any]:
            owner = controller_of(current)
            if owner is not None:
                if owner["uid"] == ref["uid"]:
                    return current
                raise AlreadyOwned(f"{current['metadata']['name']} is owned by {owner['name']}")
            current["metadata"].setdefault("ownerReferences", []).append(ref)
            return current

        self.storage.guaranteed_update(POD_PREFIX + meta_namespace_key_func(pod), add_ref)

    def _release(self, rs: dict[str, Any], pod: dict[str, Any]) -> None:
        uid = rs["metadata"]["uid"]

        def drop_ref(current: dict[str, Any]) -> dict[str, Any]:
            refs = current["metadata"].get("ownerReferences") or []
            current["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
            return current

        self.storage.guaranteed_update(POD_PREFIX + meta_namespace_key_func(pod), drop_ref)

    def _still_exists(self, rs: dict[str, Any]) -> bool:
        """can_adopt: re-read the ReplicaSet from storage (not the cache) before adopting."""
        try:
            fresh = self.storage.get(RS_PREFIX + meta_namespace_key_func(rs))
        except NotFound:
            return False
        same = fresh["metadata"]["uid"] == rs["metadata"]["uid"]
        return bool(same and fresh["metadata"].get("deletionTimestamp") is None)

    # -------------------------------------------------------------- convergence

    def converged(self) -> bool:
        """True when no sync is running or queued and, in storage, every ReplicaSet controls
        exactly ``spec.replicas`` pods and no orphan matches a ReplicaSet."""
        with self._lock:
            if self.busy or len(self.queue):
                return False
        sets = self.storage.list(RS_PREFIX).items
        owned = owned_pods(self.storage)
        pods = self.storage.list(POD_PREFIX).items
        for rs in sets:
            if len(owned.get(rs["metadata"]["uid"], ())) != rs["spec"]["replicas"]:
                return False
            if any(controller_of(p) is None and selects(rs, p) for p in pods):
                return False
        return True

    def wait_converged(self, timeout: float) -> bool:
        """Wait until :meth:`converged`, re-checking after each sync (no polling); False after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.converged():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select(Recv(self._synced), timeout=left)
        return True


def run_demo(seed: int = 1, failure_rate: float = 0.3) -> None:
    """Three ReplicaSets converge while 30% of the creates fail; then one scales down."""
    storage = MemoryStorage()
    faults = FaultInjector(seed, failure_rate)
    sets = [
        replica_set("default", f"web-{i}", replicas, "web-" + str(i))
        for i, replicas in enumerate((3, 10, 25))
    ]
    for rs in sets:
        create_replica_set(storage, rs)
    with ReplicaSetController(storage, faults=faults) as ctl:
        assert ctl.wait_converged(30)
        print(
            f"converged: {ctl.creates} pods created, {faults.failed_creates} creates failed, "
            f"{ctl.syncs} syncs"
        )
        scale(storage, "default/web-2", 5)
        assert ctl.wait_converged(30)
        print(f"scaled web-2 to 5: {ctl.deletes} pods deleted, {ctl.syncs} syncs")
    print(
        {
            rs["metadata"]["name"]: len(owned_pods(storage).get(rs["metadata"]["uid"], []))
            for rs in sets
        }
    )


def pods_per_owner(storage: MemoryStorage, sets: Iterable[dict[str, Any]]) -> dict[str, int]:
    """``rs name -> number of pods it controls`` (from storage)."""
    owned = owned_pods(storage)
    return {rs["metadata"]["name"]: len(owned.get(rs["metadata"]["uid"], [])) for rs in sets}


if __name__ == "__main__":
    run_demo()

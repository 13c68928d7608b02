"""goprims.controller against what one would write by hand (``python -m bench --only controller``).

* ``Expectations.creation_observed`` from 8 threads (an informer's handlers observing creates of
  64 controllers), against a ``dict`` of counters under one ``threading.Lock`` (the floor: no
  records, no time stamps, no deletions).
* ``RefManager.claim`` of 10k objects (a quarter each: ours and matching, orphans to adopt,
  another owner's, orphans that do not match), against the same branches written inline in a
  loop.
* ``RateLimitedTimedQueue``: add 20k values, then ``try_process`` them all (unlimited rate),
  against a ``heapq`` of ``(time, seq, value)`` plus a set under a ``threading.Lock``.

Each workload builds its objects and threads first and times only the measured part.
``bench/test_controller.py`` runs the same workloads, smaller.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from bench._harness import Comparison
from goprims.clock import FakeClock
from goprims.controller import (
    Expectations,
    RateLimitedTimedQueue,
    RefManager,
    TimedValue,
    owner_reference,
)

_perf = time.perf_counter
KEYS = [f"default/rs-{i}" for i in range(64)]


# ------------------------------------------------------------- expectations, 8 observer threads


def _observers(threads: int, per_thread: int, observe: Callable[[str], None]) -> float:
    start = threading.Barrier(threads + 1)

    def body(offset: int) -> None:
        keys = KEYS
        n = len(keys)
        start.wait()
        for i in range(per_thread):
            observe(keys[(i + offset) % n])

    workers = [threading.Thread(target=body, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    t0 = _perf()
    for w in workers:
        w.join()
    return _perf() - t0


def goprims_observe(n: int = 200_000, threads: int = 8) -> float:
    """``n`` ``creation_observed`` calls spread over 8 threads and 64 keys."""
    exp = Expectations(clock=FakeClock())
    for k in KEYS:
        exp.expect_creations(k, n)
    elapsed = _observers(threads, n // threads, exp.creation_observed)
    assert sum(exp.get(k)[0] for k in KEYS) == len(KEYS) * n - (n // threads) * threads
    return elapsed


def naive_observe(n: int = 200_000, threads: int = 8) -> float:
    """The same decrements on a dict of ints under one lock."""
    lock = threading.Lock()
    counts = dict.fromkeys(KEYS, n)

    def observe(key: str) -> None:
        with lock:
            if key in counts:
                counts[key] -= 1

    elapsed = _observers(threads, n // threads, observe)
    assert sum(counts.values()) == len(KEYS) * n - (n // threads) * threads
    return elapsed


# --------------------------------------------------------------------------- claim, 10k objects

_OWNER = {"metadata": {"name": "web", "namespace": "default", "uid": "uid-web"}}
_OTHER = {"metadata": {"name": "db", "namespace": "default", "uid": "uid-db"}}


def _objects(n: int) -> list[dict[str, Any]]:
    ours = owner_reference(_OWNER, kind="ReplicaSet", api_version="apps/v1")
    theirs = owner_reference(_OTHER, kind="ReplicaSet", api_version="apps/v1")
    out = []
    for i in range(n):
        kind = i % 4
        labels = {"app": "web" if kind != 3 else "db"}
        meta: dict[str, Any] = {"name": f"p{i}", "namespace": "default", "labels": labels}
        if kind == 0:
            meta["ownerReferences"] = [ours]
        elif kind == 2:
            meta["ownerReferences"] = [theirs]
        out.append({"metadata": meta})
    return out


def _matches(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"]["labels"].get("app") == "web")


def _noop(obj: dict[str, Any]) -> None:
    pass


def goprims_claim(n: int = 10_000) -> float:
    """``RefManager.claim`` of ``n`` objects (adopt and release do no write)."""
    objs = _objects(n)
    t0 = _perf()
    claimed, errors = RefManager(_OWNER, _matches, _noop, _noop, can_adopt=lambda: True).claim(objs)
    elapsed = _perf() - t0
    assert len(claimed) == n // 2
    assert not errors
    return elapsed


def naive_claim(n: int = 10_000) -> float:
    """claimObject's branches inline in a loop (no can_adopt once, no NotFound handling)."""
    objs = _objects(n)
    uid = _OWNER["metadata"]["uid"]
    t0 = _perf()
    claimed = []
    for obj in objs:
        meta = obj["metadata"]
        ref = None
        for r in meta.get("ownerReferences") or ():
            if r.get("controller") is True:
                ref = r
                break
        if ref is not None:
            if ref["uid"] != uid:
                continue
            if _matches(obj):
                claimed.append(obj)
            else:
                _noop(obj)
            continue
        if not _matches(obj) or meta.get("deletionTimestamp") is not None:
            continue
        _noop(obj)
        claimed.append(obj)
    elapsed = _perf() - t0
    assert len(claimed) == n // 2
    return elapsed


# ------------------------------------------------------------------- timed queue, add + process


def goprims_timed_queue(n: int = 20_000) -> float:
    """Add ``n`` values to a ``RateLimitedTimedQueue`` (qps=inf), then process them all."""
    clock = FakeClock()
    q: RateLimitedTimedQueue[int] = RateLimitedTimedQueue(math.inf, clock=clock)
    seen = 0

    def fn(tv: TimedValue) -> tuple[bool, float]:
        nonlocal seen
        seen += 1
        return True, 0.0

    t0 = _perf()
    add = q.add
    for i in range(n):
        add(i)
    q.try_process(fn)
    elapsed = _perf() - t0
    assert seen == n
    return elapsed


def naive_timed_queue(n: int = 20_000) -> float:
    """A heap of ``(process_at, seq, value)`` and a set under one lock: add, then pop and call
    ``fn`` for every due head (no rate limit, no retry, no processed-until-removed)."""
    clock = FakeClock()
    lock = threading.Lock()
    heap: list[tuple[float, int, int]] = []
    present: set[int] = set()
    seq = itertools.count()
    seen = 0

    def fn(value: int) -> tuple[bool, float]:
        nonlocal seen
        seen += 1
        return True, 0.0

    t0 = _perf()
    for i in range(n):
        with lock:
            if i in present:
                continue
            present.add(i)
            heapq.heappush(heap, (clock.now(), next(seq), i))
    now = clock.now()
    while True:
        with lock:
            if not heap or heap[0][0] > now:
                break
            _, _, value = heapq.heappop(heap)
        fn(value)
    elapsed = _perf() - t0
    assert seen == n
    return elapsed


def comparisons() -> list[Comparison]:
    """The controller rows of ``python -m bench``."""
    return [
        Comparison(
            "controller",
            "Expectations.creation_observed 200k, 8 threads, 64 keys",
            "dict + Lock counter",
            goprims_observe,
            naive_observe,
            items=200_000,
        ),
        Comparison(
            "controller",
            "RefManager.claim of 10k objects (all four kinds)",
            "claimObject branches inline",
            goprims_claim,
            naive_claim,
            items=10_000,
        ),
        Comparison(
            "controller",
            "RateLimitedTimedQueue add 20k + try_process all (qps=inf)",
            "heapq + set + Lock",
            goprims_timed_queue,
            naive_timed_queue,
            items=20_000,
        ),
    ]

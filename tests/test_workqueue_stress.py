"""Stress: 4 worker threads, 100k adds; every item processed, never by two workers at once."""

from __future__ import annotations

import hashlib
import threading

import pytest

from goprims.workqueue import Queue

ADDS = 100_000
WORKERS = 4
PAYLOAD = bytes(4096)


# 16 hot keys: most adds land while the key is queued or being processed (merges, re-queues by
# done, and the chance to catch a second holder); 100k keys: every add is a distinct item.
@pytest.mark.parametrize("keys", [16, ADDS])
def test_four_workers_process_every_add_and_never_one_item_twice_at_once(keys: int) -> None:
    q: Queue[int] = Queue()
    lock = threading.Lock()
    # Guarded by lock: the version each key was last added with (bumped before the add), and
    # the highest version a worker saw when it started processing the key.
    version = [0] * keys
    seen = [0] * keys
    in_flight: set[int] = set()
    violations: list[int] = []
    processed = [0] * WORKERS

    def worker(w: int) -> None:
        while True:
            key, shutdown = q.get()
            if shutdown:
                return
            assert key is not None  # not shut down: an item
            with lock:
                if key in in_flight:
                    violations.append(key)
                in_flight.add(key)
                seen[key] = max(seen[key], version[key])
            processed[w] += 1
            # Work that releases the GIL (hashlib does above 2 KiB), so that adds and other
            # workers really run while this key is held.
            hashlib.sha256(PAYLOAD).digest()
            with lock:
                in_flight.discard(key)
            q.done(key)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for i in range(ADDS):
        key = (i * 7919) % keys
        with lock:
            version[key] += 1
        q.add(key)
    q.shut_down_with_drain(timeout=60)
    for t in threads:
        t.join()

    assert violations == []
    # Every add was followed by a processing that started after it.
    assert seen == version
    assert len(q) == 0
    assert not q._processing
    assert not q._dirty
    assert keys <= sum(processed) <= ADDS
    if keys == ADDS:
        assert sum(processed) == ADDS  # distinct items: each processed exactly once
    assert all(processed), "some worker never got an item"

"""goprims.konfig readers against the obvious alternative: a config ``dict`` guarded by a
``threading.Lock``.

1M ``Konfig.get("log", "level")`` calls from 8 threads (125k each, released together by a
barrier) against 1M ``with lock: (d["log"]["level"], rev)`` reads of an equivalent nested dict.
``get`` takes no lock (it reads the current copy-on-write snapshot), so readers never wait for
one another or for a writer; the ratio shows what that costs or saves per read on CPython.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bench._harness import Comparison
from goprims.konfig import Konfig
from goprims.storage import MemoryStorage

N_THREADS = 8
PER_THREAD = 125_000
DATA = {"log": {"level": 3, "stderr": True}, "workers": "8"}


def _threaded(body: Callable[[], None]) -> float:
    barrier = threading.Barrier(N_THREADS + 1)

    def run() -> None:
        barrier.wait()
        body()

    threads = [threading.Thread(target=run) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def konfig_get() -> float:
    storage = MemoryStorage()
    with Konfig(storage, "configmaps/default/app") as k:
        rv = k.set(DATA)
        ch = k.subscribe()
        while k.revision() != rv:  # applied (the subscription wakes us; no polling)
            ch.recv(timeout=10)

        def body() -> None:
            get = k.get
            for _ in range(PER_THREAD):
                get("log", "level")

        return _threaded(body)


def locked_dict_get() -> float:
    d: dict[str, Any] = {"log": {"level": 3, "stderr": True}, "workers": "8"}
    rev = 2
    lock = threading.Lock()

    def body() -> None:
        for _ in range(PER_THREAD):
            with lock:
                (d["log"]["level"], rev)

    return _threaded(body)


def comparisons() -> list[Comparison]:
    """The konfig rows of ``python -m bench``."""
    return [
        Comparison(
            area="konfig",
            name=f"get('log', 'level') x{N_THREADS * PER_THREAD // 1_000_000}M, 8 threads",
            anchor="Lock-guarded nested dict read",
            subject=konfig_get,
            baseline=locked_dict_get,
            items=N_THREADS * PER_THREAD,
        )
    ]

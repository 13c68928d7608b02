"""Pool under load: exact execution counts with many submitters, and no thread left behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

from pool_support import (
    Pools,
    Spawner,
    join_all,
    pools_fixture,
    spawn_fixture,
    worker_threads,
)

__all__ = ["pools_fixture", "spawn_fixture"]


def test_100k_tasks_from_8_submitters_each_run_exactly_once(pools: Pools, spawn: Spawner) -> None:
    n_threads, per_thread = 8, 12_500
    panics: list[BaseException] = []  # a failing go() task would show up here
    # Bounded (submitters block) with a short expiry (workers churn).
    p = pools(6, expiry=0.05, panic_handler=panics.append)
    counts = bytearray(n_threads * per_thread)

    def bump(i: int) -> None:
        counts[i] += 1

    def submitter(k: int) -> int:
        base = k * per_thread
        futures = []
        for j in range(per_thread):
            if j % 2:
                p.go(bump, base + j)
            else:
                futures.append(p.submit(bump, base + j))
        for f in futures:
            f.result(30)
        return len(futures)

    submitted = [spawn(submitter, k) for k in range(n_threads)]
    assert sum(f.result(60) for f in submitted) == n_threads * per_thread // 2
    threads = worker_threads(p)
    p.release(timeout=30)  # every go() task has finished too
    assert panics == []
    assert counts.count(1) == len(counts)  # each task ran once: none lost, none twice
    assert p.running == 0
    assert p.idle == 0
    assert p.waiting == 0
    assert not any(t.is_alive() for t in threads)
    assert not worker_threads(p)


def test_no_thread_of_a_pool_survives_release_after_mixed_work(pools: Pools) -> None:
    transient = ("goprims-go", "goprims-timer")  # they end on their own: let them end first
    join_all([t for t in threading.enumerate() if t.name.startswith(transient)])
    before = threading.active_count()
    p = pools(expiry=5)
    gates = [threading.Event() for _ in range(10)]
    fs = [p.submit(g.wait, 5) for g in gates]
    for g in gates:
        g.set()
    for f in fs:
        assert f.result(5)
    p.tune(3)
    assert threading.active_count() > before
    p.release(5)
    assert threading.active_count() == before


def test_pools_keep_working_in_a_forked_child() -> None:
    script = textwrap.dedent(
        """
        import os, sys, threading
        import goprims.pool as gp
        from goprims.pool import Pool

        p = Pool(2, expiry=5)
        assert p.submit(pow, 2, 2).result(5) == 4          # a parked idle worker now exists
        assert gp.default_pool().submit(pow, 2, 3).result(5) == 8
        pid = os.fork()
        if pid == 0:
            try:
                assert p.idle == 0                             # the parent's worker is not here
                assert p.submit(pow, 3, 2).result(5) == 9      # a new worker is started
                assert gp.default_pool().submit(pow, 2, 5).result(5) == 32
                p.release(5)
            except BaseException:
                import traceback; traceback.print_exc()
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        p.release(5)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_cancel_racing_the_start_of_tasks_has_exactly_one_winner(
    pools: Pools, spawn: Spawner
) -> None:
    # A future either is cancelled (cancel() returned True, the task never ran) or ran (cancel()
    # returned False), also when cancel() is the first call to look at the future.
    p = pools(4)
    n = 20_000
    ran = bytearray(n)
    futures: list[Any] = [None] * n
    submitted = threading.Semaphore(0)

    def mark(i: int) -> None:
        ran[i] = 1

    def canceller() -> list[bool]:
        outcomes = []
        for i in range(n):
            submitted.acquire()
            outcomes.append(futures[i].cancel())
        return outcomes

    c = spawn(canceller)
    for i in range(n):
        futures[i] = p.submit(mark, i)
        submitted.release()
    outcomes = c.result(60)
    p.release(30)
    assert all(f.done() for f in futures)
    for i in range(n):
        assert outcomes[i] == futures[i].cancelled() == (not ran[i]), i
    assert 0 < sum(outcomes) < n  # both outcomes happened: the race was exercised

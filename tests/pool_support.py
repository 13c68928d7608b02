"""Helpers for the pool tests (no tests here). Import the ``*_fixture`` names to use them.

* :func:`pools` makes uniquely named pools (worker threads ``tp<n>-N``) and releases them after
  the test, so the thread-leak check sees none of their threads.
* :class:`Parked` learns, through an event rather than by polling, that a caller has parked in
  the pool: it substitutes the pool module's ``ThreadWaiter`` with a subclass that signals a
  semaphore just before a thread parks in ``submit``/``go``/``release`` (its waiter is queued
  at that point). Idle workers parking for work are not counted.
* :func:`spawn` runs a function in a thread of its own and joins it at the end of the test.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sync_support import thread_with_future

import goprims.pool as gp
from goprims._waiter import ThreadWaiter

WORKER_PREFIX = "tp"
_names = itertools.count()


class Pools:
    """A factory of test pools, all released at teardown."""

    def __init__(self) -> None:
        self.made: list[gp.Pool] = []

    def __call__(self, size: int = 0, **kw: Any) -> gp.Pool:
        kw.setdefault("name", f"{WORKER_PREFIX}{next(_names)}")
        p = gp.Pool(size, **kw)
        self.made.append(p)
        return p


@pytest.fixture(name="pools")
def pools_fixture() -> Iterator[Pools]:
    made = Pools()
    yield made
    for p in made.made:
        p.release(timeout=10)


def worker_threads(pool: gp.Pool) -> list[threading.Thread]:
    """The live threads of ``pool`` (named ``f"{pool.name}-N"``)."""
    prefix = pool.name + "-"
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def join_all(threads: list[threading.Thread], timeout: float = 5.0) -> None:
    for t in threads:
        t.join(timeout)
    assert not [t for t in threads if t.is_alive()], "threads did not end"


class Parked:
    """Counts callers that parked in a pool's submit/go (or release), in any thread."""

    def __init__(self) -> None:
        self._sem = threading.Semaphore(0)

    def signal(self) -> None:
        self._sem.release()

    def wait(self, n: int = 1, timeout: float = 5.0) -> None:
        """Return once ``n`` more callers have parked; fail after ``timeout`` seconds."""
        for _ in range(n):
            assert self._sem.acquire(timeout=timeout), "a caller did not park"


@pytest.fixture(name="parked")
def parked_fixture(monkeypatch: pytest.MonkeyPatch) -> Parked:
    p = Parked()

    class SignallingWaiter(ThreadWaiter):
        __slots__ = ()

        def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:
            # Callers withdraw with Pool._withdraw / _withdraw_release; idle workers with
            # Pool._withdraw_idle.
            if getattr(getattr(withdraw, "func", None), "__name__", "") != "_withdraw_idle":
                p.signal()
            return ThreadWaiter.wait(self, timeout, withdraw)

    monkeypatch.setattr(gp, "ThreadWaiter", SignallingWaiter)
    return p


class Spawner:
    """Start threads named ``caller-N``; each returns a Future of the function's outcome."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def __call__(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        t, fut = thread_with_future(fn, *args, name=f"caller-{len(self.threads)}")
        self.threads.append(t)
        t.start()
        return fut


@pytest.fixture(name="spawn")
def spawn_fixture() -> Iterator[Spawner]:
    s = Spawner()
    yield s
    join_all(s.threads, timeout=10)


class Gate:
    """A task body that reports it started and then waits until :meth:`open` is called."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self._open = threading.Event()

    def __call__(self, value: Any = None) -> Any:
        self.started.set()
        assert self._open.wait(10), "gate never opened"
        return value

    def open(self) -> None:
        self._open.set()


def held_pool(pools: Pools) -> tuple[gp.Pool, Gate]:
    """A ``Pool(1)`` whose only worker is busy on a :class:`Gate` (open it to free the worker)."""
    p = pools(1)
    g = Gate()
    p.submit(g)
    assert g.started.wait(5)
    return p, g


@contextmanager
def worker_held_after_its_task(pool: gp.Pool) -> Iterator[None]:
    """Inside the block, the pool's one worker is back on the idle stack yet cannot run.

    The worker settles a task's Future only after parking itself as idle, and a Future runs its
    done-callbacks in the thread that settles it: a callback that blocks keeps the worker there.
    Tasks accepted inside the block wake that worker (nobody else); it reaches them only once
    the block exits. Use on a pool with no worker yet.
    """
    g = Gate()
    entered, leave = threading.Event(), threading.Event()
    f = pool.submit(g)

    def hold(_: concurrent.futures.Future[Any]) -> None:
        entered.set()
        assert leave.wait(10), "worker held for too long"

    f.add_done_callback(hold)  # f is not done: the gate is closed
    g.open()
    assert entered.wait(5)
    assert pool.idle == 1
    try:
        yield
    finally:
        leave.set()

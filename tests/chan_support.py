"""Helpers shared by the channel tests (tests/test_chan_*.py).

Test modules import the helpers (after ``pytest.register_assert_rewrite("chan_support")``, so
that their asserts report like the tests' own) and declare ``pytest_plugins = ["chan_support"]``
to get the ``parked`` fixture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from goprims import chan
from goprims._waiter import ThreadWaiter
from goprims.chan import Chan


class Parked:
    """Counts thread parkings in goprims.chan (each ``ThreadWaiter.wait`` call); with
    ``thread_name``, only the parkings of the thread of that name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, thread_name: str | None = None) -> None:
        sem = self._sem = threading.Semaphore(0)

        class SpyWaiter(ThreadWaiter):
            __slots__ = ()

            def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:
                if thread_name is None or threading.current_thread().name == thread_name:
                    sem.release()
                return super().wait(timeout, withdraw)

        monkeypatch.setattr(chan, "ThreadWaiter", SpyWaiter)

    def wait(self, n: int = 1) -> None:
        for _ in range(n):
            assert self._sem.acquire(timeout=10), "no thread parked"


@pytest.fixture
def parked(monkeypatch: pytest.MonkeyPatch) -> Parked:
    return Parked(monkeypatch)


class Bg:
    """Run a call in a thread; keep its result or exception.

    ``done`` is set once the call has returned or raised; ``join()`` waits at most
    ``join_timeout`` seconds for the thread (a subclass may give more), then returns the result
    or raises the exception.
    """

    join_timeout: float = 10

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.result: Any = None
        self.exc: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.result = fn(*args, **kwargs)
            except BaseException as e:
                self.exc = e
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def join(self) -> Any:
        self.thread.join(self.join_timeout)
        assert not self.thread.is_alive()
        if self.exc is not None:
            raise self.exc
        return self.result


def produce(ch: Chan[int], n: int) -> None:
    """Send 0..n-1 on ``ch``, then close it."""
    for i in range(n):
        ch.send(i)
    ch.close()


async def collect(ch: Chan[int]) -> list[int]:
    return [v async for v in ch]


def no_entries(*chans: Chan[Any]) -> bool:
    """No sender or receiver is left queued on any of ``chans``."""
    return all(not c._recvq and not c._sendq for c in chans)

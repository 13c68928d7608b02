"""Helpers shared by the sync and context tests (no tests here).

* :func:`wait_until` waits for a state predicate (e.g. "3 callers are parked") to hold: the
  primitives expose no event for "a caller has parked", so the helper re-checks the predicate,
  yielding the GIL between checks, and fails loudly after a deadline. It never *replaces* a
  synchronisation: the tests use it only to reach a precise state before acting.
* :class:`AsyncioThread` / :class:`TrioThread` run an event loop in a thread of their own and
  accept coroutines from the test thread, so threads, asyncio and trio can share one object.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import trio

T = TypeVar("T")


def wait_until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Return once ``pred()`` is true; ``AssertionError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s: {what or pred}")
        time.sleep(0.0005)  # yield to the threads that make pred() true


def thread_with_future(
    fn: Callable[..., Any], *args: Any, name: str
) -> tuple[threading.Thread, concurrent.futures.Future[Any]]:
    """A daemon thread ``name``, not started, that runs ``fn(*args)``, and the future that
    carries its result or exception."""
    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:
            fut.set_exception(exc)

    return threading.Thread(target=run, name=name, daemon=True), fut


def start_thread(fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
    """Run ``fn(*args)`` in a new thread; the future carries its result or exception."""
    t, fut = thread_with_future(fn, *args, name="test-worker")
    t.start()
    return fut


class AsyncioThread:
    """An asyncio event loop running in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="test-asyncio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` as a task of the loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class TrioThread:
    """A trio run in its own thread; :meth:`submit` starts a task in its nursery."""

    def __init__(self) -> None:
        ready = threading.Event()
        self._stop: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self.token: trio.lowlevel.TrioToken | None = None

        async def main() -> None:
            self._stop = trio.Event()
            self.token = trio.lowlevel.current_trio_token()
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                ready.set()
                await self._stop.wait()
                nursery.cancel_scope.cancel()

        self._thread = threading.Thread(target=trio.run, args=(main,), name="test-trio")
        self._thread.daemon = True
        self._thread.start()
        ready.wait(10)

    def submit(self, fn: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run ``await fn()`` as a task of the trio run."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        async def task() -> None:
            try:
                fut.set_result(await fn())
            except BaseException as exc:
                fut.set_exception(exc)
                if isinstance(exc, trio.Cancelled):
                    raise

        assert self.token is not None
        assert self._nursery is not None
        nursery = self._nursery
        self.token.run_sync_soon(lambda: nursery.start_soon(task))
        return fut

    def close(self) -> None:
        assert self.token is not None
        assert self._stop is not None
        stop = self._stop
        self.token.run_sync_soon(stop.set)
        self._thread.join(10)


@contextmanager
def asyncio_thread() -> Iterator[AsyncioThread]:
    loop = AsyncioThread()
    try:
        yield loop
    finally:
        loop.close()


@contextmanager
def trio_thread() -> Iterator[TrioThread]:
    run = TrioThread()
    try:
        yield run
    finally:
        run.close()


class HandTimeouts:
    """Thread waits that time out when the test says so, not when wall time runs out.

    Installs, in place of ``goprims.sync.ThreadWaiter``, a waiter whose timed waits stay parked
    (queued, as a real one) until :meth:`expire` is called, then time out at once through the real
    ``ThreadWaiter.wait`` path (claim itself, withdraw under the primitive's lock). A timeout race
    is then ordered by the test instead of by a long timeout and luck. Waits without a timeout
    are untouched.
    """

    def __init__(self, monkeypatch: Any) -> None:
        import goprims.sync
        from goprims._waiter import ThreadWaiter

        expire = self._expire = threading.Event()

        class HandTimedWaiter(ThreadWaiter):
            __slots__ = ()

            def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:
                if timeout is None:
                    return super().wait(None, withdraw)
                expire.wait(60)  # parked until the test times it out (60 s: a hang guard only)
                return super().wait(0, withdraw)

        monkeypatch.setattr(goprims.sync, "ThreadWaiter", HandTimedWaiter)

    def expire(self) -> None:
        """Every timed wait parked now or later times out at once."""
        self._expire.set()

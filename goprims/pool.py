"""An ants-style worker pool that is also a :class:`concurrent.futures.Executor`.

:class:`Pool` runs callables on worker threads that it starts on demand, reuses hot-first (a LIFO
stack of idle workers, as the origin gopool and ants do) and lets go after ``expiry`` seconds
without work, so a quiet program keeps no idle threads. A pool may be bounded (``size > 0``): when
every worker is busy a submitter waits (FIFO), or is refused with :exc:`PoolOverload`. A finished
worker hands itself directly to the first waiting submitter; an idle worker is handed its next task
directly (no shared task queue): a pool never holds a task that no worker has taken.

Every wait goes through the waiter core (:mod:`goprims._waiter`): idle workers park on a
:class:`~goprims._waiter.ThreadWaiter` with ``timeout=expiry``; blocked submitters park on a waiter
of their own world (thread, asyncio task or trio task). Nothing spins or polls.

:func:`default_pool` is the unlimited pool behind :func:`goprims.go`.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any, ParamSpec, TypeVar

from goprims._waiter import (
    ThreadWaiter,
    Waiter,
    async_waiter,
    cancel_shielded_checkpoint,
    checkpoint_if_cancelled,
)

__all__ = ["Pool", "PoolClosed", "PoolOverload", "default_pool"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_W = TypeVar("_W", bound=Waiter)

_get_ident = threading.get_ident
_current_thread = threading.current_thread

# A task is (future or None for go(), fn, args, kwargs). A tuple: the cheapest thing to build.
_Task = tuple["Future[Any] | None", Callable[..., Any], tuple[Any, ...], dict[str, Any]]

# The Future class tasks are given. A module global so that white-box tests can substitute an
# instrumented subclass; it is always concurrent.futures.Future (or a subclass).
_new_future: Callable[[], Future[Any]] = Future


class PoolClosed(RuntimeError):
    """The pool is shut down (or released): it accepts no task until :meth:`Pool.reboot`.

    Raised by ``submit``/``go`` after shutdown, and by those blocked in them when the pool closes.
    A subclass of :exc:`RuntimeError`, which is what :class:`concurrent.futures.Executor` users
    expect from a submit after shutdown.
    """


class PoolOverload(RuntimeError):
    """The pool is full and the task was refused instead of waiting for a worker.

    Raised when every worker is busy and either the pool is ``nonblocking``, or ``max_blocking``
    callers already wait, or the caller is one of the pool's own workers (see
    :meth:`Pool.submit`: a nested submit never waits without a timeout, it would deadlock).
    """


class _Worker:
    """Book-keeping for one worker thread. Mutated by the pool's lock holders only."""

    __slots__ = ("task",)

    def __init__(self, task: _Task | None) -> None:
        # The task this worker was handed and has not finished yet (None while idle). Set under
        # the pool lock by whoever hands it the task; cleared by the worker under the lock.
        self.task = task


def _report(exc: BaseException) -> None:
    threading.excepthook(
        threading.ExceptHookArgs((type(exc), exc, exc.__traceback__, _current_thread()))
    )


def _settle(fut: Future[Any], outcome: Any, failed: bool) -> None:
    if failed:
        fut.set_exception(outcome)
    else:
        fut.set_result(outcome)


class Pool(Executor):
    """A pool of reusable worker threads with idle expiry, after ants and the origin gopool.

    ``size <= 0`` means unlimited: a task never waits for a worker, a new thread is started when no
    idle one is left. ``size > 0`` bounds how many tasks run at once; when all ``size`` workers are
    busy, :meth:`submit` and :meth:`go` wait for one (first come, first served), unless
    ``nonblocking=True`` or ``max_blocking`` (> 0) callers already wait: then they raise
    :exc:`PoolOverload`.

    Idle workers are reused last-in first-out, so under a steady load the same few threads stay
    hot and the others age. A worker that stays idle for ``expiry`` seconds ends its thread
    (``expiry=None``: never). Reclaim is per worker and exact: each thread ends ``expiry`` seconds
    after its last task finished (the origin gopool and ants reclaim from a ticker, between
    ``expiry`` and ``2 * expiry``). Reclaiming needs no extra thread and uses no CPU.

    ``prealloc=True`` starts all ``size`` workers at construction (and at :meth:`reboot`), so the
    first burst does not pay thread start-up; it needs ``size > 0``. Preallocated workers expire
    like any others: use ``expiry=None`` as well for a fixed set of warm threads.

    :meth:`go` is fire-and-forget: an exception escaping the task is passed to
    ``panic_handler(exc)``, or without one to :func:`threading.excepthook` (an exception escaping
    ``panic_handler`` goes there too). :meth:`submit` returns a :class:`~concurrent.futures.Future`
    that carries the exception instead. Either way the worker survives and is reused.

    Worker threads are daemon threads named ``f"{name}-{n}"``. A daemon thread does not keep the
    interpreter alive: use ``with Pool() as p:``, :meth:`shutdown` or :meth:`release` to wait for
    tasks. An idle worker holds a reference to its pool until it expires, so a pool is freed at
    the latest ``expiry`` seconds after its last task. A pool does not survive ``os.fork()``: in
    the child it forgets the parent's workers and starts new ones on demand.
    """

    def __init__(
        self,
        size: int = 0,
        *,
        expiry: float | None = 1.0,
        nonblocking: bool = False,
        max_blocking: int = 0,
        prealloc: bool = False,
        panic_handler: Callable[[BaseException], object] | None = None,
        name: str = "goprims",
    ) -> None:
        """Create the pool (no thread is started unless ``prealloc``).

        Raises :exc:`ValueError` if ``expiry`` is not ``None`` and not > 0, if ``max_blocking``
        is negative, or if ``prealloc`` is asked of an unlimited pool.
        """
        if expiry is not None and not expiry > 0:
            raise ValueError(f"Pool: expiry must be > 0 seconds or None, not {expiry!r}")
        if max_blocking < 0:
            raise ValueError(f"Pool: max_blocking must be >= 0, not {max_blocking!r}")
        if prealloc and size <= 0:
            raise ValueError("Pool: prealloc needs a bounded pool (size > 0)")
        self._expiry = None if expiry is None else float(expiry)
        self._nonblocking = bool(nonblocking)
        self._max_blocking = int(max_blocking)
        self._prealloc = bool(prealloc)
        self._panic_handler = panic_handler
        self._name = name
        self._seq = itertools.count(1)  # worker thread numbers

        # Everything below is guarded by _lock (a plain mutex: nothing ever waits while holding it).
        self._lock = threading.Lock()
        # Capacity: -1 when unlimited, else > 0.
        self._cap = size if size > 0 else -1
        self._closed = False
        # Workers committed to the pool: started, not yet retired and not told to stop. Capacity
        # is measured against this. Invariant: _running <= _workers <= _alive.
        self._workers = 0
        # Workers holding a task (reserved by whoever handed it, released by the worker when done).
        self._running = 0
        # Worker threads not yet retired, including those told to stop. release() waits for 0.
        self._alive = 0
        # Idle workers and the waiter each is parked on, most recently parked last (LIFO:
        # dict.popitem() pops the hottest one). An entry's waiter is unclaimed, or claimed by the
        # worker itself as it expires (it then withdraws its entry).
        # Invariant: len(_idle) <= _workers - _running.
        self._idle: dict[_Worker, ThreadWaiter] = {}
        # Blocked submitters, FIFO, each with the task it brings. Invariant: non-empty only while
        # no idle worker can be claimed and no worker slot is free (_workers >= _cap); whoever
        # frees a slot (a finishing or expiring worker, tune) serves the head first.
        self._waiters: OrderedDict[Waiter, _Task] = OrderedDict()
        # Callers of release() waiting for _alive to fall to their target (0, or 1 when the caller
        # is itself a worker of this pool).
        self._release_waiters: dict[Waiter, int] = {}
        # Every live worker's record (for shutdown(cancel_futures=True)).
        self._records: set[_Worker] = set()
        # Thread idents of live workers: a submit from one of them must not wait forever. Added by
        # the worker itself when it starts (set.add is atomic), discarded under the lock.
        self._idents: set[int] = set()
        # The last worker thread to retire. Each retiring worker joins its predecessor, so joining
        # this one thread means every retired worker thread has ended.
        self._last_exit: threading.Thread | None = None

        _all_pools.add(self)
        if self._prealloc:
            self._preallocate()

    # ------------------------------------------------------------------------------ properties

    @property
    def name(self) -> str:
        """The prefix of the worker threads' names."""
        return self._name

    @property
    def expiry(self) -> float | None:
        """Seconds an idle worker waits for a task before its thread ends (None: forever)."""
        return self._expiry

    @property
    def running(self) -> int:
        """Workers executing a task now (a task handed over but not yet started counts)."""
        return self._running

    @property
    def idle(self) -> int:
        """Live workers without a task: parked waiting for one, or about to park or expire."""
        with self._lock:
            return self._workers - self._running

    @property
    def waiting(self) -> int:
        """Callers blocked in ``submit``/``go`` (and their async twins) waiting for a worker."""
        return len(self._waiters)

    @property
    def cap(self) -> int:
        """The maximum number of tasks running at once; -1 when unlimited."""
        return self._cap

    @property
    def free(self) -> int:
        """``cap - running``: how many more tasks could start now; -1 when unlimited.

        Negative for a while after :meth:`tune` shrank the pool below the running count.
        """
        with self._lock:
            return -1 if self._cap < 0 else self._cap - self._running

    @property
    def closed(self) -> bool:
        """True after :meth:`shutdown` or :meth:`release`, until :meth:`reboot`."""
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<Pool {self._name!r} {state} cap={self._cap} running={self._running} "
            f"idle={self._workers - self._running} waiting={len(self._waiters)}>"
        )

    # -------------------------------------------------------------------------------- submitting

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` on a worker; return a Future for its result.

        Waits while every worker is busy (bounded pool), first come first served. Raises
        :exc:`PoolOverload` instead of waiting when the pool is ``nonblocking``, when
        ``max_blocking`` callers already wait, or when the caller is one of this pool's own workers
        (a task submitting to its own full pool): that wait could last forever, since the
        worker that would have to finish is the caller, so a nested submit fails at once (use
        :meth:`submit_timeout` to wait a bounded time, or catch :exc:`PoolOverload` and run the
        function inline). Raises :exc:`PoolClosed` after shutdown, also if the pool closes while
        the caller waits. An exception raised by ``fn`` goes to the Future, not to
        ``panic_handler``.
        """
        fut: Future[_T] = _new_future()
        self._put((fut, fn, args, kwargs), None)
        return fut

    def submit_timeout(
        self, timeout: float | None, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Future[_T]:
        """:meth:`submit` that waits at most ``timeout`` seconds for a worker.

        Raises :exc:`TimeoutError` if no worker became free in time (``timeout <= 0``: do not
        wait); the task was then not submitted. A worker of this pool may wait here on its own
        pool, since the wait is bounded. ``timeout=None`` is exactly :meth:`submit`.
        """
        fut: Future[_T] = _new_future()
        self._put((fut, fn, args, kwargs), timeout)
        return fut

    def go(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on a worker, fire-and-forget.

        An exception escaping ``fn`` is passed to ``panic_handler`` or, without one, to
        :func:`threading.excepthook`; the worker survives. Waits, refuses and raises exactly as
        :meth:`submit` does.
        """
        self._put((None, fn, args, kwargs), None)

    async def async_submit(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Future[_T]:
        """:meth:`submit` for an asyncio or trio task: waits for a worker without blocking the loop.

        Returns the :class:`concurrent.futures.Future` (``asyncio.wrap_future`` makes it
        awaitable under asyncio). Cancelled while waiting, it raises the cancellation and the task
        was not submitted; cancelled after a worker took the task, it returns the Future (the
        cancellation is dropped, see :mod:`goprims._waiter`).
        """
        fut: Future[_T] = _new_future()
        await self._async_put((fut, fn, args, kwargs))
        return fut

    async def async_go(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """:meth:`go` for an asyncio or trio task (waits for a worker without blocking the loop)."""
        await self._async_put((None, fn, args, kwargs))

    def _put(self, task: _Task, timeout: float | None) -> None:
        """Hand ``task`` to an idle worker, to a new worker, or wait for a worker (threads)."""
        lock = self._lock
        lock.acquire()
        if self._closed:
            lock.release()
            raise PoolClosed(f"pool {self._name!r} is closed")
        # The hot path, inline: hand the task straight to the hottest idle worker.
        idle = self._idle
        while idle:
            rec, w = idle.popitem()
            if w.try_claim():
                w.value = task
                rec.task = task
                self._running += 1
                lock.release()
                w.wake()
                return
            # else: that worker is expiring; it withdraws itself and reconciles the counts.
        cap = self._cap
        if cap < 0 or self._workers < cap:
            self._workers += 1
            self._alive += 1
            self._running += 1
            lock.release()
            self._start_worker(task)
            return
        try:
            w = self._queue_locked(task, timeout, ThreadWaiter)
        finally:
            lock.release()
        if not w.wait(timeout, partial(self._withdraw, w)):
            raise TimeoutError(f"pool {self._name!r}: no worker became free within {timeout}s")
        if not w.ok:
            raise self._refusal(w)

    async def _async_put(self, task: _Task) -> None:
        """:meth:`_put` for an async task (no timeout: async callers use cancel scopes)."""
        await checkpoint_if_cancelled()
        handed: ThreadWaiter | None = None
        waiter = None
        with self._lock:
            if self._closed:
                raise PoolClosed(f"pool {self._name!r} is closed")
            handed, spawn = self._place_locked(task)
            if handed is None and not spawn:
                waiter = self._queue_locked(task, None, async_waiter)
        if waiter is None:
            if handed is not None:
                handed.wake()
            elif spawn:
                self._start_worker(task)
            await cancel_shielded_checkpoint()
            return
        await waiter.wait(None, partial(self._withdraw, waiter))
        if not waiter.ok:
            raise self._refusal(waiter)

    def _place_locked(self, task: _Task) -> tuple[ThreadWaiter | None, bool]:
        """Place ``task`` without waiting, if possible. Lock held.

        Returns ``(worker_waiter, False)`` if an idle worker was claimed for it (the caller wakes
        it after releasing the lock), ``(None, True)`` if a slot was reserved for a new worker
        the caller must start, ``(None, False)`` if the pool is full.
        """
        idle = self._idle
        while idle:
            rec, w = idle.popitem()
            if w.try_claim():
                w.value = task
                rec.task = task
                self._running += 1
                return w, False
        cap = self._cap
        if cap < 0 or self._workers < cap:
            self._workers += 1
            self._alive += 1
            self._running += 1
            return None, True
        return None, False

    def _queue_locked(self, task: _Task, timeout: float | None, make: Callable[[], _W]) -> _W:
        """Queue a new waiter carrying ``task``, or raise why the caller may not wait.

        Lock held; the pool is full.
        """
        if self._nonblocking:
            raise PoolOverload(f"pool {self._name!r} is full (nonblocking)")
        if self._max_blocking and len(self._waiters) >= self._max_blocking:
            raise PoolOverload(
                f"pool {self._name!r} is full and {self._max_blocking} callers already wait"
            )
        if timeout is None and _get_ident() in self._idents:
            raise PoolOverload(
                f"pool {self._name!r} is full and the caller is one of its own workers: "
                "waiting could deadlock (use submit_timeout, or run the task inline)"
            )
        if timeout is not None and timeout <= 0:
            raise TimeoutError(f"pool {self._name!r} is full")
        w = make()
        self._waiters[w] = task
        return w

    def _refusal(self, w: Waiter) -> BaseException:
        """Why a blocked submitter's task was not accepted: closed, or a worker failed to start."""
        if isinstance(w.value, BaseException):
            return w.value
        return PoolClosed(f"pool {self._name!r} was closed while the caller waited for a worker")

    def _withdraw(self, w: Waiter) -> None:
        with self._lock:
            self._waiters.pop(w, None)

    def _serve_waiter_locked(self, rec: _Worker) -> tuple[_Task, Waiter] | None:
        """Take the task of the first blocked submitter for worker ``rec``. Lock held.

        Returns ``(task, waiter)``; the caller wakes the waiter after releasing the lock.
        """
        waiters = self._waiters
        while waiters:
            w, task = waiters.popitem(last=False)
            if w.try_claim():
                w.ok = True
                rec.task = task
                self._running += 1
                return task, w
            # else: that submitter is withdrawing (timeout, cancellation): skip it.
        return None

    # ----------------------------------------------------------------------------------- workers

    def _start_worker(self, task: _Task | None) -> None:
        """Start a worker thread for a slot already reserved (counts incremented). No lock held."""
        rec = _Worker(task)
        with self._lock:
            self._records.add(rec)
        t = threading.Thread(
            target=self._work,
            args=(rec, task),
            name=f"{self._name}-{next(self._seq)}",
            daemon=True,
        )
        try:
            t.start()
        except BaseException:
            with self._lock:
                self._records.discard(rec)
                self._workers -= 1
                self._alive -= 1
                if task is not None:
                    self._running -= 1
                fire = self._release_ready_locked()
            for w in fire:
                w.wake()
            raise

    def _preallocate(self) -> None:
        with self._lock:
            n = self._cap - self._workers if self._cap > 0 and not self._closed else 0
            self._workers += n
            self._alive += n
        for _ in range(n):
            self._start_worker(None)

    def _work(self, rec: _Worker, task: _Task | None) -> None:
        """A worker thread's life: run a task, then serve a waiter or park idle, until retired.

        A submitted task's Future is settled only after the worker has re-entered the pool (as
        idle, or serving the next waiter): whoever wakes from ``result()`` and submits again
        finds this worker ready, so a sequential submit/result loop reuses one thread.
        """
        self._idents.add(_get_ident())
        lock = self._lock
        idle = self._idle
        waiters = self._waiters
        expiry = self._expiry
        withdraw = partial(self._withdraw_idle, rec)
        # The outcome of the last task, to be set on its Future (settle) once back in the pool.
        settle: Future[Any] | None = None
        outcome: Any = None
        failed = False
        while True:
            if task is not None:
                fut, fn, args, kwargs = task
                task = None
                if fut is None:
                    try:
                        fn(*args, **kwargs)
                    except BaseException as exc:
                        self._panic(exc)
                        del exc
                elif fut.set_running_or_notify_cancel():
                    settle = fut
                    try:
                        outcome = fn(*args, **kwargs)
                    except BaseException as exc:
                        outcome = exc
                        failed = True
                        del exc
                # Drop every reference to the task before parking (results, arguments).
                del fut, fn, args, kwargs
                lock.acquire()
                rec.task = None
                self._running -= 1
            else:
                lock.acquire()
            # Lock held: retire, serve the first waiting submitter, or park.
            cap = self._cap
            if self._closed or (cap >= 0 and self._workers > cap):
                self._workers -= 1
                if settle is not None:
                    lock.release()
                    _settle(settle, outcome, failed)
                    settle = outcome = None
                    lock.acquire()
                break
            if waiters:
                served = self._serve_waiter_locked(rec)
                if served is not None:
                    task, sw = served
                    lock.release()
                    if settle is not None:
                        _settle(settle, outcome, failed)
                        settle = outcome = None
                        failed = False
                    sw.wake()
                    continue
            w = ThreadWaiter()
            idle[rec] = w
            lock.release()
            if settle is not None:
                _settle(settle, outcome, failed)
                settle = outcome = None
                failed = False
            if w.wait(expiry, withdraw):
                task = w.value
                w.value = None
                if task is None:  # told to stop; the firer already left _workers
                    lock.acquire()
                    break
                continue
            # Expired (and withdrawn from the idle stack). A submitter that found this worker
            # claimed may be waiting for the slot it frees: serve it rather than leave.
            lock.acquire()
            cap = self._cap
            if waiters and not self._closed and (cap < 0 or self._workers <= cap):
                served = self._serve_waiter_locked(rec)
                if served is not None:
                    task, sw = served
                    lock.release()
                    sw.wake()
                    continue
            self._workers -= 1
            break
        # Retire (lock held; _workers already adjusted).
        self._alive -= 1
        self._records.discard(rec)
        self._idents.discard(_get_ident())
        prev = self._last_exit
        self._last_exit = _current_thread()
        fire = self._release_ready_locked()
        lock.release()
        for rw in fire:
            rw.wake()
        if prev is not None:
            prev.join()  # it has left the pool; only its return is left

    def _withdraw_idle(self, rec: _Worker) -> None:
        with self._lock:
            self._idle.pop(rec, None)

    def _panic(self, exc: BaseException) -> None:
        handler = self._panic_handler
        if handler is not None:
            try:
                handler(exc)
                return
            except BaseException as exc2:
                _report(exc2)
                return
        _report(exc)

    def _release_ready_locked(self) -> list[Waiter]:
        """Claim the release() waiters whose target is reached. Lock held; caller wakes them."""
        ready = [
            w
            for w, target in self._release_waiters.items()
            if self._alive <= target and w.try_claim()
        ]
        for w in ready:
            del self._release_waiters[w]
        return ready

    # ------------------------------------------------------------------------------- lifecycle

    def _close_locked(self) -> list[Waiter]:
        """Close the pool; return the waiters to wake (idle workers, blocked submitters)."""
        if self._closed:
            return []
        self._closed = True
        fire: list[Waiter] = []
        for w in self._idle.values():
            if w.try_claim():
                w.value = None  # stop
                self._workers -= 1
                fire.append(w)
        self._idle.clear()
        for sw in self._waiters:
            if sw.try_claim():
                sw.ok = False  # value None: the caller raises PoolClosed
                fire.append(sw)
        self._waiters.clear()
        return fire

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the pool: no new task is accepted (:exc:`PoolClosed`), idle workers end.

        Callers blocked in ``submit``/``go`` raise :exc:`PoolClosed` (their tasks were never
        accepted). Tasks already handed to a worker run to completion; with
        ``cancel_futures=True``, the futures of tasks handed to a worker that has not started
        them yet are cancelled instead (a ``go()`` task has no future: it runs). Unlike a
        :class:`~concurrent.futures.ThreadPoolExecutor` there is no queue of accepted tasks to
        drop. ``wait=True`` then waits as ``release()`` does (every worker thread has ended when
        it returns). Calling it again is harmless.
        """
        with self._lock:
            fire = self._close_locked()
            pending = (
                [rec.task[0] for rec in self._records if rec.task is not None]
                if cancel_futures
                else []
            )
        for w in fire:
            w.wake()
        for fut in pending:
            if fut is not None:
                fut.cancel()  # False (and harmless) if it started meanwhile
        if wait:
            self.release()

    def release(self, timeout: float | None = None) -> None:
        """Close the pool (as ``shutdown(wait=False)``) and wait until every worker thread ended.

        Running tasks are not interrupted: the call waits for them. Raises :exc:`TimeoutError` if
        workers are still busy after ``timeout`` seconds; the pool stays closed and a later
        ``release()`` may still complete. Called from one of the pool's own workers, it waits for
        every other worker (the caller's thread ends when its task returns). If another thread
        reopens the pool with :meth:`reboot` meanwhile, it returns at once.
        """
        w = self._release_begin(ThreadWaiter)
        if w is not None and not w.wait(timeout, partial(self._withdraw_release, w)):
            raise TimeoutError(
                f"pool {self._name!r}: {self._alive} worker(s) still busy after {timeout}s"
            )
        self._join_retired()

    async def async_release(self) -> None:
        """:meth:`release` for an asyncio or trio task (no timeout: use a cancel scope).

        Cancelled while waiting, it raises the cancellation; the pool stays closed.
        """
        await checkpoint_if_cancelled()
        w = self._release_begin(async_waiter)
        if w is not None:
            await w.wait(None, partial(self._withdraw_release, w))
        else:
            await cancel_shielded_checkpoint()
        self._join_retired()

    def _release_begin(self, make: Callable[[], _W]) -> _W | None:
        target = 1 if _get_ident() in self._idents else 0
        with self._lock:
            fire = self._close_locked()
            w = None
            if self._alive > target:
                w = make()
                self._release_waiters[w] = target
        for f in fire:
            f.wake()
        return w

    def _withdraw_release(self, w: Waiter) -> None:
        with self._lock:
            self._release_waiters.pop(w, None)

    def _join_retired(self) -> None:
        last = self._last_exit
        if last is not None and last is not _current_thread():
            last.join()  # bounded: it retired already, and joined its predecessors

    def reboot(self) -> None:
        """Reopen a closed pool (a no-op on an open one).

        Workers still finishing tasks from before the close stay in the pool. A ``release()``
        still waiting returns at once. A ``prealloc`` pool starts its workers again.
        """
        with self._lock:
            if not self._closed:
                return
            self._closed = False
            fire = [w for w in self._release_waiters if w.try_claim()]
            self._release_waiters.clear()
        for w in fire:
            w.wake()
        if self._prealloc:
            self._preallocate()

    def tune(self, size: int) -> None:
        """Change the capacity (``size <= 0``: unlimited).

        Growing takes effect at once: waiting submitters get new workers. Shrinking never
        interrupts a task: idle workers beyond the new capacity end now, busy ones end when they
        finish their task, until at most ``size`` remain. A ``prealloc`` pool starts workers up to
        the new capacity. On a closed pool it only records the capacity.
        """
        new = size if size > 0 else -1
        start: list[tuple[_Task, Waiter]] = []
        fire: list[Waiter] = []
        with self._lock:
            self._cap = new
            if self._closed:
                return
            if new < 0 or self._workers < new:
                while self._waiters and (new < 0 or self._workers < new):
                    w, task = self._waiters.popitem(last=False)
                    if w.try_claim():
                        w.ok = True
                        self._workers += 1
                        self._alive += 1
                        self._running += 1
                        start.append((task, w))
            elif self._workers > new:
                # Stop the coldest idle workers first (the bottom of the LIFO stack).
                excess = self._workers - new
                for rec, w in list(self._idle.items()):
                    if excess == 0:
                        break
                    del self._idle[rec]
                    if w.try_claim():
                        w.value = None
                        self._workers -= 1
                        excess -= 1
                        fire.append(w)
        for w in fire:
            w.wake()
        for task, w in start:
            try:
                self._start_worker(task)
            except BaseException as exc:
                w.ok = False
                w.value = exc
            w.wake()
        if self._prealloc:
            self._preallocate()


# ------------------------------------------------------------------------------ the default pool

_all_pools: weakref.WeakSet[Pool] = weakref.WeakSet()
_default: Pool | None = None
_default_lock = threading.Lock()


def default_pool() -> Pool:
    """The package's shared unlimited pool, behind :func:`goprims.go`. Created on first use.

    Its workers are named ``goprims-go-N`` and end after 1 s idle. If someone shut it down, the
    next call replaces it with a fresh pool, so ``go()`` keeps working.
    """
    global _default
    pool = _default
    if pool is not None and not pool._closed:
        return pool
    with _default_lock:
        if _default is None or _default._closed:
            _default = Pool(0, expiry=1.0, name="goprims-go")
        return _default


def _after_fork_in_child() -> None:
    # Only the forking thread survives: forget the parent's workers, waiters and locks.
    for pool in list(_all_pools):
        pool._lock = threading.Lock()
        pool._workers = pool._running = pool._alive = 0
        pool._idle = {}
        pool._waiters = OrderedDict()
        pool._release_waiters = {}
        pool._records = set()
        pool._idents = set()
        pool._last_exit = None
    global _default_lock
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""An ants-style worker pool that is also a :class:`concurrent.futures.Executor`.

:class:`Pool` runs callables on worker threads that it starts on demand, reuses hot-first (a LIFO
stack of idle workers, as the origin gopool and ants do) and lets go after ``expiry`` seconds
without work, so a quiet program keeps no idle threads. A pool may be bounded (``size > 0``): when
``size`` tasks run a submitter waits (FIFO), or is refused with :exc:`PoolOverload`: there is no
unbounded task queue, and every accepted task has a worker of its own.

Every wait goes through the waiter core (:mod:`goprims._waiter`): idle workers park on a
:class:`~goprims._waiter.ThreadWaiter` with ``timeout=expiry``; blocked submitters park on a waiter
of their own world (thread, asyncio task or trio task). Nothing spins or polls.

:func:`default_pool` is the unlimited pool behind :func:`goprims.go`.
"""

from __future__ import annotations

import itertools
import operator
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any, ParamSpec, TypeVar

from goprims._pool_future import new_future as _new_future
from goprims._pool_future import settle as _settle
from goprims._report import report_exception
from goprims._waiter import (
    Blocking,
    Parked,
    ThreadWaiter,
    Waiter,
    WaitQueue,
    async_block,
    async_waiter,
    block,
    wake_all,
)

__all__ = ["Pool", "PoolClosed", "PoolOverload", "default_pool", "go"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_get_ident = threading.get_ident
_current_thread = threading.current_thread

# A task is (future or None for go(), fn, args, kwargs). A tuple: the cheapest thing to build.
_Task = tuple["Future[Any] | None", Callable[..., Any], tuple[Any, ...], dict[str, Any]]
# A submitted task's outcome, to settle its Future with: (future, result or exception, failed).
_Outcome = tuple["Future[Any]", Any, bool]


def _deliver(outcome: _Outcome | None, accepted: Waiter | None) -> None:
    """What a worker does once back in the pool: settle the last task's Future, wake the
    submitter whose task it accepted (no lock held)."""
    if outcome is not None:
        _settle(*outcome)
    if accepted is not None:
        accepted.wake()


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
    :meth:`Pool.submit`: a nested submit never waits without a timeout, it could deadlock).
    """


class _Worker:
    """One worker thread's record (its key in the idle stack)."""

    __slots__ = ("task",)

    def __init__(self) -> None:
        # The task this worker took and has not finished (None between tasks), so that
        # shutdown(cancel_futures=True) can cancel it if it has not started yet. Written by the
        # worker under the pool lock.
        self.task: _Task | None = None


class Pool(Executor):
    """A pool of reusable worker threads with idle expiry, after ants and the origin gopool.

    ``size <= 0`` means unlimited: a task never waits for a worker, a new thread is started when no
    idle one is left. ``size > 0`` bounds how many tasks run at once; when ``size`` tasks are
    running, :meth:`submit` and :meth:`go` wait until one finishes (first come, first served),
    unless ``nonblocking=True`` or ``max_blocking`` (> 0) callers already wait: then they raise
    :exc:`PoolOverload`. There is no unbounded task queue: at most ``size`` tasks are accepted at
    a time, and an accepted task always has a worker of its own, starting at once or already on
    its way, so the tasks of one pool may wait for each other within the capacity.

    Idle workers are reused last-in first-out, so under a steady load the same few threads stay
    hot and the others age. A worker that stays idle for ``expiry`` seconds ends its thread
    (``expiry=None``: never). Reclaim is per worker: each thread ends ``expiry`` seconds after it
    last finished a task (or was last woken for one), where the origin gopool and ants reclaim
    from a ticker, between ``expiry`` and ``2 * expiry``. Reclaiming needs no extra thread and
    uses no CPU.

    ``prealloc=True`` starts all ``size`` workers at construction (and at :meth:`reboot`), so the
    first burst does not pay thread start-up; it needs ``size > 0``. Preallocated workers expire
    like any others: add ``expiry=None`` for a fixed set of warm threads.

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
        is negative, or if ``prealloc`` is asked of an unlimited pool; :exc:`TypeError` if
        ``size`` or ``max_blocking`` is not an integer.
        """
        size = operator.index(size)
        max_blocking = operator.index(max_blocking)
        if expiry is not None and not expiry > 0:
            raise ValueError(f"Pool: expiry must be > 0 seconds or None, not {expiry!r}")
        if max_blocking < 0:
            raise ValueError(f"Pool: max_blocking must be >= 0, not {max_blocking!r}")
        if prealloc and size <= 0:
            raise ValueError("Pool: prealloc needs a bounded pool (size > 0)")
        self._expiry = None if expiry is None else float(expiry)
        self._nonblocking = bool(nonblocking)
        self._max_blocking = max_blocking
        self._prealloc = bool(prealloc)
        self._panic_handler = panic_handler
        self._name = name
        self._seq = itertools.count(1)  # worker thread numbers

        # Everything below is guarded by _lock, a plain mutex: nobody waits while holding it.
        #
        # How tasks reach workers: an accepted task is appended to _ready and, unless a worker is
        # already on its way to _ready (_coming), the hottest idle worker is woken (or a new one
        # started). Any worker that reaches _ready takes its oldest task, and first, if tasks
        # remain and no other worker is on its way, wakes (or starts) the next worker: a chain
        # that reaches every accepted task, so tasks may wait for each other up to the capacity.
        # Under load a worker that just finished a task takes the next one without parking and
        # without anybody being woken for it: as cheap as a shared queue, one wake-up per burst.
        self._lock = threading.Lock()
        self._cap = size if size > 0 else -1  # -1: unlimited
        self._closed = False
        # Tasks accepted and not finished: in _ready, or taken by a worker. Capacity is measured
        # against this. Invariant: _accepted <= _cap unless tune() lowered _cap meanwhile.
        self._accepted = 0
        # Accepted tasks no worker has taken yet, oldest first. Invariant: while _ready is not
        # empty, _coming > 0 or a worker is expiring right now (it then stays: see _work).
        self._ready: deque[_Task] = deque()
        # Workers woken (or started) to take from _ready that have not reached it yet.
        self._coming = 0
        # Worker threads counted against the capacity: started, not retiring, not told to stop.
        self._workers = 0
        # Worker threads not yet retired (told to stop or not). release() waits for it to reach 0.
        self._alive = 0
        # Idle workers parked on their waiters (entry value: the worker's record), most recently
        # parked last (LIFO: pop_live(last=True) takes the hottest one). An entry's waiter is
        # unclaimed, or claimed by its worker as it expires (the worker then withdraws the
        # entry). A firer sets ``ok``: True "take from _ready", False "stop" (and the firer has
        # already left it out of _workers).
        self._idle = WaitQueue(self._lock)
        # Blocked submitters, FIFO, each entry's value the task it brings.
        # Invariant: non-empty only while _accepted >= _cap; whoever frees capacity (a finishing
        # worker, tune) accepts the head first, so later callers never overtake it.
        self._waiters = WaitQueue(self._lock)
        # Callers of release() waiting for _alive to fall to their target (entry value: 0, or 1
        # when the caller is itself a worker of this pool).
        self._release_waiters = WaitQueue(self._lock)
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
        """Tasks running now: started, or accepted and handed to a worker about to start them."""
        return self._accepted

    @property
    def idle(self) -> int:
        """Workers parked waiting for a task (live threads, until their expiry)."""
        return len(self._idle)

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
            return -1 if self._cap < 0 else self._cap - self._accepted

    @property
    def closed(self) -> bool:
        """True after :meth:`shutdown` or :meth:`release`, until :meth:`reboot`."""
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<Pool {self._name!r} {state} cap={self._cap} running={self._accepted} "
            f"idle={len(self._idle)} waiting={len(self._waiters)}>"
        )

    # -------------------------------------------------------------------------------- submitting

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` on a worker; return a Future for its result.

        Waits while ``cap`` tasks are running (bounded pool), first come first served. Raises
        :exc:`PoolOverload` instead of waiting when the pool is ``nonblocking``, when
        ``max_blocking`` callers already wait, or when the caller is one of this pool's own workers
        (a task submitting to its own full pool): that wait could last forever, since the task
        that would have to finish may be the caller itself, so a nested submit fails at once (use
        :meth:`submit_timeout` to wait a bounded time, or catch :exc:`PoolOverload` and run the
        function inline). Raises :exc:`PoolClosed` after shutdown, also if the pool closes while
        the caller waits. An exception raised by ``fn`` goes to the Future, not to
        ``panic_handler``. The Future is a :class:`concurrent.futures.Future` (a subclass that
        creates its internal condition only once someone waits on it unfinished, cancels it or
        adds a callback), usable with ``wait``, ``as_completed`` and ``asyncio.wrap_future``.
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
        was not submitted; cancelled after the task was accepted, it returns the Future (the
        cancellation is dropped, see :mod:`goprims._waiter`).
        """
        fut: Future[_T] = _new_future()
        await self._async_put((fut, fn, args, kwargs))
        return fut

    async def async_go(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """:meth:`go` for an asyncio or trio task (waits for a worker without blocking the loop)."""
        await self._async_put((None, fn, args, kwargs))

    def _put(self, task: _Task, timeout: float | None) -> None:
        """Accept ``task`` or wait until it is accepted (threads). The hot path, kept inline."""
        lock = self._lock
        lock.acquire()
        if self._closed:
            lock.release()
            raise PoolClosed(f"pool {self._name!r} is closed")
        cap = self._cap
        if cap < 0 or self._accepted < cap:
            self._accepted += 1
            self._ready.append(task)
            if self._coming:  # a worker is on its way to _ready already
                lock.release()
                return
            w, start = self._call_worker_locked()
            lock.release()
            if w is not None:
                w.wake()
            elif start:
                self._start_worker(task)
            return
        lock.release()
        block(self._putting(task, timeout, ThreadWaiter))

    async def _async_put(self, task: _Task) -> None:
        """:meth:`_put` for an async task (no timeout: async callers use cancel scopes)."""
        await async_block(self._putting(task, None, async_waiter))

    def _putting(
        self, task: _Task, timeout: float | None, new_waiter: Callable[[], Waiter]
    ) -> Blocking[None]:
        """Accept ``task``, or queue and wait until it is accepted: the body of every world."""
        wake = None
        start = False
        with self._lock:
            if self._closed:
                raise PoolClosed(f"pool {self._name!r} is closed")
            if self._cap < 0 or self._accepted < self._cap:
                self._accepted += 1
                wake, start = self._find_worker_locked(task)
                e = None
            else:
                e = self._queue_locked(task, timeout, new_waiter)
        if e is None:
            if wake is not None:
                wake.wake()
            if start:
                self._start_worker(task)
            return
        w = e.waiter
        if not (yield w, timeout, partial(self._withdraw, e)):
            raise TimeoutError(f"pool {self._name!r}: no worker became free within {timeout}s")
        if not w.ok:
            raise self._refusal(w)

    def _find_worker_locked(self, task: _Task) -> tuple[Waiter | None, bool]:
        """Put an accepted task in _ready and make sure a worker comes for it. Lock held.

        Returns the idle worker's waiter to wake after releasing the lock, and whether a new
        worker must be started (its slot is already counted).
        """
        self._ready.append(task)
        if self._coming:
            return None, False
        return self._call_worker_locked()

    def _call_worker_locked(self) -> tuple[Waiter | None, bool]:
        """Make a worker come to _ready: claim the hottest idle one, or count a new one. Locked.

        Returns the idle worker's waiter to wake after releasing the lock, and whether a new
        worker must be started. A new worker is counted while there are fewer workers than the
        capacity, or than accepted tasks (after tune() shrank the pool, accepted tasks still get a
        worker each). Neither: then _workers >= _accepted, so some worker is neither running a
        task nor parked nor coming: it is expiring, and it takes from _ready before it leaves.
        """
        # (An idle entry claimed elsewhere is a worker expiring; it looks at _ready before it
        # leaves. pop_live skips it.)
        e = self._idle.pop_live(last=True)
        if e is not None:
            self._coming += 1
            return e.waiter, False
        if self._cap < 0 or self._workers < max(self._cap, self._accepted):
            self._workers += 1
            self._alive += 1
            self._coming += 1
            return None, True
        return None, False

    def _queue_locked(
        self, task: _Task, timeout: float | None, make: Callable[[], Waiter]
    ) -> Parked:
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
        return self._waiters.park(make(), task)

    def _refusal(self, w: Waiter) -> BaseException:
        """Why a blocked submitter's task was not accepted: closed, or a worker failed to start."""
        if isinstance(w.value, BaseException):
            return w.value
        return PoolClosed(f"pool {self._name!r} was closed while the caller waited for a worker")

    def _withdraw(self, e: Parked) -> None:
        with self._lock:
            self._waiters.remove(e)

    def _accept_waiter_locked(self) -> tuple[Waiter, _Task] | None:
        """Accept the task of the first blocked submitter (skipping those withdrawing: timeout,
        cancellation). Lock held.

        Returns its waiter, to wake after releasing the lock, and the task, which the caller puts
        in _ready with a worker for it.
        """
        e = self._waiters.pop_live()
        if e is None:
            return None
        self._accepted += 1
        task: _Task = e.value
        return e.waiter, task

    # ----------------------------------------------------------------------------------- workers

    def _start_worker(self, task: _Task | None = None) -> None:
        """Start a worker thread for a slot already counted (_workers, _alive, _coming).

        No lock held. ``task`` is the accepted task it was started for, if any. Should the thread
        fail to start (the system is out of threads), the task is withdrawn and the error raised
        to the caller if the task still waits in _ready; if another worker took it meanwhile, the
        task runs and the error is dropped. Idle workers are woken for the tasks left in _ready.
        """
        rec = _Worker()
        with self._lock:
            self._records.add(rec)
        t = threading.Thread(
            target=self._work, args=(rec,), name=f"{self._name}-{next(self._seq)}", daemon=True
        )
        try:
            t.start()
        except BaseException:
            with self._lock:
                self._records.discard(rec)
                self._workers -= 1
                self._alive -= 1
                self._coming -= 1
                withdrawn = False
                if task is not None:
                    for i, queued in enumerate(self._ready):
                        if queued is task:
                            del self._ready[i]
                            self._accepted -= 1
                            withdrawn = True
                            break
                fire = self._wake_for_ready_locked() + self._release_ready_locked()
            for w in fire:
                w.wake()
            if withdrawn or task is None:
                raise

    def _wake_for_ready_locked(self) -> list[Waiter]:
        """Claim an idle worker if tasks wait in _ready and no worker is coming. Lock held."""
        if self._ready and not self._coming:
            e = self._idle.pop_live(last=True)
            if e is not None:
                self._coming += 1
                return [e.waiter]
        return []

    def _preallocate(self) -> None:
        with self._lock:
            n = self._cap - self._workers if self._cap > 0 and not self._closed else 0
            self._workers += n
            self._alive += n
            self._coming += n
        for _ in range(n):
            self._start_worker()

    def _work(self, rec: _Worker) -> None:
        """A worker thread's life: take tasks from _ready while there are any, else park idle
        (until woken for a task, stopped, or expired), then retire.

        A submitted task's Future is settled only once the worker is back in the pool (holding its
        next task, or parked idle): whoever wakes from ``result()`` and submits again finds this
        worker ready, so a sequential submit/result loop reuses one thread.
        """
        self._idents.add(_get_ident())
        lock = self._lock
        # What the last task left to deliver once this worker is back in the pool: its Future
        # and outcome, and the blocked submitter whose task was accepted when it finished.
        outcome: _Outcome | None = None
        accepted: Waiter | None = None
        expired = stopped = False
        lock.acquire()
        self._coming -= 1
        while True:
            # Lock held. Every accepted task runs, even while closing or expiring.
            if self._ready:
                task, call, start = self._take_locked(rec)
                lock.release()
                if call is not None:  # the chain: a worker for the next task in _ready
                    call.wake()
                elif start:
                    self._start_next()
                _deliver(outcome, accepted)
                outcome = self._run(task)
                del task  # drop every reference to the task before parking
                lock.acquire()
                accepted = self._task_done_locked(rec)
                expired = False
                continue
            if stopped or expired or self._retiring_locked():
                if not stopped:  # a stopped worker was left out of _workers by its firer
                    self._workers -= 1
                break
            w = ThreadWaiter()
            parked = self._idle.park(w, rec)
            lock.release()
            _deliver(outcome, accepted)
            outcome = accepted = None
            woken = w.wait(self._expiry, partial(self._withdraw_idle, parked))
            lock.acquire()
            if not woken:
                expired = True  # withdrawn from _idle; look at _ready once more before leaving
            elif w.ok:
                self._coming -= 1  # woken for a task: it is in _ready
            else:
                stopped = True  # by shutdown or tune()
        self._retire_locked(rec, outcome)  # releases the lock

    def _take_locked(self, rec: _Worker) -> tuple[_Task, Waiter | None, bool]:
        """Take the oldest task of _ready; if tasks remain and no worker is on its way, call the
        next one (the chain). Lock held. Returns the task and what :meth:`_call_worker_locked`
        returned, for the caller to act on once the lock is released."""
        task = self._ready.popleft()
        rec.task = task
        if self._ready and not self._coming:
            call, start = self._call_worker_locked()
            return task, call, start
        return task, None, False

    def _run(self, task: _Task) -> _Outcome | None:
        """Run a task (no lock held). A go() task's exception goes to the panic handler; a
        submitted task's outcome is returned, to settle its Future later (None if cancelled)."""
        fut, fn, args, kwargs = task
        if fut is None:
            try:
                fn(*args, **kwargs)
            except BaseException as exc:
                self._panic(exc)
            return None
        if not fut.set_running_or_notify_cancel():
            return None
        try:
            return fut, fn(*args, **kwargs), False
        except BaseException as exc:
            return fut, exc, True

    def _task_done_locked(self, rec: _Worker) -> Waiter | None:
        """A task finished: free its slot; if a submitter waits and there is room, accept its
        task into _ready for this very worker. Lock held. Returns that submitter, to wake."""
        rec.task = None
        self._accepted -= 1
        if self._waiters and not self._closed and self._accepted < self._cap:
            head = self._accept_waiter_locked()
            if head is not None:
                accepted, task = head
                self._ready.append(task)
                return accepted
        return None

    def _retiring_locked(self) -> bool:
        """Should an idle worker end now (pool closed, or more workers than the capacity)?"""
        cap = self._cap
        return self._closed or (cap >= 0 and self._workers > cap)

    def _retire_locked(self, rec: _Worker, outcome: _Outcome | None) -> None:
        """The worker leaves the pool: wake release() callers whose target is reached, join the
        previously retired thread. Called with the lock held; releases it."""
        self._alive -= 1
        self._records.discard(rec)
        self._idents.discard(_get_ident())
        prev = self._last_exit
        self._last_exit = _current_thread()
        fire = self._release_ready_locked()
        self._lock.release()
        _deliver(outcome, None)
        wake_all(fire)
        if prev is not None:
            prev.join()  # it has left the pool; only its return is left

    def _start_next(self) -> None:
        """Start the next worker of the chain from a worker thread (never raises)."""
        try:
            self._start_worker()
        except BaseException as exc:  # out of threads: the tasks in _ready wait for a worker
            report_exception(exc)

    def _withdraw_idle(self, e: Parked) -> None:
        with self._lock:
            self._idle.remove(e)

    def _panic(self, exc: BaseException) -> None:
        """Report a go() task's exception; nothing raised here may kill the worker."""
        handler = self._panic_handler
        if handler is not None:
            try:
                handler(exc)
                return
            except BaseException as exc2:
                exc = exc2
        report_exception(exc)

    def _release_ready_locked(self) -> list[Waiter]:
        """Claim the release() waiters whose target is reached. Lock held; caller wakes them."""
        if not self._release_waiters:
            return []
        alive = self._alive
        return [e.waiter for e in self._release_waiters.claim_where(lambda e: alive <= e.value)]

    # ------------------------------------------------------------------------------- lifecycle

    def _close_locked(self) -> list[Waiter]:
        """Close the pool; return the waiters to wake (idle workers, blocked submitters)."""
        if self._closed:
            return []
        self._closed = True
        fire: list[Waiter] = []
        for e in self._idle.claim_all():
            e.waiter.ok = False  # stop
            self._workers -= 1
            fire.append(e.waiter)
        for e in self._waiters.claim_all():
            e.waiter.ok = False  # value None: the caller raises PoolClosed
            fire.append(e.waiter)
        return fire

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the pool: no new task is accepted (:exc:`PoolClosed`), idle workers end.

        Callers blocked in ``submit``/``go`` raise :exc:`PoolClosed` (their tasks were never
        accepted). Tasks already accepted run to completion; with ``cancel_futures=True``, the
        futures of accepted tasks that have not started yet are cancelled instead (a ``go()``
        task has no future: it runs). ``wait=True`` then waits as ``release()`` does (every
        worker thread has ended when it returns). Calling it again is harmless.
        """
        with self._lock:
            fire = self._close_locked()
            pending: list[Future[Any]] = []
            if cancel_futures:
                tasks = [*self._ready, *(rec.task for rec in self._records)]
                pending = [t[0] for t in tasks if t is not None and t[0] is not None]
        for w in fire:
            w.wake()
        for fut in pending:
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
        block(self._releasing(timeout, ThreadWaiter))

    async def async_release(self) -> None:
        """:meth:`release` for an asyncio or trio task (no timeout: use a cancel scope).

        Cancelled while waiting, it raises the cancellation; the pool stays closed.
        """
        await async_block(self._releasing(None, async_waiter))

    def _releasing(self, timeout: float | None, new_waiter: Callable[[], Waiter]) -> Blocking[None]:
        """Close, then wait until every worker thread ended: the body of every world."""
        target = 1 if _get_ident() in self._idents else 0
        with self._lock:
            fire = self._close_locked()
            e = None
            if self._alive > target:
                e = self._release_waiters.park(new_waiter(), target)
        for f in fire:
            f.wake()
        if e is not None and not (yield e.waiter, timeout, partial(self._withdraw_release, e)):
            raise TimeoutError(
                f"pool {self._name!r}: {self._alive} worker(s) still busy after {timeout}s"
            )
        self._join_retired()

    def _withdraw_release(self, e: Parked) -> None:
        with self._lock:
            self._release_waiters.remove(e)

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
            fire = self._release_waiters.claim_all()
        wake_all(fire)
        if self._prealloc:
            self._preallocate()

    def tune(self, size: int) -> None:
        """Change the capacity (``size <= 0``: unlimited).

        Growing takes effect at once: waiting submitters are accepted and get workers. Shrinking
        never interrupts a task: idle workers beyond the new capacity end now, coldest first, and
        busy ones end when they finish their task, until at most ``size`` remain. A ``prealloc``
        pool starts workers up to the new capacity. On a closed pool it only records the
        capacity. Raises :exc:`TypeError` if ``size`` is not an integer, and the error of a
        thread that could not be started (the tasks it was for wait for a busy worker then).
        """
        size = operator.index(size)
        new = size if size > 0 else -1
        wake: list[Waiter] = []
        start = 0
        with self._lock:
            self._cap = new
            if self._closed:
                return
            while self._waiters and (new < 0 or self._accepted < new):
                head = self._accept_waiter_locked()
                if head is None:
                    break
                wake.append(head[0])
                iw, spawn = self._find_worker_locked(head[1])
                if iw is not None:
                    wake.append(iw)
                start += spawn
            if new > 0 and self._workers > new:
                # Stop the coldest idle workers first (the bottom of the LIFO stack).
                excess = self._workers - new
                while excess and (e := self._idle.pop_live()) is not None:
                    e.waiter.ok = False
                    self._workers -= 1
                    excess -= 1
                    wake.append(e.waiter)
        error: BaseException | None = None
        for _ in range(start):
            try:
                self._start_worker()
            except BaseException as exc:  # out of threads: the others still get a chance
                error = exc
        for fw in wake:
            fw.wake()
        if self._prealloc:
            self._preallocate()
        if error is not None:
            raise error


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


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` concurrently, Go's ``go`` statement.

    Runs on the package's default unlimited :class:`Pool` (:func:`default_pool`: threads are
    reused, and reclaimed when idle). An exception escaping ``fn`` is reported through
    :func:`threading.excepthook`, never swallowed. Also importable from :mod:`goprims.chan`
    and :mod:`goprims`.
    """
    default_pool().go(fn, *args, **kwargs)


def _after_fork_in_child() -> None:
    # Only the forking thread survives: forget the parent's workers, waiters and locks.
    for pool in list(_all_pools):
        pool._lock = threading.Lock()
        pool._workers = pool._accepted = pool._coming = pool._alive = 0
        pool._ready = deque()
        pool._idle = WaitQueue(pool._lock)
        pool._waiters = WaitQueue(pool._lock)
        pool._release_waiters = WaitQueue(pool._lock)
        pool._records = set()
        pool._idents = set()
        pool._last_exit = None
    global _default_lock
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

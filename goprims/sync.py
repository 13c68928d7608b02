"""Go's synchronisation primitives for threads, asyncio and trio: the Once family, WaitGroup,
a cyclic Barrier, a weighted FIFO Semaphore and errgroup's :class:`Group`.

Every primitive here is one object that threads, asyncio tasks (any loop, any thread) and trio
tasks may share. A call that must block parks through the waiter core (:mod:`goprims._waiter`):
under the primitive's lock it puts a waiter on a wait queue, releases the lock and parks; the
party that completes the operation claims the waiter, records the outcome on it under the lock
and wakes it after releasing the lock. Nothing here polls or busy-waits.

Conventions (as everywhere in goprims):

* ``timeout`` is in seconds; ``None`` waits forever; ``0`` (or less) never blocks. An expired
  timeout raises the builtin :class:`TimeoutError` and leaves the object as if the call had never
  been made.
* Every blocking method has an ``async_`` twin that works under asyncio and trio. Cancelling it
  before it completed raises the cancellation and leaves nothing behind; a cancellation that
  races with completion is dropped and the call reports success (the waiter core's rule), so the
  caller never loses what it was given (a semaphore grant, a barrier passage).
* Under trio each ``async_`` call is a checkpoint, also when it completes without blocking.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from goprims._report import report_exception
from goprims._waiter import (
    Blocking,
    Parked,
    ThreadWaiter,
    Waiter,
    WaitQueue,
    async_block,
    async_library,
    async_waiter,
    block,
    cancel_shielded_checkpoint,
    checkpoint_if_cancelled,
    trio_lowlevel,
    wake_all,
)

if TYPE_CHECKING:
    from goprims.context import Context

__all__ = [
    "Barrier",
    "BrokenBarrierError",
    "CalledTwice",
    "Group",
    "Once",
    "Semaphore",
    "WaitGroup",
    "once_func",
    "once_only",
    "once_value",
]

T = TypeVar("T")
P = ParamSpec("P")

_get_ident = threading.get_ident
_Lock = threading.Lock


def _spawn(target: Callable[..., object], *args: Any) -> None:
    """Run ``target(*args)`` as a goroutine: :func:`goprims.pool.go`, on the default pool."""
    from goprims.pool import go

    go(target, *args)


def _current_task() -> object:
    """The running asyncio or trio task (an identity token for re-entrancy checks)."""
    if async_library() == "trio":
        return trio_lowlevel().current_task()
    import asyncio

    return asyncio.current_task()


# ------------------------------------------------------------------------------------------ Once


class CalledTwice(RuntimeError):
    """A function wrapped by :func:`once_only` was called a second time.

    The Python form of Go's "close of closed channel" panic used as a one-shot guard.
    """


class _OnceState:
    """The run-once core shared by :class:`Once`, :func:`once_func` and :func:`once_value`.

    A caller that finds the function not yet started becomes the *runner*; callers that arrive
    while it runs park until it has finished; callers after that take the lock-free fast path.
    """

    __slots__ = ("_done", "_lock", "_runner", "_runner_task", "_waiters")

    def __init__(self) -> None:
        self._lock = _Lock()
        # Invariants, under _lock (``_done`` is also read without it: it only goes False -> True,
        # and it is set only after the function has returned, so a fast-path reader that sees
        # True also sees the function's effects):
        #   _runner is not None  <=> the function is running (ident of the runner's thread);
        #   _runner_task         is the runner's async task, None for a plain-thread runner;
        #   _waiters non-empty   => the function is running (callers parked until it ends);
        #   _done                => _runner is None and not _waiters.
        self._done = False
        self._runner: int | None = None
        self._runner_task: object = None
        self._waiters = WaitQueue(self._lock)

    def _beginning(self, task: object, new_waiter: Callable[[], Waiter]) -> Blocking[bool]:
        """Become the runner (True) or wait until the runner finished (False). ``task`` is the
        calling async task, None for a plain thread (for the re-entrancy check)."""
        me = _get_ident()
        with self._lock:
            if self._done:
                return False
            if self._runner is None:
                self._runner = me
                self._runner_task = task
                return True
            if task is None and self._runner == me:
                raise RuntimeError(
                    "once: called again from the thread that is running the function "
                    "(recursive call, or a blocking call from the runner's event loop): "
                    "this would deadlock"
                )
            if task is not None and (
                self._runner_task is task or (self._runner_task is None and self._runner == me)
            ):
                raise RuntimeError(
                    "once: called again from the task that is running the function: "
                    "this would deadlock"
                )
            e = self._waiters.park(new_waiter())
        yield e.waiter, None, self._waiters.withdrawer(e)
        return False

    def _begin(self) -> bool:
        """:meth:`_beginning` in a plain thread."""
        return block(self._beginning(None, ThreadWaiter))

    def _finish(self) -> None:
        """Mark the function as done and release every caller parked while it ran."""
        with self._lock:
            self._done = True
            self._runner = None
            self._runner_task = None
            wake = self._waiters.claim_all()
        wake_all(wake)


class Once(_OnceState):
    """Go's ``sync.Once``: run a function exactly once, however many callers race.

    Only the first call of :meth:`do` (or :meth:`async_do`) runs its function, even when later
    calls pass a different one. Callers that arrive while it runs wait until it has returned,
    so after ``do`` returns the function's effects are visible to the caller. Once it has run,
    ``do`` is a lock-free attribute test.

    If the function raises, the Once still counts as done (Go: "if f panics, Do considers it to
    have returned") and the exception propagates to the caller that ran it only: concurrent and
    later callers return normally and the function is never retried. Use :func:`once_value` to
    have every caller see the failure.

    Calling ``do`` again from inside the function (or from the thread running it) would deadlock
    in Go; here it raises :class:`RuntimeError` instead.
    """

    __slots__ = ()

    @property
    def done(self) -> bool:
        """True once the function has returned or raised (informational)."""
        return self._done

    def do(self, fn: Callable[..., object], *args: Any) -> None:
        """Call ``fn(*args)`` if no call of this Once has run a function yet; otherwise wait
        until that call has finished (if it is still running) and return. Returns ``None``."""
        if self._done:
            return
        if self._begin():
            try:
                fn(*args)
            finally:
                self._finish()

    async def async_do(self, fn: Callable[..., object], *args: Any) -> None:
        """:meth:`do` for asyncio and trio tasks.

        ``fn`` may be a plain function or a coroutine function: an awaitable result is awaited
        before the Once counts as done. Waiting callers park without blocking their event loop.
        If the running task is cancelled inside ``fn``, that counts as ``fn`` raising: the Once is
        done and the cancellation propagates to that task only.
        """
        if self._done:
            await checkpoint_if_cancelled()
            await cancel_shielded_checkpoint()
            return
        if await async_block(self._beginning(_current_task(), async_waiter)):
            try:
                r = fn(*args)
                if isinstance(r, Awaitable):
                    await r
            finally:
                self._finish()

    def __repr__(self) -> str:
        return f"<Once done={self._done}>"


class _OnceValue(_OnceState, Generic[T]):
    """The callable returned by :func:`once_value` (and, returning None, :func:`once_func`)."""

    __slots__ = ("_exc", "_fn", "_name", "_tb", "_value")

    def __init__(self, fn: Callable[[], T]) -> None:
        _OnceState.__init__(self)
        self._fn: Callable[[], T] | None = fn
        self._name = getattr(fn, "__qualname__", repr(fn))
        self._value: T | None = None
        self._exc: BaseException | None = None
        self._tb: Any = None

    def __call__(self) -> T:
        if self._done:
            if self._exc is None:
                return self._value  # type: ignore[return-value]
            raise self._exc.with_traceback(self._tb)
        return self._slow_call()

    def _slow_call(self) -> T:
        if self._begin():
            fn = self._fn
            self._fn = None  # do not keep fn (and what it references) alive
            assert fn is not None
            try:
                self._value = fn()
            except BaseException as exc:
                self._exc = exc
                self._tb = exc.__traceback__
                self._finish()
                raise
            self._finish()
            return self._value
        return self()

    def __repr__(self) -> str:
        return f"<once_value {self._name} done={self._done}>"


class _OnceFunc(_OnceValue[object]):
    __slots__ = ()

    def __call__(self) -> None:
        if self._done and self._exc is None:
            return
        _OnceValue.__call__(self)

    def __repr__(self) -> str:
        return f"<once_func {self._name} done={self._done}>"


def once_func(fn: Callable[[], object]) -> Callable[[], None]:
    """Go 1.21's ``sync.OnceFunc``: a function that calls ``fn()`` at most once.

    The returned function may be called from any number of threads at once; only the first call
    runs ``fn``, the others wait until it has returned. It always returns ``None``.
    If ``fn`` raised, every call (the first one included) raises that same exception object,
    with the traceback of the original failure. ``fn`` is dropped once it has run.
    """
    return _OnceFunc(fn)


def once_value(fn: Callable[[], T]) -> Callable[[], T]:
    """Go 1.21's ``sync.OnceValue``: a function that calls ``fn()`` once and caches the result.

    Every call returns the value of the first and only call of ``fn``; concurrent first callers
    wait until it is computed. If ``fn`` raised, every call re-raises that same exception object
    (with the original traceback), and ``fn`` is never called again. For several values return a
    tuple (Go's ``OnceValues``). Unlike :func:`functools.cache`, ``fn`` never runs twice under
    concurrency. It is not for async code: use :meth:`Once.async_do` there.
    """
    return _OnceValue(fn)


def once_only(fn: Callable[P, T]) -> Callable[P, T]:
    """Guard ``fn`` so that it may be called once only (Go's "close a channel twice panics").

    The first call runs ``fn(*args, **kwargs)`` and returns its result (or raises its exception);
    every later call raises :class:`CalledTwice` without calling ``fn``, also a call made while
    the first one is still running. Among racing first calls exactly one runs ``fn``; the others
    raise :class:`CalledTwice` at once, they do not wait.

    One guard per wrapped function object: to guard a method per instance, wrap it in
    ``__init__`` (``self.close = once_only(self._close)``).
    """
    claim = _Lock()
    name = getattr(fn, "__qualname__", repr(fn))

    @functools.wraps(fn)
    def once_only_wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if not claim.acquire(False):
            raise CalledTwice(f"{name} called twice")
        return fn(*args, **kwargs)

    return once_only_wrapper


# ------------------------------------------------------------------------------------- WaitGroup


class WaitGroup:
    """Go's ``sync.WaitGroup``: wait for a collection of tasks to finish.

    :meth:`add` raises the counter, :meth:`done` lowers it by one, :meth:`wait` blocks until it is
    zero (at once if it already is). When the counter reaches zero every waiter is released,
    threads and async tasks alike. A counter that would go negative raises :class:`ValueError`
    and is left unchanged (Go panics). A WaitGroup may be reused once a round's waiters have
    returned. :meth:`go` is Go 1.25's ``WaitGroup.Go``.
    """

    __slots__ = ("_count", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = _Lock()
        # Invariants, under _lock: _count >= 0; _waiters non-empty => _count > 0.
        # (_count is also read without the lock by the waits' fast path.)
        self._count = 0
        self._waiters = WaitQueue(self._lock)

    @property
    def count(self) -> int:
        """The current counter (informational: it may change at any moment)."""
        return self._count

    def add(self, n: int = 1) -> None:
        """Add ``n`` (which may be negative) to the counter; at zero, release every waiter.

        Raises :class:`ValueError` if the counter would become negative (the counter is not
        changed).
        """
        lock = self._lock
        lock.acquire()
        try:
            c = self._count + n
            if c < 0:
                raise ValueError(f"negative WaitGroup counter ({self._count} + {n})")
            self._count = c
            if c or not self._waiters:
                return
            wake = self._waiters.claim_all()
        finally:
            lock.release()
        wake_all(wake)

    def done(self) -> None:
        """Decrement the counter by one (``add(-1)``); :class:`ValueError` if it is zero."""
        self.add(-1)

    def _waiting(self, timeout: float | None, new_waiter: Callable[[], Waiter]) -> Blocking[None]:
        """The wait, for every world: return at zero, else park until the counter reaches it."""
        if self._count == 0:  # lock-free fast path: the counter is read atomically
            return
        with self._lock:
            if self._count == 0:
                return
            if timeout is not None and timeout <= 0:
                raise TimeoutError("WaitGroup.wait: counter is not zero")
            e = self._waiters.park(new_waiter())
        if not (yield e.waiter, timeout, self._waiters.withdrawer(e)):
            raise TimeoutError(f"WaitGroup.wait timed out after {timeout} s")

    def wait(self, timeout: float | None = None) -> None:
        """Block until the counter is zero. :class:`TimeoutError` after ``timeout`` seconds."""
        if self._count == 0:  # the body's fast path, inlined: no generator for a done group
            return
        block(self._waiting(timeout, ThreadWaiter))

    async def async_wait(self, timeout: float | None = None) -> None:
        """:meth:`wait` for asyncio and trio tasks (a checkpoint under trio)."""
        await async_block(self._waiting(timeout, async_waiter))

    def go(self, fn: Callable[..., object], *args: Any) -> None:
        """Go 1.25's ``WaitGroup.Go``: ``add(1)``, run ``fn(*args)`` concurrently, then ``done()``.

        ``fn`` runs via :func:`goprims.go` (the default pool). An exception
        escaping ``fn`` is reported through :func:`threading.excepthook` *before* ``done()`` is
        called (so a waiter cannot return before the report), and is not re-raised by
        :meth:`wait`; use :class:`Group` to collect errors.
        """
        self.add(1)
        try:
            _spawn(self._run, fn, args)
        except BaseException:
            self.done()
            raise

    def _run(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException as exc:
            report_exception(exc)
        finally:
            self.done()

    def __repr__(self) -> str:
        return f"<WaitGroup count={self._count}>"


# --------------------------------------------------------------------------------------- Barrier


class BrokenBarrierError(threading.BrokenBarrierError):
    """A :class:`Barrier` was aborted, or reset while the caller waited (a subclass of
    :class:`threading.BrokenBarrierError`, so code written for the stdlib barrier catches it)."""


class Barrier:
    """A cyclic barrier: ``parties`` callers meet, then all proceed; it then resets by itself.

    :meth:`wait` (or :meth:`async_wait`; threads and async tasks may meet at the same barrier)
    blocks until ``parties`` callers are waiting, then releases them all and returns each one's
    *arrival index* in the round, ``0 .. parties-1`` (the caller that completes the round gets
    ``parties-1``). The next ``parties`` callers form the next round.

    Unlike :class:`threading.Barrier`, a timeout does not break the barrier: a waiter whose
    timeout expires (or whose async wait is cancelled) withdraws and raises :class:`TimeoutError`
    (or the cancellation) without releasing or breaking the others, who keep waiting for a full
    round. Only :meth:`abort` breaks it, as in :class:`threading.Barrier`: every waiting caller,
    and every later one until :meth:`reset`, raises :class:`BrokenBarrierError`; :meth:`reset`
    returns it to the empty, unbroken state (callers waiting at that moment raise
    :class:`BrokenBarrierError` too).
    The arrival indices of a round are given among the callers released by it, in arrival order.
    A withdrawal and the round's completion race only at the instant both happen: whichever takes
    the barrier's lock first wins. If the round completes first, the waiter is released with an
    index, also when its timeout had already fired; an async waiter cancelled at that instant has
    passed the barrier (the others are released) and still raises its cancellation.
    ``parties < 1`` raises :class:`ValueError`.
    """

    __slots__ = ("_broken", "_lock", "_parties", "_waiters")

    def __init__(self, parties: int) -> None:
        if parties < 1:
            raise ValueError(f"Barrier parties must be >= 1, got {parties}")
        self._parties = parties
        self._lock = _Lock()
        # Set by abort(), cleared by reset(); under _lock. Broken => _waiters is empty.
        self._broken = False
        # Invariant, under _lock: len(_waiters) < _parties; its entries are the current round's
        # parked callers in arrival order. Completing a round numbers every entry's waiter
        # (index >= 0, also those withdrawing at that instant) and empties the queue: a
        # withdrawing waiter whose index is set has passed. abort() and reset() fire the parked
        # waiters with ok=False (index stays -1): they raise BrokenBarrierError.
        self._waiters = WaitQueue(self._lock)

    @property
    def parties(self) -> int:
        """The number of callers that make up a round."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many callers wait in the current round (informational)."""
        return len(self._waiters)

    def _release(self) -> list[Parked]:
        """Complete the round: number the parked callers and claim them. Lock held."""
        q = self._waiters
        for i, e in enumerate(q):
            e.waiter.index = i
        return q.claim_all()

    @property
    def broken(self) -> bool:
        """True after :meth:`abort`, until :meth:`reset`."""
        return self._broken

    def abort(self) -> None:
        """Break the barrier (:class:`threading.Barrier`'s ``abort``): every caller waiting now
        raises :class:`BrokenBarrierError`, and so does every :meth:`wait` until :meth:`reset`.
        Useful to stop a group when one of its members fails. Idempotent."""
        with self._lock:
            self._broken = True
            wake = self._break_waiters()
        wake_all(wake)

    def reset(self) -> None:
        """Return the barrier to its initial state: empty and not broken. Callers waiting at
        this moment raise :class:`BrokenBarrierError` (their round is abandoned), as with
        :class:`threading.Barrier`; later callers form a new round."""
        with self._lock:
            self._broken = False
            wake = self._break_waiters()
        wake_all(wake)

    def _break_waiters(self) -> list[Parked]:
        """Fire every parked caller with "broken". Lock held; wake them after releasing it."""
        wake = self._waiters.claim_all()
        for e in wake:
            e.waiter.ok = False
        return wake

    def _waiting(self, timeout: float | None, new_waiter: Callable[[], Waiter]) -> Blocking[int]:
        """The wait, for every world: complete the round, or park until it is complete."""
        with self._lock:
            if self._broken:
                raise BrokenBarrierError("Barrier.wait: the barrier is broken (abort)")
            if len(self._waiters) + 1 >= self._parties:
                wake = self._release()
                e = None
            elif timeout is not None and timeout <= 0:
                raise TimeoutError("Barrier.wait: round not complete")
            else:
                e = self._waiters.park(new_waiter())
        if e is None:
            wake_all(wake)
            return self._parties - 1
        w = e.waiter
        if (yield w, timeout, self._waiters.withdrawer(e)) or w.index >= 0:
            if not w.ok:
                raise BrokenBarrierError("Barrier.wait: the barrier was aborted or reset")
            return w.index
        raise TimeoutError(f"Barrier.wait timed out after {timeout} s")

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the round to fill; return this caller's arrival index.

        Raises :class:`TimeoutError` after ``timeout`` seconds, having withdrawn from the round;
        :class:`BrokenBarrierError` if the barrier is broken (:meth:`abort`) or is aborted or
        reset while this caller waits.
        """
        return block(self._waiting(timeout, ThreadWaiter))

    async def async_wait(self, timeout: float | None = None) -> int:
        """:meth:`wait` for asyncio and trio tasks (a checkpoint under trio)."""
        return await async_block(self._waiting(timeout, async_waiter))

    def __repr__(self) -> str:
        broken = " broken" if self._broken else ""
        return f"<Barrier parties={self._parties} waiting={len(self._waiters)}{broken}>"


# ------------------------------------------------------------------------------------- Semaphore


class Semaphore:
    """A weighted semaphore with strict FIFO order (Go's ``golang.org/x/sync/semaphore.Weighted``).

    ``Semaphore(n)`` holds ``n`` units (its ``size``). :meth:`acquire` takes ``n`` units, blocking
    until they are free; :meth:`release` gives ``n`` back. Requests are served in arrival order with
    no barging: while anyone is queued, a new request queues behind it even if enough units are free
    for it, so a large request is never starved by a stream of small ones. (When the head of the
    queue withdraws, the requests behind it are served at once if they fit.)

    ``n`` must satisfy ``0 <= n <= size``: a request larger than the whole semaphore can never be
    served and raises :class:`ValueError` at once (Go would block until its context ends).
    Releasing more than is held raises :class:`ValueError` and changes nothing.
    ``with sem:`` / ``async with sem:`` acquire and release one unit.
    """

    __slots__ = ("_cur", "_lock", "_size", "_waiters")

    def __init__(self, n: int) -> None:
        # The contract names the capacity ``n`` (Go's NewWeighted(n)); it is the size below.
        if n < 0:
            raise ValueError(f"Semaphore size must be >= 0, got {n}")
        self._size = n
        self._lock = _Lock()
        # Invariants, under _lock: 0 <= _cur <= _size (units held); _waiters holds the queued
        # requests in arrival order, each entry's value its n; if _waiters has a live entry the
        # first one does not fit (_size - _cur < its n): nobody is queued while they could be
        # served.
        self._cur = 0
        self._waiters = WaitQueue(self._lock)

    @property
    def size(self) -> int:
        """Total units."""
        return self._size

    @property
    def available(self) -> int:
        """Units not held right now (informational: it may change at any moment)."""
        return self._size - self._cur

    def _check(self, n: int) -> None:
        if not 0 <= n <= self._size:
            raise ValueError(f"Semaphore: cannot acquire {n} units of {self._size}")

    def _grant(self) -> list[Parked]:
        """Serve queued requests from the head while they fit. Lock held."""
        wake = []
        q = self._waiters
        while (e := q.peek_live()) is not None and self._size - self._cur >= e.value:
            if q.claim(e):  # else it is withdrawing (timed out / cancelled): not served
                self._cur += e.value
                wake.append(e)
        return wake

    def _withdraw(self, e: Parked) -> None:
        with self._lock:
            if not self._waiters.remove(e):
                return  # skipped by a _grant, which served the requests behind it
            # If it was the head, its leaving may let the requests behind it through (if not,
            # the head still does not fit and this serves nobody).
            wake = self._grant()
        if wake:
            wake_all(wake)

    def try_acquire(self, n: int = 1) -> bool:
        """Take ``n`` units if they are free *and nobody is queued*; never blocks."""
        lock = self._lock
        lock.acquire()
        try:
            if 0 <= n <= self._size - self._cur and not self._waiters:
                self._cur += n
                return True
        finally:
            lock.release()
        self._check(n)
        return False

    def _acquiring(
        self, n: int, timeout: float | None, new_waiter: Callable[[], Waiter]
    ) -> Blocking[None]:
        """The acquire, for every world: take the units, or queue and wait for the grant."""
        with self._lock:
            if 0 <= n <= self._size - self._cur and not self._waiters:
                self._cur += n
                return
            self._check(n)
            if timeout is not None and timeout <= 0:
                raise TimeoutError(f"Semaphore: {n} units not available")
            e = self._waiters.park(new_waiter(), n)
        if not (yield e.waiter, timeout, functools.partial(self._withdraw, e)):
            raise TimeoutError(f"Semaphore.acquire({n}) timed out after {timeout} s")

    def acquire(self, n: int = 1, timeout: float | None = None) -> None:
        """Take ``n`` units, waiting in FIFO order until they are free.

        Raises :class:`TimeoutError` after ``timeout`` seconds, having taken nothing (if the grant
        races with the timeout, the grant wins and the call returns normally).
        """
        lock = self._lock
        lock.acquire()
        # The body's first step, inlined (acquire is hot): free units and nobody queued.
        if 0 <= n <= self._size - self._cur and not self._waiters:
            self._cur += n
            lock.release()
            return
        lock.release()
        block(self._acquiring(n, timeout, ThreadWaiter))

    async def async_acquire(self, n: int = 1, timeout: float | None = None) -> None:
        """:meth:`acquire` for asyncio and trio tasks. Cancelled before the grant it takes
        nothing; a grant that races with the cancellation is kept (the call returns)."""
        await async_block(self._acquiring(n, timeout, async_waiter))

    def release(self, n: int = 1) -> None:
        """Give back ``n`` units and serve queued requests in order.

        Raises :class:`ValueError` (changing nothing) if more units would be released than held.
        """
        lock = self._lock
        lock.acquire()
        try:
            cur = self._cur - n
            if cur < 0 or n < 0:
                raise ValueError(f"Semaphore: released {n} units, {self._cur} held")
            self._cur = cur
            if not self._waiters:
                return
            wake = self._grant()
        finally:
            lock.release()
        wake_all(wake)

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    async def __aenter__(self) -> Semaphore:
        await self.async_acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<Semaphore size={self._size} held={self._cur} queued={len(self._waiters)}>"


# ----------------------------------------------------------------------------------------- Group


class Group:
    """Go's ``golang.org/x/sync/errgroup.Group``: run tasks concurrently, collect the first error.

    ``Group(ctx=None, limit=None)``: :attr:`ctx` is a child of ``ctx`` (of
    :func:`goprims.context.background` when ``None``) that is cancelled by the first task that
    raises, or when :meth:`wait` returns, whichever comes first (errgroup's ``WithContext``).
    Tasks should watch ``group.ctx`` to stop early; ``goprims.context.cause(group.ctx)`` is the
    first exception (errgroup cancels with ``cancel(err)``). ``limit`` bounds how many tasks run
    at once: :meth:`go` blocks (FIFO) while ``limit`` tasks run, :meth:`try_go` declines instead.
    ``None`` means no limit; ``limit < 1`` raises :class:`ValueError`.

    :meth:`wait` blocks until every task started so far has finished, then raises the first
    exception any of them raised (later ones are discarded, as in Go), or returns ``None``.
    Tasks run via :func:`goprims.go` (the default pool). A Group should not be reused after
    :meth:`wait`.
    """

    __slots__ = ("_cancel", "_err", "_lock", "_sem", "_wg", "ctx")

    def __init__(self, ctx: Context | None = None, limit: int | None = None) -> None:
        from goprims import context as _context

        if limit is not None and limit < 1:
            raise ValueError(f"Group limit must be >= 1 or None, got {limit}")
        parent = _context.background() if ctx is None else ctx
        self.ctx: Context
        self.ctx, self._cancel = _context.with_cancel_cause(parent)
        self._lock = _Lock()
        self._err: BaseException | None = None  # the first error; set once, under _lock
        self._sem = None if limit is None else Semaphore(limit)
        self._wg = WaitGroup()

    def go(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` in a new task, first waiting (FIFO) until fewer than ``limit`` run.

        An exception escaping ``fn`` is recorded (the first one is what :meth:`wait` raises) and
        cancels :attr:`ctx`.
        """
        if self._sem is not None:
            self._sem.acquire()
        self._start(fn, args)

    async def async_go(self, fn: Callable[..., object], *args: Any) -> None:
        """:meth:`go` for asyncio and trio tasks: waits for a free slot without blocking the
        event loop. ``fn`` is a plain function and runs on a pool thread, like :meth:`go`."""
        if self._sem is not None:
            await self._sem.async_acquire()
        else:
            await checkpoint_if_cancelled()
            await cancel_shielded_checkpoint()
        self._start(fn, args)

    def try_go(self, fn: Callable[..., object], *args: Any) -> bool:
        """Start ``fn(*args)`` only if fewer than ``limit`` tasks run now; False otherwise."""
        if self._sem is not None and not self._sem.try_acquire():
            return False
        self._start(fn, args)
        return True

    def _start(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._wg.add(1)
        try:
            _spawn(self._run, fn, args)
        except BaseException:
            self._finished()
            raise

    def _finished(self) -> None:
        if self._sem is not None:
            self._sem.release()
        self._wg.done()

    def _run(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException as exc:
            with self._lock:
                first = self._err is None
                if first:
                    self._err = exc
            if first:
                self._cancel(exc)
        finally:
            self._finished()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every task, cancel :attr:`ctx`, and raise the first task exception if any.

        :class:`TimeoutError` after ``timeout`` seconds (the tasks keep running, :attr:`ctx` is
        not cancelled, and ``wait`` may be called again).
        """
        self._wg.wait(timeout)
        self._cancel(self._err)
        if self._err is not None:
            raise self._err

    async def async_wait(self, timeout: float | None = None) -> None:
        """:meth:`wait` for asyncio and trio tasks."""
        await self._wg.async_wait(timeout)
        self._cancel(self._err)
        if self._err is not None:
            raise self._err

    def __repr__(self) -> str:
        return f"<Group running={self._wg.count} failed={self._err is not None}>"

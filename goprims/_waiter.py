"""The waiter core: the one mechanism by which every blocking goprims primitive parks and wakes.

A blocking operation that cannot complete at once creates a *waiter*, parks it (in an entry of
its own, :class:`Parked`) on one of the primitive's :class:`WaitQueue` s under the primitive's
lock, releases the lock and waits. Another party later completes the operation on the waiter's
behalf and *fires* it:

1. it *claims* the waiter -- an atomic test-and-set (a non-blocking ``lock.acquire``). Exactly one
   party ever claims a waiter: a firer, or the waiter itself when it times out or is cancelled.
   A waiter registered on several queues (``select``) is thus completed by one case only. The
   claim happens inside :class:`WaitQueue` (``pop_live``, ``claim``, ``claim_all``,
   ``claim_where``), the only place that claims for a firer;
2. the firer records the outcome on the waiter (``index``, ``value``, ``ok``) while it still
   holds the primitive's lock, and
3. wakes it after releasing that lock (:func:`wake_all`; never wake while holding a lock).

Three kinds of waiter share that interface, one per world:

* :class:`ThreadWaiter` parks on a per-thread, pre-acquired ``_thread`` lock; ``wake`` releases it.
* :class:`AsyncioWaiter` awaits a future of the task's loop; ``wake`` sets it, through
  ``call_soon_threadsafe`` when called from another thread.
* :class:`TrioWaiter` parks with ``trio.lowlevel.wait_task_rescheduled``; ``wake`` reschedules
  the task, through the run's ``TrioToken`` when called from another thread.

Withdrawal (timeout, cancellation) is always: try to claim yourself, then call the caller's
``withdraw()`` which removes the entries from the primitive's queues *under the primitive's lock*.
Taking that lock also guarantees that a firer who won the claim has finished recording the
outcome. If the claim failed, the operation **completed**: the waiter reports success and the
caller uses the recorded outcome. Thus nothing is lost and nothing is done twice:

* a thread whose timeout races a firer returns the firer's value;
* a cancelled async waiter that was not fired raises the cancellation and consumed nothing;
* a cancelled async waiter that *was* fired returns normally with the value: the cancellation is
  dropped for this call. Under trio that is trio's own rule (``Abort.FAILED``; trio re-delivers the
  cancel at the next checkpoint, since its cancellation is level-triggered). Under asyncio the
  task's cancel request is withdrawn with ``Task.uncancel()`` (Python >= 3.11), exactly as if the
  cancel had arrived a moment later, after the call returned.

**One body for every world.** A blocking operation is written once, as a generator (a
:data:`Blocking`) that takes a ``new_waiter`` factory, does the operation under the primitive's
lock, and, when it must wait, yields ``(waiter, timeout, withdraw)`` once per wait and is sent
whether the waiter was fired. :func:`block` drives it in a thread (with :class:`ThreadWaiter`);
:func:`async_block` in an asyncio or trio task (with :func:`async_waiter`), adding trio's
checkpoints. The sync and async twins of a primitive are then two one-line drivers of the same
body and cannot drift apart.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import sniffio

if TYPE_CHECKING:
    import asyncio


__all__ = [
    "GIL_ATOMIC",
    "AsyncioWaiter",
    "Blocking",
    "Park",
    "Parked",
    "ThreadWaiter",
    "TrioWaiter",
    "WaitQueue",
    "Waiter",
    "async_block",
    "async_library",
    "async_waiter",
    "block",
    "wake_all",
]

T = TypeVar("T")

# CPython with the GIL: one deque.popleft() or set.add() is atomic, and every thread sees one
# order of memory operations. The lock-free pops of goprims.chan and goprims.workqueue rely on
# it; free-threaded builds take their locks instead.
GIL_ATOMIC: bool = getattr(sys, "_is_gil_enabled", lambda: True)()

_allocate_lock = threading.Lock
_get_ident = threading.get_ident
_TIMEOUT_MAX = threading.TIMEOUT_MAX

# ``import goprims`` must not import trio or asyncio (a thread-only program never needs them):
# each async library is imported by the first waiter of its world, which binds the names below.
# A task of that library is running then, so the import is a dictionary lookup.
_trio: Any = None  # the trio module, once bound
_current_trio_token: Any = None
_reschedule: Any = None
_wait_task_rescheduled: Any = None
_ABORT_SUCCEEDED: Any = None
_ABORT_FAILED: Any = None
_FIRED: Any = None  # what a woken trio task's wait_task_rescheduled returns (see _bind_trio)
_asyncio: Any = None  # the asyncio module, once bound
_get_running_loop: Any = None
_CancelledError: Any = None


def _bind_trio() -> Any:
    """Import trio and bind the trio calls the waiters make. Returns ``trio.lowlevel``."""
    global _trio, _current_task, _current_trio_token, _reschedule, _wait_task_rescheduled
    global _ABORT_SUCCEEDED, _ABORT_FAILED, _FIRED
    import outcome
    import trio

    lowlevel = trio.lowlevel
    _current_trio_token = lowlevel.current_trio_token
    _reschedule = lowlevel.reschedule
    _wait_task_rescheduled = lowlevel.wait_task_rescheduled
    _ABORT_SUCCEEDED = lowlevel.Abort.SUCCEEDED
    _ABORT_FAILED = lowlevel.Abort.FAILED

    class _Fired(outcome.Value):  # type: ignore[type-arg,misc]
        # The outcome a fired waiter's task is rescheduled with, shared by every wake: unlike
        # outcome.Value it can be unwrapped any number of times (its value is always True), so
        # a wake does not build one (an attrs instance: ~0.5 us, a rendezvous's costliest step).
        __slots__ = ()

        def unwrap(self) -> bool:
            return True

    _FIRED = _Fired(True)
    _trio = trio
    _current_task = lowlevel.current_task  # last: it is the bootstrap's trigger below
    return lowlevel


def _first_current_task() -> Any:
    # The first TrioWaiter of the process lands here: bind trio, then behave as current_task.
    return _bind_trio().current_task()


_current_task: Any = _first_current_task


def trio_lowlevel() -> Any:
    """``trio.lowlevel`` (imported on first use). Only for callers running in a trio task."""
    if _trio is None:
        return _bind_trio()
    return _trio.lowlevel


def _bind_asyncio() -> None:
    global _asyncio, _get_running_loop, _CancelledError
    import asyncio

    _get_running_loop = asyncio.get_running_loop
    _CancelledError = asyncio.CancelledError
    _asyncio = asyncio


class Waiter:
    """One-shot rendezvous between a blocked party and the one party that completes it.

    ``index``, ``value`` and ``ok`` are written by the party that claimed the waiter, before
    ``wake()``: the select case that fired, the value delivered (for a receive) and whether the
    operation succeeded (False: the primitive was closed).
    """

    __slots__ = ("_claim", "index", "ok", "value")

    def __init__(self) -> None:
        self._claim = _allocate_lock()
        self.index = -1
        self.value: Any = None
        self.ok = True

    def try_claim(self) -> bool:
        """Atomically claim the waiter. True for exactly one caller, ever."""
        return self._claim.acquire(False)

    def cancel(self) -> bool:
        """The waiting party gives up: claim the waiter for itself so that no firer can
        complete it. True if that worked (nothing happened); False if a firer claimed it first
        (the operation completed, or is being completed: wait for the wake)."""
        return self._claim.acquire(False)

    def claimed(self) -> bool:
        """True once someone claimed the waiter (a firer, or the waiter withdrawing itself)."""
        return self._claim.locked()

    def wake(self) -> None:  # pragma: no cover - overridden
        """Resume the blocked party. Called once, by the claimer, after releasing locks."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------- threads

_local = threading.local()


def _park_lock() -> Any:
    # One pre-acquired lock per thread, reused by every wait of that thread. At rest it is held;
    # wake() releases it; the waiting thread's acquire() takes it back.
    try:
        return _local.park
    except AttributeError:
        lock = _allocate_lock()
        lock.acquire()
        _local.park = lock
        return lock


class ThreadWaiter(Waiter):
    """A waiter for a plain (non-async) thread."""

    __slots__ = ("_park",)

    def __init__(self) -> None:
        Waiter.__init__(self)
        self._park = _park_lock()

    def wake(self) -> None:
        """Unpark the thread."""
        self._park.release()

    def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:
        """Block until fired (True) or until ``timeout`` seconds passed and the waiter withdrew.

        Returns False only if the waiter claimed itself, i.e. the operation did not happen; in
        that case ``withdraw()`` has removed it from the primitive's queues.
        """
        park = self._park
        try:
            if timeout is None:
                park.acquire()
                return True
            if park.acquire(True, min(max(timeout, 0.0), _TIMEOUT_MAX)):
                return True
        except BaseException:
            # KeyboardInterrupt and friends while parked: withdraw like a timeout. If a firer won
            # the claim its wake() is still coming: give this thread a fresh park lock so the
            # late release cannot satisfy a future wait.
            if not self.try_claim():
                _local.park = _allocate_lock()
                _local.park.acquire()
            withdraw()
            raise
        claimed = self.try_claim()
        withdraw()
        if claimed:
            return False
        park.acquire()  # a firer won the race; its wake() is imminent
        return True


# --------------------------------------------------------------------------------------- asyncio


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AsyncioWaiter(Waiter):
    """A waiter for an asyncio task (any loop, in any thread). Create it inside the task."""

    __slots__ = ("_expired", "_fut", "_loop", "_tid")

    def __init__(self) -> None:
        Waiter.__init__(self)
        if _asyncio is None:
            _bind_asyncio()
        loop = _get_running_loop()
        self._loop = loop
        self._fut: asyncio.Future[None] = loop.create_future()
        self._tid = _get_ident()
        self._expired = False

    def wake(self) -> None:
        """Resolve the task's future, from the loop's thread or any other."""
        if _get_ident() == self._tid:
            _resolve(self._fut)
        else:
            try:
                self._loop.call_soon_threadsafe(_resolve, self._fut)
            except RuntimeError:  # the loop is closed: nobody is left to wake
                pass

    def _expire(self) -> None:
        if self.try_claim():
            self._expired = True
            _resolve(self._fut)

    async def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> bool:
        """Await until fired (True) or timed out and withdrawn (False).

        Cancellation before the waiter was fired re-raises and leaves nothing behind;
        cancellation after it was fired is dropped and the call reports success.
        """
        handle = None if timeout is None else self._loop.call_later(max(timeout, 0.0), self._expire)
        try:
            await self._fut
        except _CancelledError:
            claimed = self.try_claim()
            withdraw()
            if claimed or self._expired:  # nothing happened (the timeout's claim is not a fire)
                raise
            task = _asyncio.current_task()
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            return True
        finally:
            if handle is not None:
                handle.cancel()
        if self._expired:
            withdraw()
            return False
        return True


# ------------------------------------------------------------------------------------------ trio


# Each trio task's (task, run token, thread), cached in the task's own context: a rendezvous
# parks once per value, and current_trio_token() costs more than the rest of the waiter. A child
# task starts with a copy of its parent's context, hence the check that the entry is the calling
# task's own; the entry keeps its task alive, so an entry carried into another run (a context
# leaked out of a task) can never pass that check.
_trio_home: ContextVar[tuple[Any, Any, int]] = ContextVar("goprims_trio_home")


class TrioWaiter(Waiter):
    """A waiter for a trio task. Create it inside the task."""

    __slots__ = ("_task", "_tid", "_token", "_withdraw")
    _withdraw: Callable[[], None] | None  # the parked wait's withdraw; None once fired or aborted

    def __init__(self) -> None:
        # Waiter.__init__ inlined: a trio rendezvous creates one waiter per operation.
        self._claim = _allocate_lock()
        self.index = -1
        self.value = None
        self.ok = True
        task = _current_task()  # the first one binds trio (see _bind_trio)
        home = _trio_home.get(None)
        if home is None or home[0] is not task:
            home = (task, _current_trio_token(), _get_ident())
            _trio_home.set(home)
        self._task, self._token, self._tid = home

    def wake(self) -> None:
        """Reschedule the task, from the trio thread or any other. Its
        ``wait_task_rescheduled`` returns True (see :meth:`wait`)."""
        # The wait's withdraw refers back to this waiter (through its entry): drop it, or every
        # rendezvous would leave a reference cycle for the garbage collector to find.
        self._withdraw = None
        if _get_ident() == self._tid:
            _reschedule(self._task, _FIRED)
        else:
            try:
                self._token.run_sync_soon(_reschedule, self._task, _FIRED)
            except _trio.RunFinishedError:
                pass

    def _abort(self, _: Any) -> Any:  # trio's abort_fn: returns a trio.lowlevel.Abort
        if self._claim.acquire(False):
            withdraw, self._withdraw = self._withdraw, None  # (the cycle, as in wake)
            if withdraw is not None:
                withdraw()
            return _ABORT_SUCCEEDED
        return _ABORT_FAILED  # fired: the value is on its way

    def wait(self, timeout: float | None, withdraw: Callable[[], None]) -> Awaitable[bool]:
        """Park the task until fired (True) or timed out and withdrawn (False).

        Without a timeout this returns trio's ``wait_task_rescheduled`` itself (no coroutine of
        our own around it: a rendezvous parks once per value), which :meth:`wake` resumes
        with True."""
        self._withdraw = withdraw
        if timeout is None:
            return _wait_task_rescheduled(self._abort)  # type: ignore[no-any-return]
        return self._wait_at_most(timeout)

    async def _wait_at_most(self, timeout: float) -> bool:
        with _trio.move_on_after(max(timeout, 0.0)):
            return await _wait_task_rescheduled(self._abort)  # type: ignore[no-any-return]
        return False


# ------------------------------------------------------------------------------------- selection


def async_library() -> str:
    """``"asyncio"`` or ``"trio"``: the async library running the current task."""
    try:
        lib = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        msg = "goprims async_* calls must run inside an asyncio or trio task"
        raise RuntimeError(msg) from None
    if lib not in ("asyncio", "trio"):
        raise RuntimeError(f"goprims supports asyncio and trio, not {lib!r}")
    return lib


def async_waiter() -> AsyncioWaiter | TrioWaiter:
    """A waiter for the current async task, whichever library runs it."""
    if sniffio.thread_local.name == "trio" or async_library() == "trio":
        return TrioWaiter()
    return AsyncioWaiter()


def in_trio() -> bool:
    """True inside a trio task (cheap: trio sets sniffio's thread-local while it runs)."""
    return sniffio.thread_local.name == "trio"


async def checkpoint_if_cancelled() -> None:
    """Trio's entry checkpoint for an async operation that may complete without blocking."""
    if in_trio():
        await trio_lowlevel().checkpoint_if_cancelled()


async def cancel_shielded_checkpoint() -> None:
    """Trio's exit checkpoint: let other tasks run without undoing a completed operation."""
    if in_trio():
        await trio_lowlevel().cancel_shielded_checkpoint()


# ----------------------------------------------------------------------------------- wait queues


class Parked:
    """One party parked on one :class:`WaitQueue`: its ``waiter`` and what the owner needs to
    complete it. ``value`` is what the party brings or asks for (a send's value, a semaphore
    request's ``n``, a pool task, a worker record); ``index`` tells apart several entries of one
    waiter (a ``select`` case's index). A waiter parked on several queues (or twice on one) has
    one entry per registration; entries compare by identity."""

    __slots__ = ("index", "queue", "value", "waiter")

    def __init__(self, waiter: Waiter, value: Any, index: int, queue: WaitQueue) -> None:
        self.waiter = waiter
        self.value = value
        self.index = index
        self.queue = queue  # the queue it was parked on

    def wake(self) -> None:
        """Wake the entry's waiter (after the firer released the owner's lock)."""
        self.waiter.wake()

    def withdraw(self) -> None:
        """Take the entry out of its queue if it is still there, under the queue's lock (a
        wait's ``withdraw``: a bound method costs less than a closure per wait)."""
        q = self.queue
        with q.lock:
            q.pop(self, None)

    def __repr__(self) -> str:
        state = "claimed" if self.waiter.claimed() else "live"
        return f"<Parked {state} index={self.index} value={self.value!r}>"


class WaitQueue(OrderedDict[Parked, None]):
    """The parked parties of one blocking primitive (Go's ``waitq``, trio's ``ParkingLot``).

    **Contract.** The owner guards the queue with its own lock (``lock``) and calls every method
    below with that lock held, except :meth:`withdrawer`'s closure, which takes it. A blocking
    operation:

    1. under the lock, finds it cannot complete, ``e = q.park(new_waiter(), value)``, and
       releases the lock;
    2. waits: ``w.wait(timeout, q.withdrawer(e))`` (or yields ``(w, timeout, q.withdrawer(e))``
       from a :data:`Blocking` body). False means it timed out or was cancelled and withdrew
       (nothing happened); True means a firer completed it and recorded the outcome on ``w``.

    A party that makes progress possible (a sender, a release, a close), under the lock:

    1. takes the parties to complete: :meth:`pop_live` (the next one, FIFO; ``last=True``: LIFO),
       :meth:`claim` (a given one, e.g. the head seen by :meth:`peek_live` if it fits),
       :meth:`claim_where` (those a predicate accepts) or :meth:`claim_all`. Each returns only
       entries whose waiter *it* claimed, removed from the queue: a waiter claimed elsewhere (a
       ``select`` completed on another channel, a party timing out) is skipped and dropped;
    2. records the outcome on each claimed ``entry.waiter`` (``index``, ``value``, ``ok``);
    3. releases the lock, then :func:`wake_all` (or ``entry.waiter.wake()``).

    A claimed party is never woken twice and never both completed and timed out. The queue is an
    ``OrderedDict`` of entries (so ``len(q)``/``bool(q)`` cost what a dict's do); iterate it to
    inspect entries, mutate it only through these methods.
    """

    __slots__ = ("lock",)

    def __init__(self, lock: Any) -> None:
        OrderedDict.__init__(self)
        self.lock = lock  # the owner's lock, which guards this queue

    def park(self, waiter: Waiter, value: Any = None, index: int = 0) -> Parked:
        """Append a new entry for ``waiter`` (FIFO) and return it. Lock held."""
        e = Parked(waiter, value, index, self)
        self[e] = None
        return e

    def remove(self, entry: Parked) -> bool:
        """Take ``entry`` out if it is still queued; True if it was. Lock held."""
        return self.pop(entry, _MISSING) is not _MISSING

    def withdrawer(self, entry: Parked) -> Callable[[], None]:
        """The ``withdraw`` callable for ``entry``'s wait: take the lock, :meth:`remove`
        (``entry.withdraw``)."""
        assert entry.queue is self, "the entry was parked on another queue"
        return entry.withdraw

    def pop_live(self, last: bool = False) -> Parked | None:
        """Claim and remove the oldest (``last``: the newest) entry whose waiter is unclaimed,
        dropping the claimed-elsewhere ones before it; None if there is none. Lock held."""
        popitem = self.popitem
        while self:
            e = popitem(last)[0]
            if e.waiter._claim.acquire(False):
                return e
        return None

    def peek_live(self) -> Parked | None:
        """The oldest entry whose waiter is unclaimed (not claimed: it may still withdraw; use
        :meth:`claim`), dropping claimed-elsewhere entries at the head. Lock held."""
        while self:
            e = next(iter(self))
            if not e.waiter._claim.locked():
                return e
            del self[e]
        return None

    def claim(self, entry: Parked) -> bool:
        """Remove ``entry`` and claim its waiter; False if the waiter was claimed elsewhere
        (it is withdrawing: skip it). Lock held."""
        self.pop(entry, None)
        return entry.waiter._claim.acquire(False)

    def claim_all(self) -> list[Parked]:
        """Claim every entry whose waiter is unclaimed, in order, and empty the queue. Lock held."""
        claimed = [e for e in self if e.waiter._claim.acquire(False)]
        self.clear()
        return claimed

    def claim_where(self, accept: Callable[[Parked], bool]) -> list[Parked]:
        """Claim and remove, in order, the live entries ``accept(entry)`` is true for; drop the
        claimed-elsewhere ones; keep the rest in place. Lock held."""
        claimed: list[Parked] = []
        for e in list(self):
            if e.waiter._claim.locked():
                del self[e]
            elif accept(e):
                del self[e]
                if e.waiter._claim.acquire(False):
                    claimed.append(e)
        return claimed

    def has_live(self, other_than: Waiter | None = None) -> bool:
        """Is some party other than ``other_than`` parked and unclaimed? Drops the claimed
        entries it meets. Lock held."""
        stale = []
        found = False
        for e in self:
            w = e.waiter
            if w is other_than:
                continue
            if w._claim.locked():
                stale.append(e)
                continue
            found = True
            break
        for e in stale:
            del self[e]
        return found

    def __repr__(self) -> str:
        return f"<WaitQueue parked={len(self)}>"


_MISSING: Any = object()


def wake_all(fired: Iterable[Waiter | Parked]) -> None:
    """Wake each of ``fired`` (waiters, or entries whose waiter the caller claimed). Call with no
    lock held: the one place that turns a firer's list into wake-ups."""
    for x in fired:
        x.wake()


# ------------------------------------------------------------------ one body for every world

Park = tuple[Waiter, "float | None", Callable[[], None]]
"""What a blocking body yields to wait: ``(waiter, timeout or None, withdraw)``."""

Blocking = Generator[Park, bool, T]
"""A blocking operation written once: it yields a :data:`Park` for each wait and is sent
whether the waiter fired (True) or withdrew after its timeout (False); its return value is the
operation's result. It creates its waiters with the ``new_waiter`` factory it was given, so the
same body serves threads (:func:`block`) and async tasks (:func:`async_block`). An exception
raised during a wait (a cancellation, ``KeyboardInterrupt``) is thrown into the body at its
``yield`` (so it can clean up) and propagates. A weighted gate, in full::

    def _taking(self, n, timeout, new_waiter) -> Blocking[None]:
        with self._lock:
            if self._free >= n and not self._waiters:
                self._free -= n
                return
            e = self._waiters.park(new_waiter(), n)   # a WaitQueue(self._lock)
        if not (yield e.waiter, timeout, self._waiters.withdrawer(e)):
            raise TimeoutError("not granted in time")  # withdrew: nothing was taken

    def take(self, n, timeout=None):
        block(self._taking(n, timeout, ThreadWaiter))

    async def async_take(self, n, timeout=None):
        await async_block(self._taking(n, timeout, async_waiter))

    def give(self, n):      # the firer: claim under the lock, record, wake after it
        with self._lock:
            self._free += n
            woken = []
            while (e := self._waiters.peek_live()) and e.value <= self._free:
                if self._waiters.claim(e):
                    self._free -= e.value
                    woken.append(e)
        wake_all(woken)
"""


def block(steps: Blocking[T]) -> T:
    """Run a blocking body in the calling thread (its waiters: :class:`ThreadWaiter`)."""
    try:
        w, timeout, withdraw = next(steps)
        while True:
            try:
                woken = w.wait(timeout, withdraw)  # type: ignore[attr-defined]
            except BaseException as exc:
                steps.throw(exc)
                raise
            w, timeout, withdraw = steps.send(woken)
    except StopIteration as done:
        result: T = done.value
        return result


async def async_block(steps: Blocking[T]) -> T:
    """Run a blocking body in an asyncio or trio task (its waiters: :func:`async_waiter`).

    Under trio the call is a checkpoint either way: a cancelled task raises before the body
    starts, and a body that completes without waiting still lets other tasks run (without
    undoing the completed operation), as trio's own primitives do.
    """
    trio = in_trio()
    if trio:
        await trio_lowlevel().checkpoint_if_cancelled()
    try:
        w, timeout, withdraw = next(steps)
    except StopIteration as done:
        if trio:
            await trio_lowlevel().cancel_shielded_checkpoint()
        result: T = done.value
        return result
    try:
        while True:
            try:
                woken = await w.wait(timeout, withdraw)  # type: ignore[attr-defined]
            except BaseException as exc:
                steps.throw(exc)
                raise
            w, timeout, withdraw = steps.send(woken)
    except StopIteration as done:
        result = done.value
        return result

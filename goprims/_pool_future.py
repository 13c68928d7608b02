"""The :class:`concurrent.futures.Future` that :class:`goprims.pool.Pool` gives to tasks.

:class:`PoolFuture` has the stdlib Future's states and API and costs less: it creates its internal
condition only when someone first needs it. It relies on the stdlib Future's internals, so it is
used only where they are exactly what it expects (:func:`new_future` falls back to the stdlib
Future otherwise). :func:`settle` is how a worker completes a task's future.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures._base import CANCELLED as _CANCELLED
from concurrent.futures._base import CANCELLED_AND_NOTIFIED as _CANCELLED_AND_NOTIFIED
from concurrent.futures._base import FINISHED as _FINISHED
from concurrent.futures._base import PENDING as _PENDING
from concurrent.futures._base import RUNNING as _RUNNING
from typing import Any

__all__ = ["PoolFuture", "new_future", "settle"]

_DONE = frozenset((_CANCELLED, _CANCELLED_AND_NOTIFIED, _FINISHED))

# Serialises the state changes of task futures that nobody has looked at yet (see PoolFuture).
_untouched_lock = threading.Lock()


class PoolFuture(Future[Any]):
    """The :class:`concurrent.futures.Future` given to tasks: same states, same API, less cost.

    Most futures are settled before anyone waits on them. This one creates its condition (a
    Condition, its RLock and deque, five bound methods: the bulk of a Future's allocations and
    of the garbage collector's work on a large batch) only when a caller first needs it:
    ``result()`` or ``exception()`` before completion, ``cancel()``, ``add_done_callback()``,
    ``concurrent.futures.wait()``/``as_completed()``, ``running()``, ``cancelled()``, ``repr()``.
    Until then nobody can be waiting, no callback or waiter is registered and no cancel has
    happened, so the worker's transitions (PENDING -> RUNNING -> FINISHED) only set the state,
    under the module's ``_untouched_lock``; creating the condition takes that lock too, so a
    transition and a first look never interleave, and once the condition exists every change goes
    through it as in the stdlib. ``result()`` and ``done()`` of a finished future read it without
    a lock: ``_result``/``_exception`` are written before ``_state`` becomes final.

    Used only when this Python's Future has exactly the expected internals (checked at import).
    """

    def __init__(self) -> None:  # not Future.__init__: no condition yet
        self._state = _PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._waiters: list[Any] = []
        self._done_callbacks: list[Callable[[Future[Any]], object]] = []
        self._cond: threading.Condition | None = None

    @property
    def _condition(self) -> threading.Condition:
        cond = self._cond
        if cond is None:
            with _untouched_lock:
                cond = self._cond
                if cond is None:
                    cond = self._cond = threading.Condition()
        return cond

    @_condition.setter
    def _condition(self, cond: threading.Condition) -> None:
        self._cond = cond

    def done(self) -> bool:
        """As :meth:`concurrent.futures.Future.done` (lock-free: done is a final state)."""
        return self._state in _DONE

    def result(self, timeout: float | None = None) -> Any:
        """As :meth:`concurrent.futures.Future.result` (a finished result is read lock-free)."""
        if self._state == _FINISHED and self._exception is None:
            return self._result
        return Future.result(self, timeout)

    def set_running_or_notify_cancel(self) -> bool:
        if self._cond is None:
            with _untouched_lock:
                if self._cond is None and self._state == _PENDING:
                    self._state = _RUNNING
                    return True
        with self._condition._lock:  # type: ignore[attr-defined]
            if self._state == _PENDING:
                self._state = _RUNNING
                return True
        return Future.set_running_or_notify_cancel(self)  # cancelled, or misused

    def set_result(self, result: Any) -> None:
        if self._cond is None:
            with _untouched_lock:
                if self._cond is None and self._state == _RUNNING:
                    self._result = result
                    self._state = _FINISHED  # nobody waits, no callback: nothing to notify
                    return
        cond = self._condition
        with cond._lock:  # type: ignore[attr-defined]
            fast = self._state == _RUNNING
            if fast:
                self._result = result
                self._state = _FINISHED
                for waiter in self._waiters:
                    waiter.add_result(self)
                if cond._waiters:  # type: ignore[attr-defined]
                    cond.notify_all()
        if not fast:
            Future.set_result(self, result)
        elif self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]

    def set_exception(self, exception: BaseException | None) -> None:
        if self._cond is None:
            with _untouched_lock:
                if self._cond is None and self._state == _RUNNING:
                    self._exception = exception
                    self._state = _FINISHED
                    return
        cond = self._condition
        with cond._lock:  # type: ignore[attr-defined]
            fast = self._state == _RUNNING
            if fast:
                self._exception = exception
                self._state = _FINISHED
                for waiter in self._waiters:
                    waiter.add_exception(self)
                if cond._waiters:  # type: ignore[attr-defined]
                    cond.notify_all()
        if not fast:
            Future.set_exception(self, exception)
        elif self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]


def _pool_future_fits() -> bool:
    """Does this Python's Future have exactly the internals PoolFuture relies on?"""
    try:
        f: Future[Any] = Future()
        cond = f._condition
        return (
            set(vars(f))
            == {"_condition", "_state", "_result", "_exception", "_waiters", "_done_callbacks"}
            and f._state == _PENDING
            and isinstance(cond, threading.Condition)
            and isinstance(cond._lock, type(threading.RLock()))  # type: ignore[attr-defined]
            and isinstance(cond._waiters, deque)  # type: ignore[attr-defined]
            and callable(getattr(f, "_invoke_callbacks", None))
            and "__slots__" not in vars(Future)
        )
    except Exception:  # pragma: no cover - another implementation
        return False


new_future: Callable[[], Future[Any]] = PoolFuture if _pool_future_fits() else Future
"""The Future class tasks are given: :class:`PoolFuture` where it fits, else the stdlib one."""


def settle(fut: Future[Any], outcome: Any, failed: bool) -> None:
    """Complete ``fut`` with ``outcome`` (an exception if ``failed``), unless someone else
    (not the pool) settled it already: theirs is kept."""
    try:
        if failed:
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)
    except InvalidStateError:  # someone else settled it (not through the pool): keep theirs
        pass


def _after_fork_in_child() -> None:
    # Only the forking thread survives: a lock held by another thread would stay held forever.
    global _untouched_lock
    _untouched_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

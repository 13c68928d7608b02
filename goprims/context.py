"""Go's ``context``: cancellation trees, deadlines and request-scoped values, for threads,
asyncio and trio alike.

A :class:`Context` is immutable from the outside; it can only be *derived*:

* :func:`background` (and :func:`todo`) is the root: never cancelled, no deadline, no values.
* :func:`with_cancel` returns a child and a ``cancel`` function;
  :func:`with_deadline` / :func:`with_timeout` also cancel the child when the deadline passes
  (on an injectable :class:`~goprims.clock.Clock`, through ``clock.call_at``: the shared timer
  thread for the real clock, ``FakeClock.step`` in tests);
* :func:`with_value` attaches one key/value pair.

Cancellation flows down, never up: cancelling a context cancels every descendant, at once and
before ``cancel()`` returns, and never its parent. A child derived from a context that is already
done is born done (same kind of error). ``cancel`` functions are idempotent and cheap; call them
when the work is finished (Go's ``defer cancel()``): that detaches the child from its parent and
stops its timer, so long-lived parents do not accumulate dead children.

Observing a context: ``ctx.done()`` is a :class:`~goprims.chan.Chan` that is closed when the
context is cancelled (it works in :func:`~goprims.chan.select`, and with ``recv_ok`` /
``async_recv_ok`` from any world); ``ctx.err()`` is ``None`` while it is not done, then a
:class:`Canceled` or a :class:`DeadlineExceeded` instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from goprims import clock as _clock
from goprims.chan import Chan

__all__ = [
    "CancelFunc",
    "Canceled",
    "Context",
    "DeadlineExceeded",
    "after_func",
    "background",
    "cause",
    "todo",
    "with_cancel",
    "with_cancel_cause",
    "with_deadline",
    "with_deadline_cause",
    "with_timeout",
    "with_timeout_cause",
    "with_value",
    "without_cancel",
]

CancelFunc = Callable[[], None]
"""The type of the function that cancels a derived context (idempotent)."""


class Canceled(Exception):
    """``ctx.err()`` of a context that was cancelled by a ``cancel`` function (its own or an
    ancestor's). Go's ``context.Canceled``."""

    def __init__(self, msg: str = "context canceled") -> None:
        super().__init__(msg)


class DeadlineExceeded(TimeoutError):
    """``ctx.err()`` of a context whose deadline passed (its own or an ancestor's).
    Go's ``context.DeadlineExceeded``; also a :class:`TimeoutError`."""

    def __init__(self, msg: str = "context deadline exceeded") -> None:
        super().__init__(msg)


_ErrKind = type[Canceled] | type[DeadlineExceeded]

# --------------------------------------------------------------------------------- done channels


class _DoneChan(Chan[None]):
    """A context's done channel: receive-only for its users (Go's ``<-chan struct{}``).

    ``send``/``async_send``/``close`` raise :class:`TypeError`, so no observer can fake a
    cancellation for the others; the context closes it with ``Chan.close``.
    """

    __slots__ = ()

    def send(self, value: None, timeout: float | None = None) -> None:
        raise TypeError("a context's done() channel is receive-only")

    async def async_send(self, value: None, timeout: float | None = None) -> None:
        raise TypeError("a context's done() channel is receive-only")

    def close(self) -> None:
        raise TypeError("a context's done() channel is closed by cancelling its context")


_chan_lock = threading.Lock()
_never: _DoneChan | None = None  # background's done channel: never closed
_closed: _DoneChan | None = None  # shared by contexts that were done before done() was called


def _never_chan() -> _DoneChan:
    global _never
    if _never is None:
        with _chan_lock:
            if _never is None:
                _never = _DoneChan(0)
    return _never


def _closed_chan() -> _DoneChan:
    global _closed
    if _closed is None:
        with _chan_lock:
            if _closed is None:
                ch = _DoneChan(0)
                Chan.close(ch)
                _closed = ch
    return _closed


# -------------------------------------------------------------------------------------- contexts


class Context:
    """A node of a context tree. Create one with :func:`background` or a ``with_*`` function.

    Every method may be called from any thread or task at any time.
    """

    __slots__ = ("__weakref__", "_canceler", "_dl", "_parent")

    # _parent: the context this one was derived from (None for the root).
    # _canceler: the nearest _CancelCtx at or above this node (None: it can never be cancelled).
    # _dl: (deadline, clock) of the nearest deadline at or above this node, or None.
    _parent: Context | None
    _canceler: _CancelCtx | None
    _dl: tuple[float, _clock.Clock] | None

    def done(self) -> Chan[None]:
        """A channel that is closed once this context is cancelled, and never receives a value.

        It is receive-only: ``send`` and ``close`` on it raise :class:`TypeError`.

        Never closed for :func:`background` and for contexts derived only through
        :func:`with_value` from it. Repeated calls may return different (equivalent) channels
        only in one case: a context that was already done before its first ``done()`` call
        returns a shared, already-closed channel.
        """
        c = self._canceler
        return _never_chan() if c is None else c._done_chan()

    def err(self) -> Canceled | DeadlineExceeded | None:
        """``None`` while not done; then :class:`Canceled` or :class:`DeadlineExceeded`.

        The same instance on every call for a given context; set before :meth:`done` is
        closed, so a receiver woken by ``done()`` always finds it.
        """
        c = self._canceler
        return None if c is None else c._err

    def deadline(self) -> float | None:
        """When this context will be cancelled by a deadline (its own or an ancestor's, the
        earliest on the same clock), on its clock's time line; ``None`` without a deadline."""
        dl = self._dl
        return None if dl is None else dl[0]

    def value(self, key: Any) -> Any:
        """The value for ``key`` from the nearest :func:`with_value` at or above this context,
        or ``None``. Keys compare with ``==``; prefer private objects or classes as keys."""
        c: Context | None = self
        while c is not None:
            if type(c) is _ValueCtx and (c._key is key or c._key == key):
                return c._val
            c = c._parent
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} err={self.err()!r}>"


class _WithoutCancel(Context):
    """:func:`without_cancel`: the parent's values, none of its cancellation or deadline."""

    __slots__ = ()

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._canceler = None
        self._dl = None

    def __repr__(self) -> str:
        return f"<without_cancel of {self._parent!r}>"


class _Background(Context):
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._parent = None
        self._canceler = None
        self._dl = None
        self._name = name

    def __repr__(self) -> str:
        return f"context.{self._name}()"


class _CancelCtx(Context):
    """A cancellable node (with_cancel); with a timer it is a with_deadline node."""

    __slots__ = (
        "_anchor",
        "_cause",
        "_children",
        "_deadline_cause",
        "_done",
        "_err",
        "_lock",
        "_timer",
    )

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._dl = parent._dl
        self._lock = threading.Lock()
        # Invariants, under _lock:
        #   _err is None <=> not cancelled; it is set once and never changes afterwards;
        #   _cause is set together with _err: the cancel cause, or _err itself;
        #   _err is not None => _children is None, _timer is None, and _done (if created) closed;
        #   _children: the cancellable nodes registered below this one (each has _anchor = self).
        # _err is read without the lock by err(): it is written before _done is closed.
        self._err: Canceled | DeadlineExceeded | None = None
        self._cause: BaseException | None = None
        self._done: _DoneChan | None = None  # created on first done() call
        self._children: dict[_CancelCtx, None] | None = {}
        self._timer: _clock.TimerHandle | None = None
        # The cause recorded when this node's own deadline expires (with_deadline_cause);
        # None: the DeadlineExceeded itself. Set before the timer is armed, never changed.
        self._deadline_cause: BaseException | None = None
        # The ancestor this node is registered with (to detach from it on cancel). Written
        # under the anchor's lock at registration; cleared under the anchor's lock.
        self._anchor: _CancelCtx | None = None

    @property
    def _canceler(self) -> _CancelCtx:  # type: ignore[override]
        # The node itself. A property, not the slot: a slot pointing back at its own node
        # would make every cancellable context a reference cycle, freed only by the cycle
        # collector.
        return self

    def done(self) -> Chan[None]:
        return self._done_chan()  # (Context.done without the property: done() is hot)

    def err(self) -> Canceled | DeadlineExceeded | None:
        return self._err  # (Context.err without the property: err() is hot)

    def _done_chan(self) -> Chan[None]:
        d = self._done
        if d is not None:
            return d
        with self._lock:
            if self._done is None:
                self._done = _closed_chan() if self._err is not None else _DoneChan(0)
            return self._done

    def _attach(self) -> None:
        """Register with the nearest cancellable ancestor, or be born done if it is done."""
        anc = self._parent._canceler if self._parent is not None else None
        if anc is None:
            return
        with anc._lock:
            err = anc._err
            if err is None:
                assert anc._children is not None
                anc._children[self] = None
                self._anchor = anc
            cause = anc._cause
        if err is not None:
            self._cancel(type(err), cause, detach=False)

    def _cancel(
        self, kind: _ErrKind, cause: BaseException | None = None, detach: bool = True
    ) -> None:
        """Cancel this node and its whole subtree with ``kind`` errors (no-op if done).

        ``cause`` (default: each node's own error) is what :func:`cause` reports for every node
        of the subtree. After-func nodes of the subtree start their function.

        Iterative, so arbitrarily deep trees cannot exhaust the stack. Each node is marked under
        its own lock only; a parent's children are handed over under its lock, so a child
        registering concurrently is either handed over or born done.
        """
        first = True
        stack: list[_CancelCtx] = [self]
        while stack:
            node = stack.pop()
            with node._lock:
                if node._err is not None:
                    if first:
                        return
                    continue
                node._err = err = kind()
                node._cause = err if cause is None else cause
                if node._done is not None:
                    Chan.close(node._done)
                children = node._children
                node._children = None
                timer = node._timer
                node._timer = None
            first = False
            if timer is not None:
                timer.cancel()
            if children:
                stack.extend(children)
            if type(node) is _AfterFuncCtx:
                node._start()
        if detach:
            self._detach()

    def _detach(self) -> None:
        anc = self._anchor
        if anc is None:
            return
        with anc._lock:
            if anc._children is not None:
                anc._children.pop(self, None)
            self._anchor = None

    def _expire(self) -> None:
        self._cancel(DeadlineExceeded, self._deadline_cause)


class _AfterFuncCtx(_CancelCtx):
    """The hidden node of :func:`after_func`: "cancelling" it starts ``fn`` as a goroutine;
    ``stop()`` marks it done without starting ``fn``."""

    __slots__ = ("_fn",)

    def __init__(self, parent: Context, fn: Callable[[], object]) -> None:
        _CancelCtx.__init__(self, parent)
        self._fn: Callable[[], object] | None = fn

    def _start(self) -> None:
        fn = self._fn
        self._fn = None
        if fn is not None:
            from goprims.pool import go  # lazy: the pool is not needed to use contexts

            go(fn)  # an exception escaping fn is reported by go() (threading.excepthook)

    def stop(self) -> bool:
        with self._lock:
            if self._err is not None:
                return False  # fn was started (or stop was called before)
            self._err = self._cause = Canceled("after_func stopped")
            self._children = None
            self._fn = None
        self._detach()
        return True


class _ValueCtx(Context):
    __slots__ = ("_key", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._canceler = parent._canceler
        self._dl = parent._dl
        self._key = key
        self._val = val

    def __repr__(self) -> str:
        return f"<with_value {self._key!r}: {type(self._val).__name__} of {self._parent!r}>"


_BACKGROUND = _Background("background")
_TODO = _Background("todo")


def background() -> Context:
    """The root context: never cancelled (``done()`` is never closed, ``err()`` is ``None``),
    no deadline, no values. Always the same object."""
    return _BACKGROUND


def todo() -> Context:
    """Like :func:`background`; marks a place where the right context is not yet known."""
    return _TODO


def _check_parent(parent: Context) -> None:
    if not isinstance(parent, Context):
        raise TypeError(f"parent must be a goprims Context, not {type(parent).__name__}")


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """A child of ``parent`` and the function that cancels it.

    The child is cancelled (``err()`` a :class:`Canceled`) when ``cancel()`` is called, or with the
    parent's kind of error when ``parent`` is cancelled; if ``parent`` is already done, the child is
    born done. ``cancel()`` is idempotent, cancels the child's descendants, never its parent, and
    detaches the child from the parent.
    """
    _check_parent(parent)
    ctx = _CancelCtx(parent)
    ctx._attach()
    return ctx, _canceller(ctx)


def with_cancel_cause(
    parent: Context,
) -> tuple[Context, Callable[[BaseException | None], None]]:
    """Go 1.20's ``WithCancelCause``: :func:`with_cancel` whose cancel function takes a cause.

    ``cancel(cause)`` cancels the child (``err()`` is still a :class:`Canceled`) and records
    ``cause``, which :func:`cause` then reports for the child and all its descendants;
    ``cancel(None)`` records the :class:`Canceled` itself. Only the first cancellation counts.
    """
    _check_parent(parent)
    ctx = _CancelCtx(parent)
    ctx._attach()

    def cancel(cause: BaseException | None) -> None:
        """Cancel the context with ``cause`` (only the first call has an effect)."""
        ctx._cancel(Canceled, cause)

    return ctx, cancel


def cause(ctx: Context) -> BaseException | None:
    """Go 1.20's ``context.Cause``: why ``ctx`` was cancelled.

    ``None`` while ``ctx`` is not done. Otherwise the cause given to the ``cancel(cause)`` of
    :func:`with_cancel_cause` that cancelled it (its own or an ancestor's), or else the same
    value as ``ctx.err()``.
    """
    c = ctx._canceler
    return None if c is None else c._cause


def after_func(ctx: Context, fn: Callable[[], object]) -> Callable[[], bool]:
    """Go 1.21's ``context.AfterFunc``: call ``fn()`` in a goroutine (:func:`goprims.go`) once
    ``ctx`` is done.

    If ``ctx`` is already done, ``fn`` starts at once. Returns ``stop()``, which unregisters
    ``fn``: it returns True if that prevented ``fn`` from being started, False if ``fn`` was
    already started (or ``stop`` was already called). ``fn`` never runs for a context that can
    never be cancelled. An exception escaping ``fn`` goes to :func:`threading.excepthook`.
    """
    _check_parent(ctx)
    node = _AfterFuncCtx(ctx, fn)
    node._attach()
    return node.stop


def without_cancel(parent: Context) -> Context:
    """Go 1.21's ``WithoutCancel``: a context with ``parent``'s values that is never cancelled
    when ``parent`` is (no deadline, ``done()`` never closed, ``err()`` None). Useful for work that
    must outlive the request that started it, such as cleanup or audit logging."""
    _check_parent(parent)
    return _WithoutCancel(parent)


def _canceller(ctx: _CancelCtx) -> CancelFunc:
    def cancel() -> None:
        """Cancel the context (idempotent)."""
        ctx._cancel(Canceled)

    return cancel


def with_deadline(
    parent: Context, when: float, clock: _clock.Clock | None = None
) -> tuple[Context, CancelFunc]:
    """A child of ``parent`` that is also cancelled, with :class:`DeadlineExceeded`, once
    ``clock.now() >= when``.

    ``when`` is on the clock's time line (``time.monotonic()`` seconds for the default real
    clock). If ``parent`` already has an earlier (or equal) deadline on the same clock, this is
    :func:`with_cancel` (the parent's deadline comes first). A deadline already past gives a child
    that is born done. ``cancel()`` (idempotent) also stops the timer.
    """
    return _with_deadline(parent, when, None, clock)


def with_deadline_cause(
    parent: Context, when: float, cause: BaseException | None, clock: _clock.Clock | None = None
) -> tuple[Context, CancelFunc]:
    """Go 1.21's ``WithDeadlineCause``: :func:`with_deadline` that records ``cause`` when the
    deadline expires.

    Once ``clock.now() >= when`` the child's ``err()`` is a :class:`DeadlineExceeded` and
    :func:`cause` reports ``cause`` for it and its descendants (``cause=None``: the
    ``DeadlineExceeded`` itself). The returned ``cancel()`` does not set the cause: cancelled
    by it, ``cause(ctx)`` is the :class:`Canceled`. A deadline already past gives a child born
    done with ``cause``. If ``parent`` has an earlier (or equal) deadline on the same clock, this
    is :func:`with_cancel` (Go's rule too): the parent's expiry, and its cause, come first.
    """
    return _with_deadline(parent, when, cause, clock)


def _with_deadline(
    parent: Context, when: float, cause: BaseException | None, clock: _clock.Clock | None
) -> tuple[Context, CancelFunc]:
    _check_parent(parent)
    clk = _clock.resolve(clock)
    pdl = parent._dl
    if pdl is not None and pdl[1] is clk and pdl[0] <= when:
        return with_cancel(parent)
    ctx = _CancelCtx(parent)
    ctx._dl = (when, clk)
    ctx._deadline_cause = cause
    ctx._attach()
    if ctx._err is None:  # else born done (the parent was done): no timer
        _arm(ctx, when, clk)
    return ctx, _canceller(ctx)


def _arm(ctx: _CancelCtx, when: float, clk: _clock.Clock) -> None:
    """Cancel ``ctx`` with DeadlineExceeded now if ``when`` has passed, else at ``when``."""
    if clk.now() >= when:
        ctx._expire()
    else:
        timer = clk.call_at(when, ctx._expire)
        with ctx._lock:
            keep = ctx._err is None
            if keep:
                ctx._timer = timer
        if not keep:  # cancelled meanwhile (by the parent): nobody else will stop the timer
            timer.cancel()


def with_timeout(
    parent: Context, seconds: float, clock: _clock.Clock | None = None
) -> tuple[Context, CancelFunc]:
    """``with_deadline(parent, clock.now() + seconds, clock)``."""
    clk = _clock.resolve(clock)
    return with_deadline(parent, clk.now() + seconds, clk)


def with_timeout_cause(
    parent: Context, seconds: float, cause: BaseException | None, clock: _clock.Clock | None = None
) -> tuple[Context, CancelFunc]:
    """Go 1.21's ``WithTimeoutCause``:
    ``with_deadline_cause(parent, clock.now() + seconds, cause, clock)``."""
    clk = _clock.resolve(clock)
    return with_deadline_cause(parent, clk.now() + seconds, cause, clk)


def with_value(parent: Context, key: Any, value: Any) -> Context:
    """A child of ``parent`` that carries ``key -> value`` (shadowing the same key above it).

    It is done exactly when ``parent`` is done and has the same deadline. Values are meant for
    request-scoped data that crosses API boundaries, not for optional parameters.
    """
    _check_parent(parent)
    return _ValueCtx(parent, key, value)

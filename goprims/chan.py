"""Go channels and ``select`` for threads, asyncio and trio -- the whole algorithm in one file.

A :class:`Chan` is Go's ``hchan``: one lock, a FIFO buffer of at most ``cap`` values, and two FIFO
queues of parked parties (``_recvq``, ``_sendq``). A party that cannot proceed parks through the
waiter core (:mod:`goprims._waiter`), so the same channel serves threads, asyncio tasks (any loop,
any thread) and trio tasks at once.

Rules (Go's ``runtime/chan.go``), each pinned by a test:

* ``cap=0`` is a rendezvous: ``send`` returns only after a receiver has *taken* the value.
* A sender finding a parked receiver hands the value to it directly (even on a buffered channel);
  a receiver taking from a full buffer moves the first parked sender's value into the buffer, so
  order is FIFO and the woken party never has to run for the operation to complete: the running
  party completes the parked party's operation under the lock and merely wakes it.
* ``close`` wakes every parked receiver (they see "closed") and every parked sender (they raise
  :class:`ChanClosed`); buffered values are still delivered after close; closing twice raises.
* A ``None`` channel in ``select`` is never ready (Go's nil channel).

Invariants, under ``_lock``: ``_recvq`` non-empty implies the buffer is empty; ``_sendq``
non-empty implies the buffer is full, except while a lock-free receive (below) is between its pop
and its refill. (Entries whose waiter was claimed elsewhere -- a ``select`` completed on another
channel -- may linger until their owner withdraws them; every reader of a queue skips and drops
them.)

**The lock-free receive.** Values enter the buffer only under ``_lock``; a receive that finds the
buffer non-empty takes its head with one ``deque.popleft()`` *without* the lock (CPython's GIL
makes the pop atomic and orders all reads and writes). Under the GIL a lock that its holder
keeps while the interpreter switches threads makes the other side block on it, and the two
threads then hand the lock to each other on every operation (a convoy, ~1.5 us per value); one
lock-free side breaks it. The receive is linearized at its pop, and its refill belongs to it:

* after the pop it looks at ``_sendq``; if a sender is parked there (the buffer was full) it
  takes the lock and moves parked senders' values into the free slots, in order (the *refill*);
* a sender parks, and *then*, still under the lock, looks for a free slot: if there is one and it
  heads ``_sendq`` it takes the slot itself. With the receiver's pop-then-look this is Dekker's
  handshake: at least one of the two sees the other, so no sender stays parked beside a free
  slot;
* a sender never takes a slot while a live sender is parked ahead of it, so order is FIFO even
  while a refill is pending (it parks behind; a ``timeout=0`` send raises, linearized before the
  pending receive, whose caller has not returned yet).

Builds without the GIL take the lock for every receive (the handshake needs one global order).
Sends keep the lock: ``close`` must know of every send in flight, and marking one costs the
same two C calls as the lock.

``select`` follows Go's three passes, with one difference: it never holds two channel locks at
once, so no lock order is needed and overlapping selects cannot deadlock. Pass 1 tries the cases
in a uniformly random order and completes the first ready one. Pass 2 registers one shared waiter
on every channel, one lock at a time, parking first and then looking (for a send case, the
sender's half of the handshake); if a case turns out to be ready while registering, the select
claims its own waiter (so nobody can complete it), withdraws, and starts again at pass 1.
A firer completes a parked select only by winning the waiter's claim, so exactly one case fires.
Pass 3, after waking, withdraws the waiter from the other channels.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from random import random, shuffle
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import sniffio

from goprims._waiter import (
    GIL_ATOMIC,
    Blocking,
    Parked,
    ThreadWaiter,
    TrioWaiter,
    Waiter,
    WaitQueue,
    async_block,
    async_waiter,
    block,
    trio_lowlevel,
    wake_all,
)
from goprims.clock import deadline_after, time_left

__all__ = [
    "Chan",
    "ChanClosed",
    "Recv",
    "Selected",
    "Send",
    "Ticker",
    "Timer",
    "after",
    "async_select",
    "go",
    "select",
]

T = TypeVar("T")
_W = TypeVar("_W", bound=Waiter)


class ChanClosed(RuntimeError):
    """An operation on a closed channel: a send (Go panics), a second close (Go panics), or a
    ``recv()`` on a channel that is closed and drained (use ``recv_ok`` for Go's ``v, ok``)."""


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_BLOCK: Any = _Marker("BLOCK")  # the operation would block
_SENT: Any = _Marker("SENT")  # the value went into the buffer
_UNBOUNDED = sys.maxsize
# The lock-free receive (see above) needs the GIL's atomicity; free-threaded builds lock.
_LOCK_FREE_RECV: bool = GIL_ATOMIC
_sniffio_local = sniffio.thread_local  # trio sets .name == "trio" while it runs a task
_trio_ll: Any = None  # trio.lowlevel, bound by the first trio caller (import goprims stays light)


def _bind_trio_ll() -> Any:
    global _trio_ll
    _trio_ll = trio_lowlevel()
    return _trio_ll


class Chan(Generic[T]):
    """A Go channel.

    ``Chan(0)`` (the default) is unbuffered: a send completes only when a receiver takes the
    value. ``Chan(n)`` buffers up to ``n`` values. ``Chan(None)`` is unbounded: sends never block.
    ``cap < 0`` raises :class:`ValueError`.

    Every blocking method takes ``timeout`` (seconds; ``None`` waits forever, ``0`` never blocks)
    and raises :class:`TimeoutError` when it expires, having done nothing. Each has an ``async_``
    twin for asyncio and trio tasks; threads and tasks may share one channel.
    """

    __slots__ = ("__weakref__", "_buf", "_cap", "_closed", "_lock", "_recvq", "_room", "_sendq")

    def __new__(cls, cap: int | None = 0) -> Chan[T]:
        # Chan(None) is a _Unbounded: the same channel, with thread fast paths that skip the
        # checks a buffer that is never full makes pointless (see _Unbounded).
        if cap is None and cls is Chan:
            return object.__new__(_Unbounded)
        return object.__new__(cls)

    def __init__(self, cap: int | None = 0) -> None:
        if cap is not None:
            if isinstance(cap, bool) or not isinstance(cap, int):
                raise TypeError(f"Chan capacity must be an int or None, not {type(cap).__name__}")
            if cap < 0:
                raise ValueError(f"Chan capacity must be >= 0 or None, got {cap}")
        self._cap = _UNBOUNDED if cap is None else cap
        self._lock = threading.Lock()
        self._buf: deque[T] = deque()
        self._recvq = WaitQueue(self._lock)  # parked receivers, FIFO
        self._sendq = WaitQueue(self._lock)  # parked senders (entry value: what they send), FIFO
        self._closed = False
        # The send fast path's bound: _cap while open, -1 once closed, so that one comparison,
        # len(buf) < _room, also rules out a closed channel.
        self._room = self._cap

    # ------------------------------------------------------------------ introspection

    @property
    def cap(self) -> int | None:
        """The buffer capacity: 0 unbuffered, ``None`` unbounded."""
        return None if self._cap == _UNBOUNDED else self._cap

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (informational: it may change at any moment)."""
        return self._closed

    def __len__(self) -> int:
        """Number of values in the buffer."""
        return len(self._buf)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Chan cap={self.cap} len={len(self._buf)} {state}>"

    # ------------------------------------------------------------------ lock-held steps

    def _refill_locked(self) -> list[Waiter]:
        """Move parked senders' values into the free slots, oldest first. Returns their waiters
        (claimed, ``ok``) for the caller to wake once it has unlocked. Lock held."""
        buf = self._buf
        sq = self._sendq
        cap = self._cap
        moved: list[Waiter] = []
        while sq and len(buf) < cap:
            e = sq.pop_live()
            if e is None:
                break
            w = e.waiter
            w.index = e.index
            w.ok = True
            buf.append(e.value)
            moved.append(w)
        return moved

    def _refill(self) -> None:
        """The end of a lock-free receive that saw parked senders: refill, then wake them."""
        with self._lock:
            moved = self._refill_locked()
        wake_all(moved)

    def _send_locked(
        self,
        value: T,
        timeout: float | None = 0,
        new_waiter: Callable[[], _W] | None = None,
    ) -> tuple[Any, Parked | None, _W | None]:
        """Every send's step under the lock (all worlds), as a triple ``(r, entry, waiter)``:

        * completed: ``(r, None, None)``, ``r`` being ``_SENT`` (the value went into the buffer)
          or the parked receiver's waiter, claimed and given the value, for the caller to wake
          once it has unlocked;
        * must wait: ``(_BLOCK, entry, waiter)``: a new waiter (from ``new_waiter``) parked in
          ``_sendq`` with the value in ``entry``; without ``new_waiter`` (a select's poll, a
          timer's offer), ``(_BLOCK, None, None)`` and nothing parked.

        It must wait when the buffer is full, and also when live senders are parked ahead of it
        (a lock-free receive's refill is pending: this send must not overtake them). Raises
        :class:`ChanClosed` on a closed channel, :class:`TimeoutError` if it would have to wait
        and ``timeout <= 0``. Lock held.
        """
        if self._closed:
            raise ChanClosed("send on closed channel")
        rq = self._recvq
        if rq:
            e = rq.pop_live()
            if e is not None:
                w = e.waiter
                w.index = e.index
                w.value = value
                w.ok = True
                return w, None, None
        buf = self._buf
        sq = self._sendq
        if len(buf) < self._cap and (not sq or not sq.has_live()):
            buf.append(value)
            return _SENT, None, None
        if new_waiter is None:
            return _BLOCK, None, None
        if timeout is not None and timeout <= 0:
            raise TimeoutError("send would block")
        me = new_waiter()
        e = sq.park(me, value)
        # The handshake's sender half: park, then look. A lock-free receive may have freed a
        # slot since we looked; with nobody parked ahead, take it ourselves.
        if len(buf) < self._cap and sq.peek_live() is e:
            sq.claim(e)  # succeeds: only holders of the lock can reach this fresh waiter
            buf.append(value)
            return _SENT, None, None
        return _BLOCK, e, me

    def _recv_or_park(
        self, timeout: float | None = 0, new_waiter: Callable[[], _W] | None = None
    ) -> tuple[Any, bool, Parked | None, _W | None]:
        """Every receive's slow path (all worlds), as ``(value, ok, entry, waiter)``:

        * completed: ``(value, ok, None, None)`` as ``recv_ok`` returns it; parked senders
          whose values were taken or moved into the buffer have been woken (after unlocking);
        * must wait: ``(None, False, entry, waiter)``: a new waiter (from ``new_waiter``)
          parked in ``_recvq``; once fired, it holds ``value`` and ``ok``. Without
          ``new_waiter`` (a select's poll): ``(_BLOCK, False, None, None)``, nothing parked.

        Raises :class:`TimeoutError` if it would have to wait and ``timeout <= 0``. Takes the
        lock.
        """
        buf = self._buf
        sq = self._sendq
        moved: list[Waiter] | None = None  # parked senders completed here, woken after unlocking
        lock = self._lock
        lock.acquire()
        try:
            if sq:  # a full buffer, a rendezvous, or a refill pending
                if buf:
                    try:
                        v = buf.popleft()
                    except IndexError:  # lock-free receivers took the rest meanwhile
                        pass
                    else:
                        moved = self._refill_locked()
                        return v, True, None, None
                # Unbuffered, or lock-free receives emptied the buffer before refilling it:
                # the oldest parked sender's value is next.
                e = sq.pop_live()
                if e is not None:
                    w = e.waiter
                    w.index = e.index
                    w.ok = True
                    moved = [w, *self._refill_locked()] if sq and self._cap else [w]
                    return e.value, True, None, None
            elif buf:
                try:
                    return buf.popleft(), True, None, None
                except IndexError:
                    pass
            if self._closed:
                return None, False, None, None
            if new_waiter is None:
                return _BLOCK, False, None, None
            if timeout is not None and timeout <= 0:
                raise TimeoutError("receive would block")
            me = new_waiter()
            return None, False, self._recvq.park(me), me
        finally:
            lock.release()
            if moved:  # after unlocking, as Go does
                for w in moved:
                    w.wake()

    # ------------------------------------------------------------------ send

    def send(self, value: T, timeout: float | None = None) -> None:
        """Send ``value``; block while the channel is full (or, unbuffered, until received).

        Raises :class:`ChanClosed` if the channel is closed, also when it is closed while this
        sender is blocked (the value is then not delivered). :class:`TimeoutError` after
        ``timeout`` seconds; the value was then not sent.
        """
        lock = self._lock
        lock.acquire()  # plain acquire/release: markedly cheaper than `with` on the hot path
        # Fast path: room in an open buffer, no parked receiver to hand to, no parked sender
        # ahead.
        buf = self._buf
        if not self._recvq and not self._sendq and len(buf) < self._room:
            buf.append(value)
            lock.release()
            return
        try:
            r, e, w = self._send_locked(value, timeout, ThreadWaiter)
        finally:
            lock.release()
        if e is None or w is None:
            if r is not _SENT:
                r.wake()
            return
        if not w.wait(timeout, e.withdraw):
            raise TimeoutError(f"send timed out after {timeout} s")
        if not w.ok:
            raise ChanClosed("send on closed channel")

    async def async_send(self, value: T, timeout: float | None = None) -> None:
        """:meth:`send` for asyncio and trio tasks.

        Cancelled before a receiver took the value: raises the cancellation, nothing was sent.
        Cancelled after: returns normally (the value was delivered). Under trio the call is a
        checkpoint even when it completes at once (trio's own channels behave the same).
        """
        # trio.lowlevel when in a trio task, else None; checkpoints inline: this is a hot path
        ll = (_trio_ll or _bind_trio_ll()) if _sniffio_local.name == "trio" else None
        if ll is not None:
            await ll.checkpoint_if_cancelled()
        lock = self._lock
        lock.acquire()
        buf = self._buf
        if not self._recvq and not self._sendq and len(buf) < self._room:
            buf.append(value)  # fast path, as in send
            lock.release()
            if ll is not None:
                await ll.cancel_shielded_checkpoint()
            return
        try:
            r, e, w = self._send_locked(value, timeout, async_waiter if ll is None else TrioWaiter)
        finally:
            lock.release()
        if e is None or w is None:
            if r is not _SENT:
                r.wake()
            if ll is not None:
                await ll.cancel_shielded_checkpoint()
            return
        if not await w.wait(timeout, e.withdraw):
            raise TimeoutError(f"send timed out after {timeout} s")
        if not w.ok:
            raise ChanClosed("send on closed channel")

    # ------------------------------------------------------------------ receive
    #
    # Every receive starts with the lock-free pop (module docstring) when the buffer holds a
    # value, and otherwise takes the slow path under the lock.

    def recv_ok(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """Go's ``v, ok := <-ch``: ``(value, True)``, or ``(None, False)`` once the channel is
        closed and drained. Blocks while the channel is empty; :class:`TimeoutError` after
        ``timeout`` seconds (nothing was received)."""
        buf = self._buf
        if buf and _LOCK_FREE_RECV:
            try:
                v = buf.popleft()
            except IndexError:  # another receiver took it: the slow path decides
                pass
            else:
                if self._sendq:
                    self._refill()
                return v, True
        v, ok, e, me = self._recv_or_park(timeout, ThreadWaiter)
        if e is not None and me is not None:
            if not me.wait(timeout, e.withdraw):
                raise TimeoutError(f"receive timed out after {timeout} s")
            return me.value, me.ok
        return v, ok

    def recv(self, timeout: float | None = None) -> T:
        """Receive a value. Raises :class:`ChanClosed` once the channel is closed and drained
        (buffered values are delivered first), :class:`TimeoutError` after ``timeout``."""
        buf = self._buf
        if buf and _LOCK_FREE_RECV:  # the lock-free pop, as in recv_ok
            try:
                v = buf.popleft()
            except IndexError:
                pass
            else:
                if self._sendq:
                    self._refill()
                return v
        got, ok = self.recv_ok(timeout)
        if not ok:
            raise ChanClosed("receive from closed channel")
        return got  # type: ignore[return-value]

    async def async_recv_ok(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """:meth:`recv_ok` for asyncio and trio tasks.

        Cancelled before a value was committed to it: raises the cancellation and consumes
        nothing. Cancelled after: returns the value (the cancellation is dropped). Under trio the
        call is a checkpoint even when it completes at once.
        """
        ll = (_trio_ll or _bind_trio_ll()) if _sniffio_local.name == "trio" else None
        if ll is not None:
            await ll.checkpoint_if_cancelled()
        buf = self._buf
        if buf and _LOCK_FREE_RECV:  # the lock-free pop, as in recv_ok
            try:
                v = buf.popleft()
            except IndexError:
                pass
            else:
                if self._sendq:
                    self._refill()
                if ll is not None:
                    await ll.cancel_shielded_checkpoint()
                return v, True
        v, ok, e, me = self._recv_or_park(timeout, async_waiter if ll is None else TrioWaiter)
        if e is not None and me is not None:
            if not await me.wait(timeout, e.withdraw):
                raise TimeoutError(f"receive timed out after {timeout} s")
            return me.value, me.ok
        if ll is not None:
            await ll.cancel_shielded_checkpoint()
        return v, ok

    async def async_recv(self, timeout: float | None = None) -> T:
        """:meth:`recv` for asyncio and trio tasks."""
        ll = (_trio_ll or _bind_trio_ll()) if _sniffio_local.name == "trio" else None
        if ll is not None:
            await ll.checkpoint_if_cancelled()
        buf = self._buf
        if buf and _LOCK_FREE_RECV:  # the lock-free pop, as in recv_ok (inline: a hot path)
            try:
                v = buf.popleft()
            except IndexError:
                pass
            else:
                if self._sendq:
                    self._refill()
                if ll is not None:
                    await ll.cancel_shielded_checkpoint()
                return v
        v, ok, e, me = self._recv_or_park(timeout, async_waiter if ll is None else TrioWaiter)
        if e is not None and me is not None:
            if not await me.wait(timeout, e.withdraw):
                raise TimeoutError(f"receive timed out after {timeout} s")
            v, ok = me.value, me.ok
        elif ll is not None:
            await ll.cancel_shielded_checkpoint()
        if not ok:
            raise ChanClosed("receive from closed channel")
        return v

    # ------------------------------------------------------------------ close

    def close(self) -> None:
        """Close the channel: parked receivers get ``ok=False``, parked senders raise
        :class:`ChanClosed`, later sends raise, later receives drain the buffer and then report
        closed. Closing a closed channel raises :class:`ChanClosed`."""
        with self._lock:
            if self._closed:
                raise ChanClosed("close of closed channel")
            self._closed = True
            self._room = -1
            wake = self._recvq.claim_all() + self._sendq.claim_all()
            for e in wake:
                w = e.waiter
                w.index = e.index
                w.value = None
                w.ok = False
        wake_all(wake)  # after unlocking, as Go does

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[T]:
        """Go's ``for v := range ch``: receive until the channel is closed and drained."""
        while True:
            v, ok = self.recv_ok()
            if not ok:
                return
            yield v  # type: ignore[misc]

    def __aiter__(self) -> AsyncIterator[T]:
        """``async for v in ch``: receive until the channel is closed and drained."""
        return _AsyncChanIter(self)

    # ------------------------------------------------------------------ non-blocking helpers

    def _offer(self, value: T) -> bool:
        """Send without blocking; False if full (or closed). For timer callbacks."""
        with self._lock:
            if self._closed:
                return False
            r = self._send_locked(value)[0]
        if r is _BLOCK:
            return False
        if r is not _SENT:
            r.wake()
        return True

    def _drain(self) -> bool:
        """Discard buffered values (a stopped timer's stale tick). True if there were any."""
        with self._lock:
            had = bool(self._buf)
            self._buf.clear()
        return had


class _Unbounded(Chan[T]):
    """``Chan(None)``. No sender ever parks on an unbounded channel and its buffer always has
    room, so the thread fast paths drop those checks: a send only needs no parked receiver and
    an open channel, a receive only a buffered value (about a quarter fewer bytecodes per value
    than the general paths, which is what moves ``Chan(None)`` against the C
    ``queue.SimpleQueue``). Everything else, and every path that cannot complete at once, is
    :class:`Chan`'s."""

    __slots__ = ()

    def send(self, value: T, timeout: float | None = None) -> None:
        """:meth:`Chan.send` (never blocks: the buffer is unbounded)."""
        lock = self._lock
        lock.acquire()
        if not self._recvq and not self._closed:
            self._buf.append(value)
            lock.release()
            return
        lock.release()
        Chan.send(self, value, timeout)  # a parked receiver to hand to, or closed

    def recv(self, timeout: float | None = None) -> T:
        """:meth:`Chan.recv`."""
        buf = self._buf
        if buf and _LOCK_FREE_RECV:  # the lock-free pop; there is never a sender to refill
            try:
                return buf.popleft()
            except IndexError:
                pass
        return Chan.recv(self, timeout)


class _AsyncChanIter(Generic[T]):
    __slots__ = ("_ch",)

    def __init__(self, ch: Chan[T]) -> None:
        self._ch = ch

    def __aiter__(self) -> _AsyncChanIter[T]:
        return self

    async def __anext__(self) -> T:
        v, ok = await self._ch.async_recv_ok()
        if not ok:
            raise StopAsyncIteration
        return v  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------- select


class Recv(NamedTuple):
    """A receive case for :func:`select`. ``ch=None`` is never ready (Go's nil channel)."""

    ch: Chan[Any] | None


class Send(NamedTuple):
    """A send case for :func:`select`. ``ch=None`` is never ready (Go's nil channel)."""

    ch: Chan[Any] | None
    value: Any


class Selected(NamedTuple):
    """The outcome of :func:`select`: the ``index`` of the case that fired (-1 for default),
    the ``value`` received (``None`` for a send), and ``ok`` (False when a receive saw a closed
    channel, or for default)."""

    index: int  # type: ignore[assignment]  # the contract names the field; tuple.index is shadowed
    value: Any
    ok: bool


_DEFAULT = Selected(-1, None, False)
_Case = tuple[int, bool, "Chan[Any]", Any]  # an active case: (index, is_send, chan, value)


def _cases(cases: tuple[Any, ...]) -> list[_Case]:
    """Validate cases; return the active ones as ``(index, is_send, chan, value)``."""
    active = []
    for i, c in enumerate(cases):
        if type(c) is Recv or isinstance(c, Recv):
            is_send, value = False, None
        elif type(c) is Send or isinstance(c, Send):
            is_send, value = True, c.value
        else:
            raise TypeError(f"select case {i} is {c!r}: expected Recv(ch) or Send(ch, value)")
        ch = c.ch
        if ch is None:
            continue
        if not isinstance(ch, Chan):
            raise TypeError(f"select case {i}: {ch!r} is not a Chan or None")
        active.append((i, is_send, ch, value))
    return active


def _random_order(active: list[_Case]) -> list[_Case]:
    """The cases in a uniformly random order (Go's ``pollorder``)."""
    n = len(active)
    if n == 2:
        return active if random() < 0.5 else [active[1], active[0]]
    if n > 2:
        order = active[:]
        shuffle(order)
        return order
    return active


def _poll(order: list[_Case]) -> Selected | None:
    """Pass 1: try the cases in the given (random) order; complete the first ready one."""
    for index, is_send, ch, value in order:
        if is_send:
            with ch._lock:
                r = ch._send_locked(value)[0]  # raises ChanClosed: a closed send case was chosen
            if r is _BLOCK:
                continue
            if r is not _SENT:
                r.wake()
            return Selected(index, None, True)
        v, ok, _, _ = ch._recv_or_park()
        if v is _BLOCK:
            continue
        return Selected(index, v, ok)
    return None


_Registration = list[tuple[WaitQueue, Parked]]


def _register(order: list[_Case], w: Waiter) -> _Registration | None:
    """Pass 2: park ``w`` on every case's channel, in the given (random) order. Returns the
    registrations, or None if a case became ready meanwhile (then ``w`` claimed itself and was
    withdrawn: retry pass 1).

    The order matters when several cases share a channel: a partner arriving later completes the
    entry parked first, so registering in a random order makes the parked select as fair as the
    polling pass (Go enqueues in its random order too; ``TestPseudoRandomSend``)."""
    regs: _Registration = []
    for index, is_send, ch, value in order:
        with ch._lock:
            # Park, then look (for a send case this is the handshake's sender half: see the
            # module docstring); a ready case withdraws the entry again.
            if is_send:
                q = ch._sendq
                e = q.park(w, value, index)
                ready = (
                    ch._closed
                    or ch._recvq.has_live(w)
                    or (len(ch._buf) < ch._cap and q.peek_live() is e)
                )
            else:
                q = ch._recvq
                e = q.park(w, value, index)
                ready = bool(ch._buf) or ch._closed or ch._sendq.has_live(w)
            if not ready:
                regs.append((q, e))
                continue
            q.remove(e)
        if w.cancel():
            _withdraw(regs)
            return None
        return regs  # already fired through an earlier registration
    return regs


def _withdraw(regs: _Registration) -> None:
    """Pass 3: remove the waiter from every channel it was parked on."""
    for q, e in regs:
        with q.lock:
            q.remove(e)


def _withdrawer(regs: _Registration) -> Callable[[], None]:
    return lambda: _withdraw(regs)


def _outcome(w: Waiter, cases: tuple[Any, ...]) -> Selected:
    if type(cases[w.index]) is Send or isinstance(cases[w.index], Send):
        if not w.ok:
            raise ChanClosed("send on closed channel")
        return Selected(w.index, None, True)
    return Selected(w.index, w.value, w.ok)


def _selecting(
    cases: tuple[Any, ...], default: bool, timeout: float | None, new_waiter: Callable[[], Waiter]
) -> Blocking[Selected]:
    """The select algorithm for every world: returns the outcome, or yields once
    ``(waiter, remaining timeout, withdraw)`` when it must park and is sent whether the waiter
    fired. :func:`select` and :func:`async_select` only differ in how they park."""
    active = _cases(cases)
    deadline = deadline_after(timeout)
    while True:
        order = _random_order(active)
        sel = _poll(order)
        if sel is not None:
            return sel
        if default:
            return _DEFAULT
        remaining = time_left(deadline)
        if remaining is not None and remaining <= 0:
            raise TimeoutError("select timed out")
        w = new_waiter()
        regs = _register(order, w)
        if regs is None:
            continue
        if not (yield w, remaining, _withdrawer(regs)):
            raise TimeoutError("select timed out")
        _withdraw(regs)
        return _outcome(w, cases)


def select(*cases: Recv | Send, default: bool = False, timeout: float | None = None) -> Selected:
    """Go's ``select``: wait until one of ``cases`` can proceed and complete exactly that one.

    Among ready cases one is chosen uniformly at random. If none is ready: with
    ``default=True`` return ``Selected(-1, None, False)`` at once; otherwise block on all cases
    at once (no polling) until one fires, or raise :class:`TimeoutError` after ``timeout``
    seconds. A receive case on a closed channel is ready and yields ``ok=False``; a send case on
    a closed channel is ready too and, if chosen, raises :class:`ChanClosed`. Cases whose channel
    is ``None`` are never ready; with no ready case, no default and no timeout (e.g. only
    ``None`` channels) the call blocks forever, like ``select {}``. A non-case raises
    :class:`TypeError`.
    """
    return block(_selecting(cases, default, timeout, ThreadWaiter))


async def async_select(
    *cases: Recv | Send, default: bool = False, timeout: float | None = None
) -> Selected:
    """:func:`select` for asyncio and trio tasks.

    Cancelled before a case fired: raises the cancellation and no case happened. Cancelled after
    a case fired: returns that case's outcome (the cancellation is dropped).
    """
    return await async_block(_selecting(cases, default, timeout, async_waiter))


# ------------------------------------------- names that live in their own modules, kept here too

# ``goprims.chan.after``/``Timer``/``Ticker`` (Go's time package, :mod:`goprims.timers`) and
# ``goprims.chan.go`` (:mod:`goprims.pool`) are imported on first access: both modules build on
# this one, and a channel program need not load the pool.
_ELSEWHERE = {
    "Ticker": "goprims.timers",
    "Timer": "goprims.timers",
    "after": "goprims.timers",
    "go": "goprims.pool",
}


def __getattr__(name: str) -> Any:
    modname = _ELSEWHERE.get(name)
    if modname is None:
        raise AttributeError(f"module 'goprims.chan' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(modname), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from goprims.pool import go as go
    from goprims.timers import Ticker as Ticker
    from goprims.timers import Timer as Timer
    from goprims.timers import after as after

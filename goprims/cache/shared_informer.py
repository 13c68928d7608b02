"""SharedIndexInformer (client-go ``shared_informer.go``, v0.32 behaviour).

One informer lists and watches once and fans out to any number of handlers:

* the pipeline is ListerWatcher -> :class:`Reflector` -> :class:`DeltaFIFO` -> ``_handle_deltas``
  (which updates the :class:`Indexer` and distributes notifications) -> one listener per handler;
* each listener owns an unbounded in-order buffer (a ``Chan(None)``) and a worker that calls the
  handler, so a slow handler never blocks the informer or the other handlers;
* a handler's exception is logged and that one notification skipped; the informer lives on;
* a handler added while running first receives synthetic adds of the current cache contents;
  its registration's ``has_synced()`` turns true once the informer has synced *and* every
  initial-list add queued to it has been handled;
* Sync deltas, and Replaced deltas whose resourceVersion did not change, count as resyncs and go
  only to handlers due a resync (each with its own period); real changes go to every handler.

Synchronisation state is exposed both as predicates (``has_synced()``) and as channels
(``synced()``, closed once synced) so :func:`wait_for_cache_sync` can wait without polling.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from goprims import clock as _clock
from goprims.cache.delta_fifo import DeltaFIFO, Deltas, FIFOClosed
from goprims.cache.handlers import ResourceEventHandler, process_deltas
from goprims.cache.keys import deletion_handling_meta_namespace_key_func
from goprims.cache.notifications import (
    AddNotification,
    DeleteNotification,
    Notification,
    UpdateNotification,
)
from goprims.cache.reflector import Backoff, Reflector, _resource_version
from goprims.cache.store import Indexer
from goprims.chan import Chan, ChanClosed, Recv, after, go, select
from goprims.stop import Stop, stop_chan
from goprims.watch import ListerWatcher

__all__ = [
    "InformerStarted",
    "InformerStopped",
    "SharedIndexInformer",
    "SharedInformer",
    "wait_for_cache_sync",
]

log = logging.getLogger("goprims.cache.informer")

MINIMUM_RESYNC_PERIOD = 1.0  # client-go's minimumResyncPeriod


class InformerStopped(RuntimeError):
    """The informer has stopped: handlers and indexers can no longer be added."""


class InformerStarted(RuntimeError):
    """The informer has started: the transform and watch error handler are fixed."""


def _determine_resync_period(desired: float, check: float) -> float:
    if desired == 0:
        return 0
    if check == 0:
        log.warning("resync period %s ignored: the informer does not resync", desired)
        return 0
    return max(desired, check)


class _Registration:
    """A handler's listener: its buffer, its worker, its resync schedule and its sync tracking.

    Returned by :meth:`SharedIndexInformer.add_event_handler`.
    """

    def __init__(
        self,
        informer: SharedIndexInformer,
        handler: ResourceEventHandler,
        requested_resync: float,
        resync_period: float,
    ) -> None:
        self.handler = handler
        self.requested_resync_period = requested_resync
        self.resync_period = resync_period
        self.next_resync = informer._clock.now() + resync_period
        self._informer = informer
        self._buf: Chan[Notification] = Chan(None)  # pending notifications, in order
        self._lock = threading.Lock()
        self._initial_pending = 0  # initial-list adds queued and not yet handled; under _lock
        self._synced: Chan[None] = Chan()  # closed once has_synced() is true
        self._done: Chan[None] = Chan()  # closed when the worker exits
        self._stopping = False

    def __repr__(self) -> str:
        return f"<registration of {self.handler!r}>"

    def has_synced(self) -> bool:
        """True once the informer has synced and this handler has handled its initial adds."""
        return self._synced.closed

    def synced(self) -> Chan[None]:
        """A channel closed once :meth:`has_synced` is true."""
        return self._synced

    def _check_synced(self) -> None:
        with self._lock:
            if (
                not self._synced.closed
                and self._initial_pending == 0
                and self._informer.has_synced()
            ):
                self._synced.close()

    def _add(self, note: Notification) -> None:
        if isinstance(note, AddNotification) and note.is_in_initial_list:
            with self._lock:
                self._initial_pending += 1
        with contextlib.suppress(ChanClosed):  # the handler was removed meanwhile
            self._buf.send(note)

    def _run(self) -> None:
        try:
            for note in self._buf:
                if self._stopping:
                    break
                self._dispatch(note)
        finally:
            self._done.close()

    def _dispatch(self, note: Notification) -> None:
        try:
            note.deliver(self.handler)
        except Exception:
            log.exception(
                "event handler %r failed on %s; notification skipped",
                self.handler,
                type(note).__name__,
            )
        if isinstance(note, AddNotification) and note.is_in_initial_list:
            with self._lock:
                self._initial_pending -= 1
            self._check_synced()

    def _stop(self, drop_pending: bool) -> None:
        self._stopping = drop_pending
        with contextlib.suppress(ChanClosed):  # already closed by an earlier stop
            self._buf.close()


class SharedIndexInformer:
    """A shared informer with an indexed local cache (see the module docstring).

    ``resync_period`` is the default resync period of handlers (0: never). ``indexers`` maps
    index names to index functions for the cache. ``backoff`` replaces the reflector's default
    backoff between list-and-watch rounds (0.8 s doubling to 30 s, see :class:`Backoff`).
    ``stop`` given to :meth:`run` is a ``Chan`` that the caller closes, or a ``Context``.
    """

    def __init__(
        self,
        lw: ListerWatcher,
        *,
        resync_period: float = 0,
        indexers: dict[str, Callable[[Any], list[str]]] | None = None,
        clock: _clock.Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if resync_period < 0:
            raise ValueError(f"resync_period must be >= 0, got {resync_period}")
        self._lw = lw
        self._backoff = backoff
        self._clock = _clock.resolve(clock)
        self._indexer = Indexer(deletion_handling_meta_namespace_key_func, dict(indexers or {}))
        self._default_resync = resync_period
        self._resync_check_period = resync_period
        self._transform: Callable[[Any], Any] | None = None
        self._watch_error_handler: Callable[[Any, BaseException], None] | None = None

        self._started_lock = threading.Lock()  # guards _started, _stopped, _reflector, _fifo
        self._started = False
        self._stopped = False
        self._reflector: Reflector | None = None
        self._fifo: DeltaFIFO | None = None

        # Held while deltas are applied and while a handler is added, so a new handler's
        # synthetic adds and the live notifications never interleave.
        self._block_deltas = threading.Lock()
        self._listeners_lock = threading.Lock()  # guards _listeners and _listeners_running
        self._listeners: dict[_Registration, bool] = {}  # value: due a resync
        self._listeners_running = False
        self._synced: Chan[None] = Chan()  # closed once the first list has been processed

    # ---------------------------------------------------------------- configuration

    def set_transform(self, fn: Callable[[Any], Any] | None) -> None:
        """Transform each object before it is stored (e.g. strip fields). Before start only."""
        with self._started_lock:
            if self._started:
                raise InformerStarted("informer has already started")
            self._transform = fn

    def set_watch_error_handler(self, fn: Callable[[Any, BaseException], None]) -> None:
        """Called as ``fn(reflector, err)`` for each failed list/watch round. Before start only."""
        with self._started_lock:
            if self._started:
                raise InformerStarted("informer has already started")
            self._watch_error_handler = fn

    def add_indexers(self, indexers: dict[str, Callable[[Any], list[str]]]) -> None:
        """Add indices (allowed after start: existing items are indexed)."""
        with self._started_lock:
            if self._stopped:
                raise InformerStopped("indexer was not added because the informer has stopped")
        self._indexer.add_indexers(indexers)

    # ---------------------------------------------------------------- queries

    def get_store(self) -> Indexer:
        """The informer's cache (the same object as :meth:`get_indexer`)."""
        return self._indexer

    def get_indexer(self) -> Indexer:
        """The informer's indexed cache."""
        return self._indexer

    def has_synced(self) -> bool:
        """True once the first list has been fully delivered to the cache."""
        return self._synced.closed

    def synced(self) -> Chan[None]:
        """A channel closed once :meth:`has_synced` is true."""
        return self._synced

    def is_stopped(self) -> bool:
        """True once :meth:`run` has returned."""
        with self._started_lock:
            return self._stopped

    def last_sync_resource_version(self) -> str:
        """The reflector's last synced resourceVersion (``""`` before start)."""
        r = self._reflector
        return "" if r is None else r.last_sync_resource_version()

    # ---------------------------------------------------------------- handlers

    def add_event_handler(
        self, handler: ResourceEventHandler, resync_period: float | None = None
    ) -> _Registration:
        """Register ``handler``; returns its registration (``has_synced()``, ``synced()``).

        ``resync_period`` defaults to the informer's; a positive value is raised to 1 s, and
        after start to the informer's resync check period. Raises :class:`InformerStopped` on a
        stopped informer.
        """
        for name in ("on_add", "on_update", "on_delete"):
            if not callable(getattr(handler, name, None)):
                raise TypeError(f"handler {handler!r} has no {name}() method")
        with self._started_lock:
            if self._stopped:
                raise InformerStopped(
                    f"handler {handler!r} was not added to shared informer because it has stopped"
                )
            requested = self._default_resync if resync_period is None else resync_period
            if requested < 0:
                raise ValueError(f"resync_period must be >= 0, got {requested}")
            if requested > 0:
                requested = max(requested, MINIMUM_RESYNC_PERIOD)
                if requested < self._resync_check_period:
                    if self._started:
                        requested = self._resync_check_period
                    else:
                        self._resync_check_period = requested
                        with self._listeners_lock:
                            for reg in self._listeners:
                                reg.resync_period = _determine_resync_period(
                                    reg.requested_resync_period, requested
                                )
            reg = _Registration(
                self,
                handler,
                requested,
                _determine_resync_period(requested, self._resync_check_period),
            )
            if not self._started:
                with self._listeners_lock:
                    self._listeners[reg] = True
                return reg
            with self._block_deltas:
                with self._listeners_lock:
                    self._listeners[reg] = True
                    if self._listeners_running:
                        go(reg._run)
                for item in self._indexer.list():
                    reg._add(AddNotification(item, True))
        reg._check_synced()
        return reg

    def remove_event_handler(self, registration: Any) -> None:
        """Unregister a handler. Idempotent; unknown registrations are a no-op. Does not wait for
        an in-flight notification."""
        if not isinstance(registration, _Registration):
            raise TypeError(f"not a registration: {registration!r}")
        with self._started_lock, self._block_deltas, self._listeners_lock:
            if self._listeners.pop(registration, None) is None:
                return
            if self._listeners_running:
                registration._stop(drop_pending=True)

    # ---------------------------------------------------------------- the delta sink

    def _distribute(self, note: Notification, sync: bool) -> None:
        with self._listeners_lock:
            for reg, due in self._listeners.items():
                if due or not sync:
                    reg._add(note)

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        """Informer-internal: distribute an add."""
        self._distribute(AddNotification(obj, is_in_initial_list), False)

    def on_update(self, old: Any, new: Any) -> None:
        """Informer-internal: distribute an update (a resync if the version did not change)."""
        rv_old, rv_new = _resource_version(old), _resource_version(new)
        self._distribute(UpdateNotification(old, new), bool(rv_old) and rv_old == rv_new)

    def on_delete(self, obj: Any) -> None:
        """Informer-internal: distribute a delete."""
        self._distribute(DeleteNotification(obj), False)

    def _handle_deltas(self, deltas: Deltas, is_in_initial_list: bool) -> None:
        with self._block_deltas:
            process_deltas(self, self._indexer, deltas, is_in_initial_list)

    def _should_resync(self) -> bool:
        now = self._clock.now()
        any_due = False
        with self._listeners_lock:
            for reg in self._listeners:
                due = reg.resync_period != 0 and now >= reg.next_resync
                self._listeners[reg] = due
                if due:
                    reg.next_resync = now + reg.resync_period
                    any_due = True
        return any_due

    def _check_synced(self) -> None:
        fifo = self._fifo
        if fifo is None or self._synced.closed or not fifo.has_synced():
            return
        with self._started_lock:
            if self._synced.closed:
                return
            self._synced.close()
        with self._listeners_lock:
            regs = list(self._listeners)
        for reg in regs:
            reg._check_synced()

    # ---------------------------------------------------------------- run

    def run(self, stop: Stop) -> None:
        """Run until ``stop`` (a Chan the caller closes, or a Context) is done. Blocks."""
        stop_ch = stop_chan(stop)
        with self._started_lock:
            if self._started:
                log.warning("the shared informer has already been started")
                return
            fifo = DeltaFIFO(
                key_func=deletion_handling_meta_namespace_key_func,
                known_objects=self._indexer,
                emit_delta_type_replaced=True,
                transformer=self._transform,
            )
            self._fifo = fifo
            self._reflector = Reflector(
                self._lw,
                _SyncNotifyingFIFO(fifo, self),
                resync_period=self._resync_check_period,
                clock=self._clock,
                should_resync=self._should_resync,
                watch_error_handler=self._watch_error_handler,
                backoff=self._backoff,
            )
            self._started = True
        with self._listeners_lock:
            for reg in self._listeners:
                go(reg._run)
            self._listeners_running = True

        reflector_done: Chan[None] = Chan()

        def run_reflector() -> None:
            try:
                assert self._reflector is not None
                self._reflector.run(stop_ch)
            finally:
                reflector_done.close()

        def close_fifo_on_stop() -> None:
            stop_ch.recv_ok()
            fifo.close()

        go(run_reflector)
        go(close_fifo_on_stop)
        try:
            while True:
                try:
                    fifo.pop(self._handle_deltas)
                except FIFOClosed:
                    break
                except Exception:
                    log.exception("processing deltas failed")
                self._check_synced()
        finally:
            reflector_done.recv_ok()
            with self._started_lock:
                self._stopped = True
            with self._listeners_lock:
                regs = list(self._listeners)
                self._listeners.clear()
                self._listeners_running = False
            for reg in regs:
                reg._stop(drop_pending=True)
            for reg in regs:
                reg._done.recv_ok()


SharedInformer = SharedIndexInformer
"""Alias: every shared informer here is indexed."""


class _SyncNotifyingFIFO:
    """The reflector's view of the FIFO: after a replace, tell the informer to check whether it
    has synced (an empty first list pops nothing, so the pop loop would never notice)."""

    def __init__(self, fifo: DeltaFIFO, informer: SharedIndexInformer) -> None:
        self._fifo = fifo
        self._informer = informer

    def add(self, obj: Any) -> None:
        self._fifo.add(obj)

    def update(self, obj: Any) -> None:
        self._fifo.update(obj)

    def delete(self, obj: Any) -> None:
        self._fifo.delete(obj)

    def resync(self) -> None:
        self._fifo.resync()

    def replace(self, items: list[Any], resource_version: str) -> None:
        self._fifo.replace(items, resource_version)
        self._informer._check_synced()


SYNCED_POLL_PERIOD = 0.1  # client-go's syncedPollPeriod, for plain callables


def wait_for_cache_sync(
    stop: Stop, *syncs: Chan[Any] | Callable[[], bool], timeout: float | None = None
) -> bool:
    """Wait until every one of ``syncs`` reports synced; False if ``stop`` closes first.

    Each sync is a channel from ``synced()`` (waited on without polling) or a plain callable
    such as ``informer.has_synced`` (checked every 100 ms, as client-go does). ``timeout``
    (seconds) raises :class:`TimeoutError`.
    """
    stop_ch = stop_chan(stop)
    deadline = None if timeout is None else _clock.REAL_CLOCK.now() + timeout

    def remaining() -> float | None:
        if deadline is None:
            return None
        return max(0.0, deadline - _clock.REAL_CLOCK.now())

    for s in syncs:
        if isinstance(s, Chan):
            if select(Recv(stop_ch), Recv(s), timeout=remaining()).index == 0:
                return False
            continue
        if not callable(s):
            raise TypeError(f"wait_for_cache_sync: {s!r} is neither a Chan nor a callable")
        while not s():
            tick = after(SYNCED_POLL_PERIOD)
            if select(Recv(stop_ch), Recv(tick), timeout=remaining()).index == 0:
                return False
    return True

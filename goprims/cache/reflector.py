"""Reflector: keeps a store in step with a ListerWatcher (client-go ``tools/cache/reflector.go``,
v0.32 behaviour).

``list_and_watch`` lists, replaces the store's contents with the list, then watches from the
list's resourceVersion and applies every event to the store. Its resourceVersion rules:

* the first list asks for ``"0"`` (any cached state will do), a relist asks for the last synced
  version, and after a list that fails with ``ResourceExpired`` (410 Gone) or
  ``TooLargeResourceVersion`` it asks for ``""`` (a consistent read), retrying at once;
* a watch that closes cleanly is reopened from the last synced version, with no relist;
* a watch that ends with ``ResourceExpired`` returns normally so that ``run`` relists at the last
  version (not ``""``: a list at a version means "at least this fresh");
* every event, bookmarks included, advances the last synced version;
* a watch that closes within 1 s having delivered no event is an error ("very short watch");
* with ``resync_period > 0`` a helper calls ``store.resync()`` every period while watching; if
  that raises, the error is logged, the watch is stopped and ``list_and_watch`` returns normally
  (client-go's ``resyncerrc``: the error is not propagated), so ``run`` backs off and lists again.

**Watch-list mode** (client-go's ``WatchListClient``, on by default since v0.35): when the
ListerWatcher has the optional ``watch_list(resource_version)`` method and ``use_watch_list``
is true, one watch replaces the list: its ``ADDED`` events are the current state, collected
aside until the ``BOOKMARK`` annotated ``k8s.io/initial-events-end``, which replaces the
store's contents (the cache is synced there) and sets the version; the same watch then goes on
as a normal watch. It asks for the last synced version (``""``, the most recent state, at
first and after an expiry). If ``watch_list`` raises ``WatchListUnsupported`` the reflector
uses list+watch from then on; if the stream ends before the bookmark, that round lists.

``run`` repeats ``list_and_watch`` until ``stop``, sleeping a backoff between rounds: 0.8 s
doubling with full jitter (each wait is ``d + random() * d``) up to 30 s, reset to 0.8 s after
2 minutes without a backoff (the package's one :class:`~goprims.backoff.Backoff`, re-exported
here). ``stop`` is a :class:`~goprims.chan.Chan` closed by the caller, or a
:class:`~goprims.context.Context` (:data:`goprims.stop.Stop`). Time is read from the injectable
clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from goprims import clock as _clock
from goprims.backoff import Backoff, sleep
from goprims.cache.keys import (
    CacheKeyError,
    object_namespace_and_name,
    object_resource_version,
)
from goprims.chan import Chan, Recv, go, select
from goprims.stop import Stop, stop_chan
from goprims.watch import (
    EventType,
    ListerWatcher,
    ResourceExpired,
    TooLargeResourceVersion,
    Watch,
    WatchListUnsupported,
)

__all__ = ["INITIAL_EVENTS_END_ANNOTATION", "Backoff", "Reflector", "ReflectorStore", "stop_chan"]

log = logging.getLogger("goprims.cache.reflector")

INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end"
"""The annotation of the bookmark that ends a watch-list's initial events."""


class ReflectorStore(Protocol):
    """What a reflector writes to: a Store/Indexer or a DeltaFIFO."""

    def add(self, obj: Any) -> None:
        """Apply an ADDED event."""

    def update(self, obj: Any) -> None:
        """Apply a MODIFIED event."""

    def delete(self, obj: Any) -> None:
        """Apply a DELETED event."""

    def replace(self, items: list[Any], resource_version: str) -> None:
        """Replace the whole contents with a list result."""

    def resync(self) -> None:
        """Re-deliver the current contents (periodic resync)."""


def _stopped(stop: Chan[Any]) -> bool:
    return stop.closed  # a stop channel is only ever closed, and never reopens


class Reflector:
    """Mirror a ListerWatcher into ``store`` (see the module docstring for the rules).

    ``store`` is anything with ``add/update/delete/replace/resync`` (a Store, an Indexer or a
    DeltaFIFO). ``resync_period > 0`` calls ``store.resync()`` every period while watching, if
    ``should_resync()`` (when given) agrees. Errors of one round go to ``watch_error_handler(
    reflector, err)`` (default: logged) and ``run`` backs off and relists.
    ``use_watch_list`` (default true) uses the watch-list mode where ``lw`` has ``watch_list``.
    """

    def __init__(
        self,
        lw: ListerWatcher,
        store: ReflectorStore,
        *,
        resync_period: float = 0,
        clock: _clock.Clock | None = None,
        should_resync: Callable[[], bool] | None = None,
        watch_error_handler: Callable[[Reflector, BaseException], None] | None = None,
        name: str = "reflector",
        backoff: Backoff | None = None,
        use_watch_list: bool = True,
    ) -> None:
        if resync_period < 0:
            raise ValueError(f"resync_period must be >= 0, got {resync_period}")
        self.lw = lw
        self.store = store
        self.resync_period = resync_period
        self.clock = _clock.resolve(clock)
        self.should_resync = should_resync
        self.watch_error_handler = watch_error_handler or default_watch_error_handler
        self.name = name
        self._lock = threading.Lock()
        self._last_sync_rv = ""  # guarded by _lock
        self._rv_unavailable = False  # the last version expired: list at "" next
        self.backoff = backoff if backoff is not None else Backoff(self.clock)
        # True while the ListerWatcher offers watch_list and the server has not refused it
        self.use_watch_list = use_watch_list and callable(getattr(lw, "watch_list", None))

    def last_sync_resource_version(self) -> str:
        """The resourceVersion of the last list or watch event applied (``""`` before any)."""
        with self._lock:
            return self._last_sync_rv

    def _set_rv(self, rv: str) -> None:
        with self._lock:
            self._last_sync_rv = rv

    def _relist_rv(self) -> str:
        if self._rv_unavailable:
            return ""
        rv = self.last_sync_resource_version()
        return rv if rv else "0"

    # ---------------------------------------------------------------- run

    def run(self, stop: Stop) -> None:
        """``list_and_watch`` until ``stop`` closes, backing off between rounds."""
        stop_ch = stop_chan(stop)
        while not _stopped(stop_ch):
            try:
                self.list_and_watch(stop_ch)
            except Exception as err:
                self.watch_error_handler(self, err)
            if not self.backoff.wait(stop_ch):
                return

    def list_and_watch(self, stop: Stop) -> None:
        """List, then watch until ``stop`` closes or the watch ends (see the module docstring).

        Raises list errors (other than expiry, which is retried at once with a consistent read)
        and watch errors; returns normally on stop, on expiry, and when ``store.resync()`` raised
        (logged, not propagated, as client-go does). A watch that closes cleanly is reopened.
        """
        stop_ch = stop_chan(stop)
        first = self._watch_list(stop_ch) if self.use_watch_list else None
        if first is None and not _stopped(stop_ch):
            self._list(stop_ch)
        if _stopped(stop_ch):
            if first is not None:
                first.stop()
            return
        resync_done: Chan[None] = Chan()  # closed by us: the resync helper must end
        resync_failed: Chan[None] = Chan()  # closed by the helper once store.resync() raised
        if self.resync_period > 0:
            go(self._resync_loop, stop_ch, resync_done, resync_failed)
        try:
            self._watch_loop(stop_ch, resync_failed, first)
        finally:
            resync_done.close()

    def _watch_list(self, stop: Chan[Any]) -> Watch | None:
        """The watch-list mode's first round: the watch, its initial events applied to the
        store (``replace``), ready to go on as a normal watch; None to list instead."""
        watch_list = self.lw.watch_list  # type: ignore[attr-defined]
        for attempt in (1, 2):  # an expired version is retried once at "" (the most recent)
            rv = "" if self._rv_unavailable else self.last_sync_resource_version()
            try:
                w: Watch = watch_list(rv)
            except WatchListUnsupported as err:
                log.info("%s: watch-list refused (%s); using list+watch", self.name, err)
                self.use_watch_list = False
                return None
            except (ResourceExpired, TooLargeResourceVersion):
                if attempt == 2:
                    raise
                self._rv_unavailable = True
                continue
            initial = _InitialEvents()
            try:
                # no resync runs before the store is filled: a channel that never closes
                outcome = self._handle_watch(w, stop, Chan(), initial)
            except (ResourceExpired, TooLargeResourceVersion):
                w.stop()
                if attempt == 2:
                    raise
                self._rv_unavailable = True
                continue
            except BaseException:
                w.stop()
                raise
            break
        self._rv_unavailable = False
        if outcome != "synced":
            w.stop()
            if outcome == "closed":
                log.info("%s: watch-list ended before its initial events did; listing", self.name)
            return None
        self.store.replace(initial.items(), initial.resource_version)
        self._set_rv(initial.resource_version)
        return w

    def _list(self, stop: Chan[Any]) -> None:
        rv = self._relist_rv()
        try:
            result = self.lw.list(rv)
        except (ResourceExpired, TooLargeResourceVersion):
            self._rv_unavailable = True
            result = self.lw.list("")
        self._rv_unavailable = False
        if _stopped(stop):
            return
        self.store.replace(list(result.items), result.resource_version)
        self._set_rv(result.resource_version)

    def _resync_loop(self, stop: Chan[Any], done: Chan[None], failed: Chan[None]) -> None:
        while True:
            if sleep(self.resync_period, stop, done, clock=self.clock) != 2:
                return
            if self.should_resync is None or self.should_resync():
                try:
                    self.store.resync()
                except Exception as err:  # ends this round, as client-go's resyncerrc
                    log.warning("%s: resync failed, ending the watch: %s", self.name, err)
                    failed.close()
                    return

    def _watch_loop(
        self, stop: Chan[Any], resync_failed: Chan[None], first: Watch | None = None
    ) -> None:
        while not _stopped(stop) and not resync_failed.closed:
            if first is not None:  # the watch-list's watch, past its initial events
                w, first = first, None
            else:
                w = self.lw.watch(self.last_sync_resource_version())
            try:
                outcome = self._handle_watch(w, stop, resync_failed)
            except ResourceExpired as err:
                log.info("%s: watch expired (%s); relisting", self.name, err)
                return
            finally:
                w.stop()
            if outcome != "closed":
                return  # stopped, or the resync failed: run() relists after its backoff
            # a clean close: reopen from the last version, no relist

    def _handle_watch(
        self,
        w: Watch,
        stop: Chan[Any],
        resync_failed: Chan[None],
        initial: _InitialEvents | None = None,
    ) -> str:
        """Apply ``w``'s events until it ends: "closed" when it closed by itself, "stopped" on
        stop, "resync failed" when the resync helper failed; raises the watch's errors. With
        ``initial`` (a watch-list's start) the events go there instead, and the
        initial-events-end bookmark returns "synced" (its version in ``initial``), leaving the
        watch open."""
        # A helper closes the watch when stop closes or the resync fails, so the iteration below
        # never outlives either.
        finished: Chan[None] = Chan()

        def stop_watch_on_stop() -> None:
            if select(Recv(stop), Recv(resync_failed), Recv(finished)).index != 2:
                w.stop()

        go(stop_watch_on_stop)
        start = self.clock.now()
        events = 0
        store: ReflectorStore | _InitialEvents = self.store if initial is None else initial
        try:
            for ev in w:
                if _stopped(stop):
                    return "stopped"
                if resync_failed.closed:
                    return "resync failed"
                t = ev.type
                obj = ev.object
                if t == EventType.ERROR:
                    raise WatchError(obj)
                try:
                    if t == EventType.ADDED:
                        store.add(obj)
                    elif t == EventType.MODIFIED:
                        store.update(obj)
                    elif t == EventType.DELETED:
                        store.delete(obj)
                    elif t != EventType.BOOKMARK:
                        log.warning("%s: unknown watch event type %r skipped", self.name, t)
                        continue
                except Exception as err:  # a store error is logged, the watch goes on
                    log.error("%s: unable to apply %s event: %s", self.name, t, err)
                rv = _resource_version(obj)
                events += 1
                if initial is not None:
                    if t == EventType.BOOKMARK and _ends_initial_events(obj):
                        initial.resource_version = rv
                        return "synced"
                    continue  # the version is set when the initial events end
                if rv:
                    self._set_rv(rv)
        finally:
            finished.close()
        if _stopped(stop):
            return "stopped"
        if resync_failed.closed:
            return "resync failed"
        if events == 0 and self.clock.now() - start < 1.0:
            raise WatchError("very short watch: the watch closed within 1 s with no events")
        return "closed"


class _InitialEvents:
    """Where a watch-list's initial events are collected, by namespace/name, until the
    initial-events-end bookmark (client-go's temporary store)."""

    def __init__(self) -> None:
        self._objs: dict[tuple[str, str], Any] = {}
        self.resource_version = ""

    @staticmethod
    def _key(obj: Any) -> tuple[str, str]:
        return object_namespace_and_name(obj)

    def add(self, obj: Any) -> None:
        self._objs[self._key(obj)] = obj

    update = add

    def delete(self, obj: Any) -> None:
        self._objs.pop(self._key(obj), None)

    def items(self) -> list[Any]:
        return list(self._objs.values())


def _ends_initial_events(obj: Any) -> bool:
    """True for the bookmark annotated ``k8s.io/initial-events-end: "true"``."""
    md = obj.get("metadata") if isinstance(obj, dict) else getattr(obj, "metadata", None)
    ann = md.get("annotations") if isinstance(md, dict) else getattr(md, "annotations", None)
    return isinstance(ann, dict) and ann.get(INITIAL_EVENTS_END_ANNOTATION) == "true"


class WatchError(RuntimeError):
    """A watch delivered an ERROR event, or closed suspiciously early."""


def default_watch_error_handler(r: Reflector, err: BaseException) -> None:
    """Log a reflector round's error (expiry at info level, the rest as warnings)."""
    if isinstance(err, ResourceExpired):
        log.info("%s: %s", r.name, err)
    else:
        log.warning("%s: list/watch failed: %s", r.name, err)


def _resource_version(obj: Any) -> str:
    """The object's resourceVersion, ``""`` when it has none (e.g. a bare ERROR status)."""
    try:
        return object_resource_version(obj)
    except CacheKeyError:
        return ""

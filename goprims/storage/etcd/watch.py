"""``EtcdWatch``: a running etcd watch, read by its own thread and handed to the consumer
through a :class:`~goprims.watch.ChanWatch`; it reopens on another endpoint when a stream breaks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from goprims.backoff import Backoff
from goprims.chan import Chan
from goprims.clock import Clock, resolve
from goprims.storage.errors import EtcdError, StorageError, StorageUnavailable
from goprims.storage.etcd._gateway import (
    CODE_PERMISSION_DENIED,
    MSG_PERMISSION_DENIED,
    EtcdClient,
    WatchStream,
    header_revision,
    mod_revision,
    unb64,
)
from goprims.storage.etcd.codec import decode_object, warn_skipped
from goprims.watch import EventType, ResourceExpired, WatchEvent
from goprims.watch.chan_watch import ChanWatch

__all__ = ["EtcdWatch"]

log = logging.getLogger("goprims.storage.etcd")


class EtcdWatch(ChanWatch):
    """A running etcd watch (a :class:`~goprims.watch.ChanWatch`): iterate it for
    :class:`WatchEvent` s; :meth:`stop` ends it.

    A reader thread (``goprims-etcd-watch``) reads the HTTP stream, turns each etcd event into a
    ``WatchEvent`` and sends it into the watch's unbounded channel, so a slow consumer never
    stalls etcd. If the connection to a member breaks (or the member cancels the watch, e.g. on
    losing its leader), the reader reopens the watch on the next endpoint from the revision after
    the last one it received, so no event is lost or repeated. Iteration raises
    :class:`ResourceExpired` if etcd reports that revision compacted, and
    :class:`StorageUnavailable` if no endpoint accepts the watch any more. :meth:`stop` shuts the
    HTTP connection down, which ends the reader thread at once, and waits for it (if the reader
    is opening a new stream just then, until that attempt ends: at most the storage's
    ``connect_timeout + request_timeout`` per endpoint).
    """

    MAX_REOPEN_ATTEMPTS = 8
    """Reopen attempts in a row (about 4 s of back-off) before a watch gives up."""

    def __init__(
        self,
        client: EtcdClient,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        initial: list[dict[str, Any]],
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(on_stop=self._teardown)
        self._clock = resolve(clock)
        self._client = client
        self._key = key
        self._range_end = range_end
        # The revision to ask for when (re)opening the stream: every change below it has been
        # sent to the channel. Read and advanced by the reader thread only.
        self._next_rev = start_revision
        self._stream_lock = threading.Lock()
        # Guarded by _stream_lock: once _halted is set, _stream is interrupted and no new stream
        # is kept (a stream opened concurrently is closed by its opener).
        self._halted = False
        self._stream: WatchStream | None = None
        # Closed with _halted set (under _stream_lock): interrupts a back-off between reopens.
        self._halt: Chan[None] = Chan()
        # The wait before each reopen attempt but the first since the last stream that worked
        # (delivered events or lived over 1 s): 50 ms doubling to 1 s on the clock, no jitter.
        # Reader thread only, after construction, like the two fields below.
        self._backoff = Backoff(self._clock, initial=0.05, cap=1.0, reset_after=None, jitter=0.0)
        self._retrying = False  # the immediate first reopen attempt since that stream was used
        self._opened_at = 0.0  # clock time the current stream was opened
        self._renewed_token = False  # a stale-token cancel was answered by a renewal already
        for obj in initial:
            self.send(WatchEvent(EventType.ADDED, obj))
        self._adopt(client.watch(key, range_end, start_revision))  # errors raise from watch()
        self._thread = threading.Thread(target=self._run, name="goprims-etcd-watch", daemon=True)
        self._thread.start()

    @property
    def next_revision(self) -> int:
        """The revision the watch resumes from: every change before it has been received."""
        return self._next_rev

    # ------------------------------------------------------------------------------ teardown

    def _teardown(self) -> None:
        """``on_stop``: interrupt the stream and wait for the reader thread to end."""
        with self._stream_lock:
            if not self._halted:
                self._halted = True
                self._halt.close()
            stream = self._stream
        if stream is not None:
            stream.interrupt()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _adopt(self, stream: WatchStream) -> bool:
        """Make ``stream`` the current one; False (and close it) if the watch is being torn down."""
        with self._stream_lock:
            if not self._halted:
                self._stream = stream
                self._opened_at = self._clock.now()
                return True
        stream.close()
        return False

    # ------------------------------------------------------------------------------ the reader

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self._pump()
        except (ResourceExpired, StorageError) as e:
            error = e
        except BaseException as e:  # a bug: still end the watch visibly rather than hang it
            log.exception("etcd watch reader failed")
            error = e
        finally:
            with self._stream_lock:
                stream, self._stream = self._stream, None
            if stream is not None:
                stream.close()
            self.close(error)

    def _pump(self) -> None:
        while True:
            with self._stream_lock:
                stream = self._stream
            if stream is None:
                return
            msg = stream.read()
            if self._halted:
                return
            result = msg.get("result") if msg is not None else None
            if result is None:  # the connection broke, or the gateway reported a stream error
                why = msg.get("error") if msg is not None else "connection closed"
                log.info("etcd watch on %s ended (%s); reopening", stream.endpoint, why)
                if not self._reopen(stream):
                    return
                continue
            if result.get("canceled"):
                compact = int(result.get("compact_revision", 0))
                if compact:
                    raise ResourceExpired(
                        f"The resourceVersion for the provided watch is too old: revision "
                        f"{self._next_rev} was compacted (etcd compaction point {compact})",
                        str(self._next_rev - 1),
                    )
                why = result.get("cancel_reason", "")
                if MSG_PERMISSION_DENIED in why:
                    if stream.token is None or self._renewed_token:
                        raise EtcdError(CODE_PERMISSION_DENIED, f"etcd refused the watch: {why}")
                    # Opened with a token etcd no longer accepts: renew it once, then reopen.
                    self._renewed_token = True
                    self._client.invalidate_token(stream.token)
                    if not self._reopen(stream):
                        return
                    continue
                log.info("etcd %s cancelled the watch (%s); reopening", stream.endpoint, why)
                if not self._reopen(stream):
                    return
                continue
            if result.get("created"):
                self._renewed_token = False  # the token was accepted
            events = result.get("events")
            if events:
                self._stream_worked()
                for ev in events:
                    out = self._event_of(ev)
                    if out is not None and not self.send(out):
                        return  # stopped by the consumer
                self._next_rev = mod_revision(events[-1]["kv"]) + 1
            elif not result.get("created"):
                # A progress notification: every change up to the header revision was sent.
                self._next_rev = max(self._next_rev, header_revision(result) + 1)

    def _stream_worked(self) -> None:
        """The current stream delivered events or lived a while: the next reopen is immediate."""
        self._retrying = False
        self._backoff.reset()

    def _reopen(self, broken: WatchStream) -> bool:
        """Replace a broken stream by one opened at ``_next_rev``, starting with the endpoint
        after the broken one; False if the watch is torn down meanwhile.

        The first attempt after a stream that worked (delivered events or lived over a second of
        the clock) is immediate; further attempts wait the watch's :class:`~goprims.backoff.Backoff`
        on the clock (50 ms doubling up to 1 s, e.g. while the cluster elects a leader; a stop
        interrupts the wait at once), and after ``MAX_REOPEN_ATTEMPTS`` in a row the watch ends
        with :class:`StorageUnavailable`.
        """
        with self._stream_lock:
            if self._stream is broken:
                self._stream = None
        broken.close()
        if self._clock.now() - self._opened_at > 1.0:
            self._stream_worked()  # it worked for a while: try again at once
        first: int | None = self._client.endpoint_index(broken.endpoint) + 1
        while True:
            if self._halted:
                return False
            if self._retrying:
                # attempts so far: the immediate one plus one per back-off already waited
                if self._backoff.attempts + 1 >= self.MAX_REOPEN_ATTEMPTS:
                    raise StorageUnavailable(
                        f"etcd watch: no endpoint kept a watch open after "
                        f"{self.MAX_REOPEN_ATTEMPTS} attempts (last: {broken.endpoint})"
                    )
                if not self._backoff.wait(self._halt):
                    return False
            self._retrying = True
            try:
                stream = self._client.watch(self._key, self._range_end, self._next_rev, first=first)
            except StorageUnavailable as e:
                log.info("etcd watch: reopening failed (%s); retrying", e)
                first = None
                continue
            return self._adopt(stream)

    def _event_of(self, ev: Mapping[str, Any]) -> WatchEvent | None:
        """The WatchEvent for one etcd event; None when an unreadable value makes it invisible.

        Invariant kept for the consumer: a key whose value is not an object is absent.
        """
        kv = ev["kv"]
        key = unb64(kv.get("key"))
        rev = mod_revision(kv)
        prev = ev.get("prev_kv")
        prev_obj = decode_object(unb64(prev.get("value")), rev) if prev is not None else None
        prev_garbage = prev is not None and prev_obj is None
        if ev.get("type") == "DELETE":
            if prev_obj is not None:
                return WatchEvent(EventType.DELETED, prev_obj)
            if prev_garbage:
                warn_skipped(key, "watch")
                return None
            raise ResourceExpired(
                f"the value deleted at revision {rev} was compacted away", str(rev - 1)
            )
        obj = decode_object(unb64(kv.get("value")), rev)
        created = int(kv.get("create_revision", 0)) == rev
        if obj is None:
            warn_skipped(key, "watch")
            if created or prev_garbage:
                return None  # the consumer never saw this key
            if prev_obj is None:
                raise ResourceExpired(
                    f"the value replaced at revision {rev} was compacted away", str(rev - 1)
                )
            return WatchEvent(EventType.DELETED, prev_obj)  # a known object became unreadable
        if created or prev_garbage:
            return WatchEvent(EventType.ADDED, obj)
        return WatchEvent(EventType.MODIFIED, obj)

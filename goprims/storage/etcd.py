"""``EtcdStorage``: the :class:`~goprims.storage.Storage` protocol on a real etcd v3 cluster.

Objects are kept the way kube-apiserver keeps them (``k8s.io/apiserver/pkg/storage/etcd3``):

* the value under ``prefix + key`` is the object's JSON (keys sorted) **without**
  ``metadata.resourceVersion``;
* an object's resourceVersion **is** etcd's mod revision of its key, as a decimal string: every
  object returned by create, get, update, list and watch is stamped with it; a list's version is
  the revision the whole list was read at; a deleted object carries the deletion's revision;
* ``create`` is a transaction guarded by ``mod_revision(key) == 0`` (absent), so of two creators
  exactly one wins (:class:`AlreadyExists`); ``update`` is a compare-and-swap on the mod revision
  (:class:`Conflict`), written as one transaction that also skips a write that would change
  nothing; ``guaranteed_update`` repeats read / ``fn`` / compare-and-swap, reusing the current value
  that a failed swap returns instead of reading again; ``delete`` optionally guards on the version;
* ``watch(prefix, rv)`` opens an etcd watch at ``start_revision = rv + 1`` ("every change after
  rv") with previous values, so a deletion carries the deleted object; a version older than the
  compaction point raises :class:`ResourceExpired` from ``watch()``, and a running watch whose next
  change etcd can no longer deliver ends with it.

The client is our own, over etcd's JSON gRPC gateway, with the standard library only
(:mod:`goprims.storage._etcd_client` explains the choice). The ``goprims[etcd]`` extra therefore
installs nothing.

Values that are not a JSON object with a ``metadata`` object (written under the prefix by
something else) are treated as **absent**: ``list`` and ``watch`` log a warning and skip them; a
watch turns an object overwritten by such a value into ``DELETED``, and such a value replaced by an
object into ``ADDED``. So an informer's cache always equals what ``list`` returns, and a watch
never dies of a bad value. ``get`` and the updates raise :class:`CorruptObject` for such a key;
``delete`` removes it.

Differences from :class:`~goprims.storage.MemoryStorage`, all inherited from etcd: a running
watch has already received from etcd the events it buffers, so a later compaction does not take
them back (it ends the watch only when the watch must be reopened -- after a lost connection -- at
a compacted revision); and etcd never compacts by itself unless started with
``--auto-compaction-*``.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from goprims.storage._etcd_client import EtcdClient, WatchStream, b64, prefix_end, unb64
from goprims.storage.errors import (
    AlreadyExists,
    Conflict,
    CorruptObject,
    EtcdError,
    InvalidObject,
    NotFound,
    StorageError,
    StorageUnavailable,
)
from goprims.storage.objects import check_key, parse_resource_version, resource_version_of
from goprims.watch import (
    EventType,
    ListResult,
    ResourceExpired,
    TooLargeResourceVersion,
    WatchEvent,
)
from goprims.watch.chan_watch import ChanWatch

__all__ = ["CorruptObject", "EtcdError", "EtcdStorage", "EtcdWatch", "StorageUnavailable"]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------- object codec


def _encode(obj: Any) -> bytes:
    """The stored form of ``obj``: JSON with sorted keys, without ``metadata.resourceVersion``.

    Sorted keys make the stored form canonical, so "the update changes nothing" is a byte
    comparison. Raises :class:`InvalidObject` for anything that is not a JSON-serialisable mapping
    with a ``metadata`` mapping (for a kubernetes client model, store ``obj.to_dict()``).
    """
    if not isinstance(obj, Mapping):
        raise InvalidObject(
            f"EtcdStorage stores JSON objects (a dict with a 'metadata' dict), not "
            f"{type(obj).__name__}; for a kubernetes client model store its to_dict()"
        )
    resource_version_of(obj)  # InvalidObject without a metadata mapping or with a bad version
    body = dict(obj)
    meta = dict(body["metadata"])
    meta.pop("resourceVersion", None)
    body["metadata"] = meta
    try:
        return json.dumps(body, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        raise InvalidObject(f"object is not JSON-serialisable: {e}") from e


def _decode(data: bytes, revision: int) -> dict[str, Any] | None:
    """The object stored as ``data``, stamped with ``revision``; None unless it is a JSON object
    with a ``metadata`` object (that is, unless a storage wrote it)."""
    try:
        obj = json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return None
    meta["resourceVersion"] = str(revision)
    return obj


# -------------------------------------------------------------------- reading gateway answers


def _revision(resp: Mapping[str, Any]) -> int:
    return int(resp.get("header", {}).get("revision", 0))


def _mod(kv: Mapping[str, Any]) -> int:
    return int(kv.get("mod_revision", 0))


def _first_kv(resp: Mapping[str, Any]) -> dict[str, Any] | None:
    kvs = resp.get("kvs") or []
    return kvs[0] if kvs else None


def _txn_range_kv(resp: Mapping[str, Any]) -> dict[str, Any] | None:
    """The key's pair from a txn branch that was a single range of that key (None: absent)."""
    for r in resp.get("responses") or []:
        rr = r.get("response_range")
        if rr is not None:
            return _first_kv(rr)
    return None


def _warn_skipped(etcd_key: bytes, where: str) -> None:
    log.warning(
        "etcd %s: skipped %r: its value is not a JSON object with metadata",
        where,
        etcd_key.decode(errors="replace"),
    )


class EtcdStorage:
    """The :class:`~goprims.storage.Storage` protocol on etcd v3, under ``prefix`` in etcd's keys.

    ``endpoints`` is one client URL or a list (``"http://127.0.0.1:2379"``; list every member of
    a cluster so that requests and watches fail over). Storage key ``k`` is etcd key
    ``prefix + k`` (UTF-8); two storages with different prefixes share a cluster without seeing
    each other. A call that gets no answer raises :class:`StorageUnavailable` within about
    ``connect_timeout + request_timeout`` seconds per endpoint (at once when connections are
    refused). ``page_size`` bounds the pairs one range request of a ``list`` fetches; all pages
    of a list are read at one revision. ``https://`` endpoints use ``ssl_context`` (default:
    system CAs, no client certificate).

    Objects must be JSON: a ``dict`` with a ``metadata`` dict (store a kubernetes client model
    as ``model.to_dict()``); objects are returned as plain dicts.

    Thread-safe: any number of threads may share an instance. :meth:`close` (or leaving a
    ``with`` block) stops the watches opened through it and closes idle connections.
    """

    def __init__(
        self,
        endpoints: str | list[str] | tuple[str, ...],
        prefix: str = "/goprims/",
        *,
        connect_timeout: float = 2.0,
        request_timeout: float = 10.0,
        page_size: int = 5000,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.prefix = prefix
        self.page_size = page_size
        self._root = prefix.encode()
        self._client = EtcdClient(
            endpoints,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            ssl_context=ssl_context,
        )
        self._lock = threading.Lock()
        self._watches: weakref.WeakSet[EtcdWatch] = weakref.WeakSet()  # guarded by _lock

    @property
    def endpoints(self) -> list[str]:
        """The etcd client URLs this storage talks to."""
        return self._client.endpoints

    def __repr__(self) -> str:
        return f"EtcdStorage({self.endpoints!r}, prefix={self.prefix!r})"

    # ------------------------------------------------------------------------------ helpers

    def _key(self, key: str) -> bytes:
        return self._root + check_key(key).encode()

    def _span(self, prefix: str) -> tuple[bytes, bytes]:
        """The etcd key range ``[start, end)`` of the storage keys starting with ``prefix``."""
        start = self._root + prefix.encode()
        # etcd has no empty key: the whole key space is [b"\0", b"\0").
        return start or b"\0", prefix_end(start)

    def _object(self, key: str, kv: Mapping[str, Any]) -> dict[str, Any]:
        obj = _decode(unb64(kv.get("value")), _mod(kv))
        if obj is None:
            raise CorruptObject(
                f"the value under {self.prefix + key!r} is not a JSON object with metadata", key
            )
        return obj

    def _stored(self, data: bytes, resp: Mapping[str, Any]) -> dict[str, Any]:
        """What a successful write of ``data`` stored, stamped with the write's revision."""
        out = _decode(data, _revision(resp))
        assert out is not None, "_encode produced an undecodable value"
        return out

    def _check_version(self, rv: int, asked: str, what: str) -> None:
        """Raise :class:`TooLargeResourceVersion` if ``rv`` is newer than the current revision,
        :class:`ResourceExpired` if it is older than the compaction point (0 always passes).

        One range at revision ``rv`` answers both: etcd refuses a compacted or future revision.
        """
        if rv == 0:
            return
        try:
            self._client.range(self._root or b"\0", revision=rv, count_only=True)
        except EtcdError as e:
            if e.compacted:
                raise ResourceExpired(
                    f"The resourceVersion for the provided {what} is too old "
                    f"(etcd compacted it): {asked}",
                    asked,
                ) from e
            if e.future_revision:
                current = str(self.revision())
                raise TooLargeResourceVersion(
                    f"Too large resource version: {rv}, current: {current}", asked, current
                ) from e
            raise

    def _cas(
        self, k: bytes, expected_mod: int, success: list[dict[str, Any]], *extra: dict[str, Any]
    ) -> dict[str, Any]:
        """Run ``success`` if the key's mod revision is ``expected_mod`` (0: absent) and every
        ``extra`` comparison holds; otherwise read the key (the failure branch)."""
        compare = [
            {"key": b64(k), "target": "MOD", "result": "EQUAL", "mod_revision": expected_mod}
        ]
        return self._client.txn(
            compare=compare + list(extra),
            success=success,
            failure=[{"request_range": {"key": b64(k)}}],
        )

    # ---------------------------------------------------------------------------- the protocol

    def create(self, key: str, obj: Any) -> dict[str, Any]:
        """Store ``obj`` under ``key`` if the key is absent; the stored copy with its version.

        Raises :class:`AlreadyExists` if the key holds a value, :class:`InvalidObject` if ``obj``
        is not a JSON object with metadata or carries a resourceVersion (other than ``""``/``"0"``).
        """
        k = self._key(key)
        if resource_version_of(obj) not in ("", "0"):
            raise InvalidObject("resourceVersion should not be set on objects to be created", key)
        data = _encode(obj)
        resp = self._cas(k, 0, [{"request_put": {"key": b64(k), "value": b64(data)}}])
        if not resp.get("succeeded"):
            raise AlreadyExists(f"{key!r} already exists", key)
        return self._stored(data, resp)

    def get(self, key: str) -> dict[str, Any]:
        """The object under ``key``: :class:`NotFound` if absent, :class:`CorruptObject` if the
        value is not an object."""
        kv = _first_kv(self._client.range(self._key(key)))
        if kv is None:
            raise NotFound(f"{key!r} not found", key)
        return self._object(key, kv)

    def update(self, key: str, obj: Any) -> dict[str, Any]:
        """Compare-and-swap: replace the object under ``key`` if ``obj``'s resourceVersion is the
        stored one (etcd's mod revision); the stored copy with its new version.

        One transaction: ``If(mod == rv AND value != new) Then Put Else Get``. Raises
        :class:`NotFound` if absent and :class:`Conflict` if the version differs (an empty version
        never matches). An update that changes nothing writes nothing and returns the stored object.
        """
        k = self._key(key)
        asked = resource_version_of(obj)
        expected = parse_resource_version(asked)
        data = _encode(obj)
        if expected == 0:  # never matches; only tell NotFound from Conflict
            current = _first_kv(self._client.range(k))
        else:
            resp = self._cas(
                k,
                expected,
                [{"request_put": {"key": b64(k), "value": b64(data)}}],
                {"key": b64(k), "target": "VALUE", "result": "NOT_EQUAL", "value": b64(data)},
            )
            if resp.get("succeeded"):
                return self._stored(data, resp)
            current = _txn_range_kv(resp)
        if current is None:
            raise NotFound(f"{key!r} not found", key)
        if _mod(current) == expected:  # the version matched: the value was already ``data``
            return self._object(key, current)
        raise Conflict(
            f"{key!r}: the object has been modified (resourceVersion {asked!r}, stored "
            f"{_mod(current)}); read it again and retry",
            key,
            asked,
            str(_mod(current)),
        )

    def guaranteed_update(self, key: str, fn: Callable[[Any], Any]) -> dict[str, Any]:
        """Apply ``fn(current) -> new`` to the object under ``key`` until the swap succeeds.

        ``fn`` gets a private copy and may run several times (once per conflict); an exception
        from it aborts with nothing written. If ``new`` equals the current object (apart from
        resourceVersion), nothing is written and the current object is returned. Raises
        :class:`NotFound` if the key is (or becomes) absent, :class:`InvalidObject` for a bad
        ``new``. After a conflict the transaction's own read of the key is used: no extra GET.
        """
        k = self._key(key)
        kv = _first_kv(self._client.range(k))
        while True:
            if kv is None:
                raise NotFound(f"{key!r} not found", key)
            current = self._object(key, kv)
            data = _encode(fn(current))  # current is a fresh decode: fn may mutate it
            if data == unb64(kv.get("value")):
                return self._object(key, kv)
            resp = self._cas(k, _mod(kv), [{"request_put": {"key": b64(k), "value": b64(data)}}])
            if resp.get("succeeded"):
                return self._stored(data, resp)
            kv = _txn_range_kv(resp)

    def delete(self, key: str, resource_version: str | None = None) -> dict[str, Any]:
        """Delete ``key``; its last state stamped with the deletion's revision (as in ``DELETED``).

        With ``resource_version`` (not None/``""``) the delete happens only if the key is still at
        that version (:class:`Conflict` otherwise). :class:`NotFound` if absent. A value that is
        not an object is deleted too; what is returned for it is a bare
        ``{"metadata": {"resourceVersion": ...}}`` (and a warning is logged).
        """
        k = self._key(key)
        asked = resource_version or ""
        if not asked:
            resp = self._client.delete_range(k)
            prev = (resp.get("prev_kvs") or [None])[0]
            if prev is None:
                raise NotFound(f"{key!r} not found", key)
        else:
            expected = parse_resource_version(asked)
            resp = self._cas(
                k, expected, [{"request_delete_range": {"key": b64(k), "prev_kv": True}}]
            )
            if not resp.get("succeeded"):
                current = _txn_range_kv(resp)
                if current is None:
                    raise NotFound(f"{key!r} not found", key)
                raise Conflict(
                    f"{key!r}: precondition failed: resourceVersion {asked!r}, stored "
                    f"{_mod(current)}",
                    key,
                    asked,
                    str(_mod(current)),
                )
            deleted = (resp.get("responses") or [{}])[0].get("response_delete_range", {})
            prev = (deleted.get("prev_kvs") or [None])[0]
            if prev is None:  # expected == 0 matched an absent key: nothing was deleted
                raise NotFound(f"{key!r} not found", key)
        revision = _revision(resp)
        obj = _decode(unb64(prev.get("value")), revision)
        if obj is None:
            _warn_skipped(k, "delete")
            return {"metadata": {"resourceVersion": str(revision)}}
        return obj

    def list(self, prefix: str = "", resource_version: str = "") -> ListResult:
        """Every object whose key starts with ``prefix``, sorted by key, all read at one revision,
        which is the list's resource version.

        ``resource_version`` ``"N"`` must be neither newer than the current revision
        (:class:`TooLargeResourceVersion`) nor older than the compaction point
        (:class:`ResourceExpired`); the current state is returned either way. Pages of
        ``page_size`` pairs are read at the first page's revision; if it is compacted while
        paging, the list starts again. Values that are not objects are skipped with a warning.
        """
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        self._check_version(parse_resource_version(resource_version), resource_version, "list")
        start, end = self._span(prefix)
        while True:
            try:
                return self._list_at_one_revision(start, end)
            except EtcdError as e:
                if not e.compacted:
                    raise
                log.info("etcd list of %r: compacted while paging; listing again", prefix)

    def _list_at_one_revision(self, start: bytes, end: bytes) -> ListResult:
        items: list[dict[str, Any]] = []
        revision = 0
        key = start
        while True:
            resp = self._client.range(key, end, revision=revision, limit=self.page_size)
            if revision == 0:
                revision = _revision(resp)
            kvs = resp.get("kvs") or []
            for kv in kvs:
                obj = _decode(unb64(kv.get("value")), _mod(kv))
                if obj is None:
                    _warn_skipped(unb64(kv.get("key")), "list")
                else:
                    items.append(obj)
            if not resp.get("more") or not kvs:
                return ListResult(items, str(revision))
            key = unb64(kvs[-1].get("key")) + b"\0"

    def watch(self, prefix: str = "", resource_version: str = "") -> EtcdWatch:
        """Watch the keys starting with ``prefix``.

        ``"N"``: every change after revision N, in revision order (etcd replays its history,
        then streams live changes); ``""``/``"0"``: first a synthetic ``ADDED`` for every current
        object (sorted by key, each with its own version, all read at one revision R), then every
        change after R. Raises :class:`TooLargeResourceVersion` if N is newer than the current
        revision, :class:`ResourceExpired` if it is older than the compaction point, and
        :class:`StorageUnavailable` if no endpoint accepts the watch. Stop it with
        :meth:`EtcdWatch.stop` (or :meth:`close`): it holds a connection and a reader thread.
        """
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        rv = parse_resource_version(resource_version)
        start, end = self._span(prefix)
        initial: list[dict[str, Any]] = []
        if rv == 0:
            listed = self.list(prefix)
            initial, rv = listed.items, int(listed.resource_version)
        else:
            self._check_version(rv, resource_version, "watch")
        w = EtcdWatch(self._client, start, end, rv + 1, initial)
        with self._lock:
            self._watches.add(w)
        return w

    def revision(self) -> int:
        """etcd's current revision: that of the cluster's last write (a consistent read)."""
        return _revision(self._client.range(self._root or b"\0", count_only=True))

    def compact(self, revision: int | str) -> None:
        """Compact etcd's history up to ``revision`` (and wait until it is applied): versions
        older than ``revision`` are then expired (see :meth:`list`, :meth:`watch`).

        This compacts the **whole cluster**, not only this prefix. At or below the current
        compaction point it does nothing; past the current revision it raises
        :class:`TooLargeResourceVersion`.
        """
        rev = parse_resource_version(revision)
        if rev == 0:
            return
        try:
            self._client.compact(rev)
        except EtcdError as e:
            if e.compacted:
                return
            if e.future_revision:
                current = str(self.revision())
                raise TooLargeResourceVersion(
                    f"cannot compact at {rev}: current revision is {current}",
                    str(revision),
                    current,
                ) from e
            raise

    def close(self) -> None:
        """Stop every watch opened through this storage and close idle connections. The storage
        stays usable (new calls open new connections)."""
        with self._lock:
            watches = list(self._watches)
        for w in watches:
            w.stop()
        self._client.close()

    def __enter__(self) -> EtcdStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    ) -> None:
        super().__init__(on_stop=self._teardown)
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
        self._halt = threading.Event()  # set with _halted: interrupts a back-off between reopens
        # Reopen attempts since the last stream that delivered events or lived over 1 s, and
        # when the current stream was opened (reader thread only, after construction).
        self._failures = 0
        self._opened_at = 0.0
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
            self._halted = True
            stream = self._stream
        self._halt.set()
        if stream is not None:
            stream.interrupt()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _adopt(self, stream: WatchStream) -> bool:
        """Make ``stream`` the current one; False (and close it) if the watch is being torn down."""
        with self._stream_lock:
            if not self._halted:
                self._stream = stream
                self._opened_at = time.monotonic()
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
                log.info("etcd %s cancelled the watch (%s); reopening", stream.endpoint, why)
                if not self._reopen(stream):
                    return
                continue
            events = result.get("events")
            if events:
                self._failures = 0  # the stream works: a later reopen may be immediate
                for ev in events:
                    out = self._event_of(ev)
                    if out is not None and not self.send(out):
                        return  # stopped by the consumer
                self._next_rev = _mod(events[-1]["kv"]) + 1
            elif not result.get("created"):
                # A progress notification: every change up to the header revision was sent.
                self._next_rev = max(self._next_rev, _revision(result) + 1)

    def _reopen(self, broken: WatchStream) -> bool:
        """Replace a broken stream by one opened at ``_next_rev``, starting with the endpoint
        after the broken one; False if the watch is torn down meanwhile.

        The first attempt after a stream that worked (delivered events or lived over a second)
        is immediate; further attempts back off (50 ms doubling up to 1 s, e.g. while the
        cluster elects a leader), and after ``MAX_REOPEN_ATTEMPTS`` in a row the watch ends with
        :class:`StorageUnavailable`.
        """
        with self._stream_lock:
            if self._stream is broken:
                self._stream = None
        broken.close()
        if time.monotonic() - self._opened_at > 1.0:
            self._failures = 0  # it worked for a while: try again at once
        first: int | None = self._client.endpoint_index(broken.endpoint) + 1
        while True:
            if self._halted:
                return False
            self._failures += 1
            if self._failures > 1:
                if self._failures > self.MAX_REOPEN_ATTEMPTS:
                    raise StorageUnavailable(
                        f"etcd watch: no endpoint kept a watch open after "
                        f"{self.MAX_REOPEN_ATTEMPTS} attempts (last: {broken.endpoint})"
                    )
                if self._halt.wait(min(0.05 * 2 ** (self._failures - 2), 1.0)):
                    return False
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
        rev = _mod(kv)
        prev = ev.get("prev_kv")
        prev_obj = _decode(unb64(prev.get("value")), rev) if prev is not None else None
        prev_garbage = prev is not None and prev_obj is None
        if ev.get("type") == "DELETE":
            if prev_obj is not None:
                return WatchEvent(EventType.DELETED, prev_obj)
            if prev_garbage:
                _warn_skipped(key, "watch")
                return None
            raise ResourceExpired(
                f"the value deleted at revision {rev} was compacted away", str(rev - 1)
            )
        obj = _decode(unb64(kv.get("value")), rev)
        created = int(kv.get("create_revision", 0)) == rev
        if obj is None:
            _warn_skipped(key, "watch")
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

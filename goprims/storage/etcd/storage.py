"""``EtcdStorage``: the :class:`~goprims.storage.Storage` protocol on a real etcd v3 cluster
(the design is described in :mod:`goprims.storage.etcd`)."""

from __future__ import annotations

import logging
import ssl
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from goprims.clock import Clock, resolve
from goprims.storage.errors import (
    AlreadyExists,
    Conflict,
    CorruptObject,
    EtcdError,
    InvalidObject,
    NotFound,
)
from goprims.storage.etcd._gateway import (
    EtcdClient,
    b64,
    first_kv,
    header_revision,
    mod_revision,
    prefix_end,
    txn_range_kv,
    unb64,
)
from goprims.storage.etcd.codec import decode_object, encode_object, warn_skipped
from goprims.storage.etcd.watch import EtcdWatch
from goprims.storage.objects import check_key, parse_resource_version, resource_version_of
from goprims.watch import ListResult, ResourceExpired, TooLargeResourceVersion

# The Storage protocol's signatures: what goes in comes back (a JSON object goes in, its decoded
# copy comes back), so callers keep their object type.
ObjT = TypeVar("ObjT")

__all__ = ["EtcdStorage"]

log = logging.getLogger("goprims.storage.etcd")


class EtcdStorage:
    """The :class:`~goprims.storage.Storage` protocol on etcd v3, under ``prefix`` in etcd's keys.

    ``endpoints`` is one client URL or a list (``"http://127.0.0.1:2379"``; list every member of
    a cluster so that requests and watches fail over). Storage key ``k`` is etcd key
    ``prefix + k`` (UTF-8); two storages with different prefixes share a cluster without seeing
    each other. A call that gets no answer raises :class:`StorageUnavailable` within about
    ``connect_timeout + request_timeout`` seconds per endpoint (at once when connections are
    refused). ``page_size`` bounds the pairs one range request of a ``list`` fetches; all pages
    of a list are read at one revision. ``https://`` endpoints use ``ssl_context`` (default:
    system CAs, no client certificate). ``clock`` times the watches' reopen back-off (default:
    the real clock).

    ``username`` and ``password`` (both or neither) authenticate to an etcd with auth enabled:
    the storage asks etcd for a token on first use, sends it with every request and watch, and
    renews it when etcd no longer accepts it (a simple token expires after ``--auth-token-ttl``
    idle seconds and is lost when a member restarts), retrying the refused request once. Wrong
    credentials, or none for an etcd that requires them, raise :class:`AuthenticationFailed`.

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
        clock: Clock | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.prefix = prefix
        self.page_size = page_size
        self.clock = resolve(clock)
        self._root = prefix.encode()
        self._client = EtcdClient(
            endpoints,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            ssl_context=ssl_context,
            username=username,
            password=password,
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
        obj = decode_object(unb64(kv.get("value")), mod_revision(kv))
        if obj is None:
            raise CorruptObject(
                f"the value under {self.prefix + key!r} is not a JSON object with metadata", key
            )
        return obj

    def _stored(self, data: bytes, resp: Mapping[str, Any]) -> dict[str, Any]:
        """What a successful write of ``data`` stored, stamped with the write's revision."""
        out = decode_object(data, header_revision(resp))
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

    def create(self, key: str, obj: ObjT) -> ObjT:
        """Store ``obj`` under ``key`` if the key is absent; the stored copy with its version.

        Raises :class:`AlreadyExists` if the key holds a value, :class:`InvalidObject` if ``obj``
        is not a JSON object with metadata or carries a resourceVersion (other than ``""``/``"0"``).
        """
        k = self._key(key)
        if resource_version_of(obj) not in ("", "0"):
            raise InvalidObject("resourceVersion should not be set on objects to be created", key)
        data = encode_object(obj)
        resp = self._cas(k, 0, [{"request_put": {"key": b64(k), "value": b64(data)}}])
        if not resp.get("succeeded"):
            raise AlreadyExists(f"{key!r} already exists", key)
        return cast(ObjT, self._stored(data, resp))

    def get(self, key: str) -> dict[str, Any]:
        """The object under ``key``: :class:`NotFound` if absent, :class:`CorruptObject` if the
        value is not an object."""
        kv = first_kv(self._client.range(self._key(key)))
        if kv is None:
            raise NotFound(f"{key!r} not found", key)
        return self._object(key, kv)

    def update(self, key: str, obj: ObjT) -> ObjT:
        """Compare-and-swap: replace the object under ``key`` if ``obj``'s resourceVersion is the
        stored one (etcd's mod revision); the stored copy with its new version.

        One transaction: ``If(mod == rv AND value != new) Then Put Else Get``. Raises
        :class:`NotFound` if absent and :class:`Conflict` if the version differs (an empty version
        never matches). An update that changes nothing writes nothing and returns the stored object.
        """
        k = self._key(key)
        asked = resource_version_of(obj)
        expected = parse_resource_version(asked)
        data = encode_object(obj)
        if expected == 0:  # never matches; only tell NotFound from Conflict
            current = first_kv(self._client.range(k))
        else:
            resp = self._cas(
                k,
                expected,
                [{"request_put": {"key": b64(k), "value": b64(data)}}],
                {"key": b64(k), "target": "VALUE", "result": "NOT_EQUAL", "value": b64(data)},
            )
            if resp.get("succeeded"):
                return cast(ObjT, self._stored(data, resp))
            current = txn_range_kv(resp)
        if current is None:
            raise NotFound(f"{key!r} not found", key)
        if mod_revision(current) == expected:  # the version matched: the value was already ``data``
            return cast(ObjT, self._object(key, current))
        raise Conflict(
            f"{key!r}: the object has been modified (resourceVersion {asked!r}, stored "
            f"{mod_revision(current)}); read it again and retry",
            key,
            asked,
            str(mod_revision(current)),
        )

    def guaranteed_update(self, key: str, fn: Callable[[Any], ObjT]) -> ObjT:
        """Apply ``fn(current) -> new`` to the object under ``key`` until the swap succeeds.

        ``fn`` gets a private copy and may run several times (once per conflict); an exception
        from it aborts with nothing written. If ``new`` equals the current object (apart from
        resourceVersion), nothing is written and the current object is returned. Raises
        :class:`NotFound` if the key is (or becomes) absent, :class:`InvalidObject` for a bad
        ``new``. After a conflict the transaction's own read of the key is used: no extra GET.
        """
        k = self._key(key)
        kv = first_kv(self._client.range(k))
        while True:
            if kv is None:
                raise NotFound(f"{key!r} not found", key)
            current = self._object(key, kv)
            data = encode_object(fn(current))  # current is a fresh decode: fn may mutate it
            if data == unb64(kv.get("value")):
                return cast(ObjT, self._object(key, kv))
            resp = self._cas(
                k, mod_revision(kv), [{"request_put": {"key": b64(k), "value": b64(data)}}]
            )
            if resp.get("succeeded"):
                return cast(ObjT, self._stored(data, resp))
            kv = txn_range_kv(resp)

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
                current = txn_range_kv(resp)
                if current is None:
                    raise NotFound(f"{key!r} not found", key)
                raise Conflict(
                    f"{key!r}: precondition failed: resourceVersion {asked!r}, stored "
                    f"{mod_revision(current)}",
                    key,
                    asked,
                    str(mod_revision(current)),
                )
            deleted = (resp.get("responses") or [{}])[0].get("response_delete_range", {})
            prev = (deleted.get("prev_kvs") or [None])[0]
            if prev is None:  # expected == 0 matched an absent key: nothing was deleted
                raise NotFound(f"{key!r} not found", key)
        revision = header_revision(resp)
        obj = decode_object(unb64(prev.get("value")), revision)
        if obj is None:
            warn_skipped(k, "delete")
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
                revision = header_revision(resp)
            kvs = resp.get("kvs") or []
            for kv in kvs:
                obj = decode_object(unb64(kv.get("value")), mod_revision(kv))
                if obj is None:
                    warn_skipped(unb64(kv.get("key")), "list")
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
        w = EtcdWatch(self._client, start, end, rv + 1, initial, clock=self.clock)
        with self._lock:
            self._watches.add(w)
        return w

    def revision(self) -> int:
        """etcd's current revision: that of the cluster's last write (a consistent read)."""
        return header_revision(self._client.range(self._root or b"\0", count_only=True))

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

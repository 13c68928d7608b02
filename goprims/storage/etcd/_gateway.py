"""A small etcd v3 client over etcd's JSON gRPC gateway, using only the standard library.

Every etcd v3 server (3.3 and later) serves, on its client URL, a gRPC gateway that maps the KV
and Watch RPCs to HTTP/1.1 ``POST`` requests with JSON bodies: ``/v3/kv/range``, ``/v3/kv/txn``,
``/v3/kv/deleterange``, ``/v3/kv/compaction`` and the streaming ``/v3/watch``. Keys and values are
base64 strings, 64-bit integers are decimal strings, and fields holding their default value (0,
false, the first enum member) are omitted from responses. Errors come back as a non-200 status
with ``{"code": <gRPC code>, "message": ...}``.

Why our own client rather than a PyPI one (see ``docs/storage.md``): the gRPC clients (``etcd3``,
``etcd-sdk-python``) pull in grpcio and a protobuf version they do not declare or cannot import;
``aetcd`` is asyncio-only; ``etcd3gw`` speaks this same gateway but drops the ``compact_revision``
cancellation of a watch, so a watch on a compacted revision hangs instead of failing -- exactly the
signal an informer needs to relist. The gateway is small enough to speak directly.

Connections: one pool of idle keep-alive ``http.client`` connections per endpoint, so concurrent
callers never share a connection. A pooled connection that the server closed while idle (for
instance because the member restarted) is detected before reuse and replaced.

Fail-over: requests go to the *preferred* endpoint; a connection failure moves the preference to
the next endpoint and the request is tried there, once per endpoint. A read is always retried. A
write is retried only when it certainly was not applied (the connection could not be made, or
the member answered "no leader", which it does before any processing because every request asks
for a leader); once a write was sent, a lost connection or another "unavailable" answer leaves
its outcome unknown and raises :class:`StorageUnavailable` rather than risking applying it twice.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import select
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

from goprims.storage.errors import AuthenticationFailed, EtcdError, StorageUnavailable

__all__ = [
    "EtcdClient",
    "WatchStream",
    "b64",
    "first_kv",
    "header_revision",
    "mod_revision",
    "prefix_end",
    "txn_range_kv",
    "unb64",
]

# gRPC status codes etcd answers with (google.golang.org/grpc/codes).
CODE_INVALID_ARGUMENT = 3
CODE_OUT_OF_RANGE = 11
CODE_UNAVAILABLE = 14
CODE_UNAUTHENTICATED = 16
CODE_PERMISSION_DENIED = 7

# etcd's error messages for reads at a revision it no longer has, or does not have yet.
# (The "compacted" and "future revision" messages are read by EtcdError, in storage/errors.py.)
MSG_NO_LEADER = "etcdserver: no leader"
# A watch opened with a stale token is cancelled (not refused) with this reason.
MSG_PERMISSION_DENIED = "permission denied"
# What etcd answers a request without a token once auth is enabled.
MSG_USER_EMPTY = "user name is empty"

_MAX_IDLE_PER_ENDPOINT = 16
_HEADERS = {
    "Content-Type": "application/json",
    # Forwarded by the gateway as gRPC metadata "hasleader: true": a member that has lost its
    # leader refuses the request (and cancels such watches) instead of serving stale data.
    "Grpc-Metadata-hasleader": "true",
}


def b64(data: bytes) -> str:
    """Base64 text of ``data``, as the gateway expects for keys and values."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    """The bytes of a base64 field of a gateway response (an omitted field is empty)."""
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: bytes) -> bytes:
    """The ``range_end`` selecting every key that starts with ``prefix`` (``GetPrefixRangeEnd``).

    The last byte that is not 0xff is incremented and the rest dropped; an empty prefix or one of
    only 0xff bytes gives ``b"\\0"``, which etcd reads as "to the end of the key space".
    """
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


class _Endpoint:
    """One etcd client URL and its pool of idle connections (guarded by ``lock``)."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext | None) -> None:
        raw = url if "://" in url else f"http://{url}"
        parts = urllib.parse.urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an etcd client URL: {url!r} (expected http[s]://host:port)")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.https = parts.scheme == "https"
        self.ssl_context = ssl_context
        self.host = parts.hostname
        self.port = parts.port or 2379
        self.lock = threading.Lock()
        self.idle: list[http.client.HTTPConnection] = []  # invariant: connected, no request pending

    def new_connection(self, connect_timeout: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=connect_timeout, context=self.ssl_context
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=connect_timeout)


def _dropped(sock: socket.socket) -> bool:
    """True if an idle keep-alive socket became readable: the peer closed it (EOF) or sent bytes
    that no request asked for. Either way it must not be reused."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _keepalive(sock: socket.socket) -> None:
    """Detect a silently vanished peer on a long-lived watch within about half a minute."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


def _error_of(status: int, data: bytes) -> EtcdError:
    """The error in a non-200 answer: ``{"code", "message"}`` from a unary call, or
    ``{"error": {"grpc_code", "message"}}`` from the streaming watch."""
    try:
        body = json.loads(data)
        inner = body.get("error")
        if isinstance(inner, dict):
            return EtcdError(int(inner.get("grpc_code", 0)), str(inner.get("message")))
        return EtcdError(int(body.get("code", 0)), str(body.get("message") or inner))
    except (ValueError, AttributeError, TypeError):
        return EtcdError(0, f"HTTP {status}: {data[:200]!r}")


class WatchStream:
    """One open ``/v3/watch`` response: a stream of JSON messages, one per line.

    :meth:`read` is called by a single reader thread; :meth:`interrupt` may be called from any
    thread and makes a blocked :meth:`read` return None (it shuts the socket down).
    """

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
        endpoint: str,
        token: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.token = token  # the auth token the watch was opened with (None without auth)
        self._conn = conn
        self._resp = resp
        self._sock = conn.sock

    def read(self) -> dict[str, Any] | None:
        """The next message (``{"result": ...}`` or ``{"error": ...}``); None at the end."""
        try:
            line = self._resp.readline()
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return None
        if not line:
            return None
        try:
            msg = json.loads(line)
        except ValueError:
            return None  # a torn line: the stream broke mid-message
        return msg if isinstance(msg, dict) else None

    def interrupt(self) -> None:
        """Wake a blocked :meth:`read` (it returns None); safe from any thread, idempotent."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Release the connection (from the reader thread, after it stopped reading)."""
        self.interrupt()
        with contextlib.suppress(OSError, http.client.HTTPException):
            self._resp.close()
        self._conn.close()


class EtcdClient:
    """The etcd KV and Watch APIs over the JSON gateway of one or more cluster members.

    ``endpoints`` are client URLs (``http://host:port``, ``https://host:port``; a bare
    ``host:port`` means http). ``https`` endpoints use ``ssl_context`` (default: the system's
    trusted CAs, no client certificate; load a client certificate into your own context for
    etcd's ``--client-cert-auth``). ``connect_timeout`` bounds each connection attempt
    and ``request_timeout`` each wait for a response, so a call against unreachable endpoints fails
    with :class:`StorageUnavailable` after at most ``len(endpoints) * (connect_timeout +
    request_timeout)`` seconds (immediately when the connections are refused).
    """

    def __init__(
        self,
        endpoints: list[str] | tuple[str, ...] | str,
        *,
        connect_timeout: float = 2.0,
        request_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("username and password go together: give both or neither")
        urls = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        if not urls:
            raise ValueError("at least one etcd endpoint is required")
        if connect_timeout <= 0 or request_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self._endpoints = [_Endpoint(u, ssl_context) for u in urls]
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self._lock = threading.Lock()
        self._preferred = 0  # index into _endpoints of the member tried first; guarded by _lock
        self._credentials = None if username is None else (username, password or "")
        # The auth token sent with every request (None: not authenticated yet, or no auth).
        # Guarded by _auth_lock, which also serialises authenticating: one caller asks etcd for
        # a token while the others wait for it, so an expiry costs one authenticate, not N.
        self._auth_lock = threading.Lock()
        self._token: str | None = None

    @property
    def endpoints(self) -> list[str]:
        """The normalised client URLs, in the order given."""
        return [e.url for e in self._endpoints]

    # ------------------------------------------------------------------ endpoints and connections

    def _order(self) -> list[int]:
        """Endpoint indexes to try, the preferred one first."""
        with self._lock:
            start = self._preferred
        n = len(self._endpoints)
        return [(start + k) % n for k in range(n)]

    def _demote(self, i: int) -> None:
        """Endpoint ``i`` failed: prefer the next one (unless another caller already moved on)."""
        with self._lock:
            if self._preferred == i:
                self._preferred = (i + 1) % len(self._endpoints)

    def _checkout(self, ep: _Endpoint) -> http.client.HTTPConnection:
        """An idle live connection to ``ep``, or a new one (connection errors propagate)."""
        while True:
            with ep.lock:
                conn = ep.idle.pop() if ep.idle else None
            if conn is None:
                break
            if conn.sock is not None and not _dropped(conn.sock):
                return conn
            conn.close()
        conn = ep.new_connection(self.connect_timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self.request_timeout)
        return conn

    def _checkin(self, ep: _Endpoint, conn: http.client.HTTPConnection) -> None:
        with ep.lock:
            if len(ep.idle) < _MAX_IDLE_PER_ENDPOINT:
                ep.idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close the idle connections (later calls open new ones; watches are their owner's)."""
        for ep in self._endpoints:
            with ep.lock:
                idle, ep.idle = ep.idle, []
            for conn in idle:
                conn.close()

    # ------------------------------------------------------------------------------ auth tokens

    @property
    def authenticated(self) -> bool:
        """True when the client was given a username and password (etcd's auth is in use)."""
        return self._credentials is not None

    def token(self) -> str | None:
        """The auth token to send (authenticating first if there is none yet); None without
        credentials. Raises :class:`AuthenticationFailed` for credentials etcd refuses."""
        if self._credentials is None:
            return None
        with self._auth_lock:
            if self._token is None:
                self._token = self._authenticate(self._credentials)
            return self._token

    def invalidate_token(self, stale: str | None) -> None:
        """etcd refused ``stale`` (expired, or lost with a restart): the next :meth:`token`
        authenticates again. A no-op if another caller already replaced that token."""
        with self._auth_lock:
            if self._token == stale:
                self._token = None

    def _authenticate(self, credentials: tuple[str, str]) -> str:
        name, password = credentials
        try:
            answer = self._call(
                "/v3/auth/authenticate", {"name": name, "password": password}, None, True
            )
        except EtcdError as e:
            if e.code == CODE_INVALID_ARGUMENT:
                raise AuthenticationFailed(
                    f"etcd refused the credentials of {name!r}: {e.message}"
                ) from e
            raise
        token = answer.get("token")
        if not isinstance(token, str) or not token:
            raise EtcdError(0, f"etcd authenticate answered no token: {answer!r}")
        return token

    def _headers(self, token: str | None) -> dict[str, str]:
        if token is None:
            return _HEADERS
        # The gateway forwards it as the gRPC metadata etcd reads the token from.
        return {**_HEADERS, "Authorization": token}

    # -------------------------------------------------------------------------------- requests

    def call(self, path: str, body: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """POST ``body`` to ``path`` (e.g. ``/v3/kv/range``) with fail-over; the decoded answer.

        Raises :class:`EtcdError` for an error answered by etcd and :class:`StorageUnavailable`
        when no endpoint could answer or a non-``idempotent`` request's outcome became unknown.
        With credentials, the request carries the auth token; a token etcd no longer accepts
        (it expired after ``--auth-token-ttl`` idle seconds, or the member restarted) is renewed
        and the request sent once more -- also a write, which etcd refused before proposing it.
        """
        token = self.token()
        try:
            return self._call(path, body, token, idempotent)
        except EtcdError as e:
            if token is None and MSG_USER_EMPTY in e.message:
                raise AuthenticationFailed(
                    "etcd requires authentication: give EtcdStorage a username and password"
                ) from e
            if token is None or e.code != CODE_UNAUTHENTICATED:
                raise
        self.invalidate_token(token)
        return self._call(path, body, self.token(), idempotent)

    def _call(
        self, path: str, body: dict[str, Any], token: str | None, idempotent: bool
    ) -> dict[str, Any]:
        """One :meth:`call` with ``token`` (fail-over, no token renewal)."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers = self._headers(token)
        failures: list[str] = []
        for i in self._order():
            ep = self._endpoints[i]
            try:
                conn = self._checkout(ep)
            except OSError as e:  # refused, unreachable, connect timeout: nothing was sent
                failures.append(f"{ep.url}: cannot connect: {e!r}")
                self._demote(i)
                continue
            try:
                conn.request("POST", path, payload, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._demote(i)
                if not idempotent:
                    raise StorageUnavailable(
                        f"etcd {ep.url} {path}: connection lost after the request was sent "
                        f"({e!r}); the write may or may not have been applied"
                    ) from e
                failures.append(f"{ep.url}: {e!r}")
                continue
            if resp.will_close:
                conn.close()
            else:
                self._checkin(ep, conn)
            if resp.status == 200:
                try:
                    answer = json.loads(data)
                except ValueError as e:
                    raise EtcdError(
                        0, f"{ep.url} {path}: invalid JSON answer {data[:200]!r}"
                    ) from e
                if not isinstance(answer, dict):
                    raise EtcdError(0, f"{ep.url} {path}: unexpected answer {data[:200]!r}")
                return answer
            err = _error_of(resp.status, data)
            if err.code != CODE_UNAVAILABLE:
                raise err
            self._demote(i)
            if not idempotent and MSG_NO_LEADER not in err.message:
                # "no leader" is refused before any processing (the request asked for a
                # leader); other "unavailable" answers (timeouts, leader changes) may follow a
                # proposal that still commits.
                raise StorageUnavailable(
                    f"etcd {ep.url} {path}: {err.message}; the write may or may not have been "
                    "applied"
                ) from err
            failures.append(f"{ep.url}: {err.message}")
        raise StorageUnavailable("no etcd endpoint answered: " + "; ".join(failures))

    def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> dict[str, Any]:
        """``Range``: the keys in ``[key, range_end)`` (just ``key`` without ``range_end``)."""
        body: dict[str, Any] = {"key": b64(key)}
        if range_end is not None:
            body["range_end"] = b64(range_end)
        if revision:
            body["revision"] = revision
        if limit:
            body["limit"] = limit
        if count_only:
            body["count_only"] = True
        return self.call("/v3/kv/range", body, idempotent=True)

    def txn(
        self,
        compare: list[dict[str, Any]],
        success: list[dict[str, Any]],
        failure: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """``Txn``: if every ``compare`` holds run ``success``, else ``failure`` (a write)."""
        body = {"compare": compare, "success": success, "failure": failure}
        return self.call("/v3/kv/txn", body, idempotent=False)

    def delete_range(self, key: bytes, *, prev_kv: bool = True) -> dict[str, Any]:
        """``DeleteRange`` of the single ``key`` (a write), returning the deleted pair if asked."""
        body: dict[str, Any] = {"key": b64(key)}
        if prev_kv:
            body["prev_kv"] = True
        return self.call("/v3/kv/deleterange", body, idempotent=False)

    def compact(self, revision: int, *, physical: bool = True) -> dict[str, Any]:
        """``Compact`` the history up to ``revision``; ``physical`` waits until it is applied.

        Compaction is idempotent in effect, so it is retried like a read.
        """
        body: dict[str, Any] = {"revision": revision, "physical": physical}
        return self.call("/v3/kv/compaction", body, idempotent=True)

    def watch(
        self, key: bytes, range_end: bytes, start_revision: int, *, first: int | None = None
    ) -> WatchStream:
        """Open a ``Watch`` of ``[key, range_end)`` from ``start_revision``, with previous values.

        Tries each endpoint once, starting at ``first`` (or the preferred one). The stream's first
        message (the ``created`` confirmation) is left for the caller to read; a watch opened
        with a stale token is *cancelled* there with "permission denied", so the caller calls
        :meth:`invalidate_token` with :attr:`WatchStream.token` and opens it again.
        """
        request = {
            "create_request": {
                "key": b64(key),
                "range_end": b64(range_end),
                "start_revision": start_revision,
                "prev_kv": True,
                "progress_notify": True,
            }
        }
        payload = json.dumps(request, separators=(",", ":")).encode()
        order = self._order()
        if first is not None:
            n = len(self._endpoints)
            order = [(first + k) % n for k in range(n)]
        failures: list[str] = []
        token = self.token()
        headers = self._headers(token)
        for i in order:
            ep = self._endpoints[i]
            conn = ep.new_connection(self.connect_timeout)
            try:
                conn.connect()
                assert conn.sock is not None
                conn.sock.settimeout(self.request_timeout)
                conn.request("POST", "/v3/watch", payload, headers)
                resp = conn.getresponse()
                if resp.status != 200:
                    err = _error_of(resp.status, resp.read())
                    conn.close()
                    if err.code != CODE_UNAVAILABLE:
                        raise err
                    failures.append(f"{ep.url}: {err.message}")
                    self._demote(i)
                    continue
                conn.sock.settimeout(None)  # a watch waits for events indefinitely...
                _keepalive(conn.sock)  # ...but notices a peer that vanished
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                failures.append(f"{ep.url}: {e!r}")
                self._demote(i)
                continue
            return WatchStream(conn, resp, ep.url, token)
        raise StorageUnavailable("no etcd endpoint accepted the watch: " + "; ".join(failures))

    def endpoint_index(self, url: str) -> int:
        """The index of endpoint ``url`` (as returned in :attr:`WatchStream.endpoint`)."""
        return [e.url for e in self._endpoints].index(url)


# ------------------------------------------------------------------ reading gateway answers


def header_revision(resp: Mapping[str, Any]) -> int:
    """The store revision in a gateway answer's header (an omitted field is 0)."""
    return int(resp.get("header", {}).get("revision", 0))


def mod_revision(kv: Mapping[str, Any]) -> int:
    """The revision of a key-value pair's last change (0: an omitted field)."""
    return int(kv.get("mod_revision", 0))


def first_kv(resp: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first key-value pair of a range answer (None: no key matched)."""
    kvs = resp.get("kvs") or []
    return kvs[0] if kvs else None


def txn_range_kv(resp: Mapping[str, Any]) -> dict[str, Any] | None:
    """The key's pair from a txn branch that was a single range of that key (None: absent)."""
    for r in resp.get("responses") or []:
        rr = r.get("response_range")
        if rr is not None:
            return first_kv(rr)
    return None

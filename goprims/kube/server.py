"""``APIServer``: an embedded HTTP server speaking the Kubernetes REST protocol over any
:class:`~goprims.storage.Storage`, for kubectl, the official client and informers.

**Why stdlib ``http.server`` with a thread per connection.** The package's runtime dependencies
are trio, sniffio and sortedcontainers; an ASGI stack would add a server, a framework and their
transitive dependencies for a test fixture. The storages' calls block (an etcd round trip, a
watch's ``next_event``), so one thread per connection maps onto them directly, the way
kube-apiserver runs one goroutine per request. Watches are long-lived responses written with
chunked transfer encoding; each one holds its connection's thread, which wakes at least every
``bookmark_interval`` seconds to send a bookmark (when asked for) and to notice a client that
went away. :meth:`APIServer.stop` ends every watch and every kept-alive connection and joins
their threads, so nothing outlives the server.

Storage layout (kube-apiserver's): ``/registry/<plural>/<namespace>/<name>`` for the core group,
``/registry/<group>/<plural>/<namespace>/<name>`` otherwise (no namespace segment for
cluster-scoped resources). The server uses only the :class:`~goprims.storage.Storage` protocol.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import logging
import os
import random
import re
import secrets
import select
import selectors
import socket
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from goprims.cache.reflector import INITIAL_EVENTS_END_ANNOTATION
from goprims.kube.patch import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from goprims.kube.resources import Resource
from goprims.kube.selectors import InvalidSelector, parse_field_selector, parse_label_selector
from goprims.kube.status import APIError
from goprims.storage.errors import (
    AlreadyExists,
    Conflict,
    InvalidObject,
    InvalidResourceVersion,
    NotFound,
    StorageError,
)
from goprims.storage.interface import Storage
from goprims.watch import (
    ResourceExpired,
    TooLargeResourceVersion,
    Watch,
    WatchEvent,
)
from goprims.watch.chan_watch import ChanWatch

__all__ = ["INITIAL_EVENTS_END_ANNOTATION", "APIServer"]

log = logging.getLogger("goprims.kube.server")


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver's SimpleNameGenerator
_JSON = "application/json"


def _now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def _truthy(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "t", "yes")


def _bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def _invalid(res: Resource, name: str, causes: list[tuple[str, str, str]]) -> APIError:
    """422 Invalid with causes ``(reason, field, message)``."""
    text = "; ".join(f"{f}: {m}" for _, f, m in causes)
    return APIError(
        422,
        "Invalid",
        f'{res.kind} "{name}" is invalid: {text}',
        {
            "name": name,
            "group": res.group,
            "kind": res.kind,
            "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes],
        },
    )


def _not_found(res: Resource, name: str) -> APIError:
    return APIError(
        404,
        "NotFound",
        f'{res.plural} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural},
    )


def _conflict(res: Resource, name: str) -> APIError:
    return APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        {"name": name, "group": res.group, "kind": res.plural},
    )


def _expired(message: str) -> APIError:
    return APIError(410, "Expired", message)


def _too_large(rv: str) -> APIError:
    return APIError(
        504,
        "Timeout",
        f"Too large resource version: {rv}",
        {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ]
        },
        retry_after=1,
    )


def _storage_error(res: Resource, name: str, err: Exception) -> APIError:
    """The HTTP error for a storage error."""
    if isinstance(err, APIError):
        return err
    if isinstance(err, NotFound):
        return _not_found(res, name)
    if isinstance(err, AlreadyExists):
        return APIError(
            409,
            "AlreadyExists",
            f'{res.plural} "{name}" already exists',
            {"name": name, "group": res.group, "kind": res.plural},
        )
    if isinstance(err, Conflict):
        return _conflict(res, name)
    if isinstance(err, ResourceExpired):
        return _expired(f"too old resource version: {err}")
    if isinstance(err, TooLargeResourceVersion):
        return _too_large(getattr(err, "resource_version", ""))
    if isinstance(err, InvalidResourceVersion):
        return _bad_request(f"invalid resourceVersion: {err}")
    if isinstance(err, InvalidObject):
        return _invalid(res, name, [("FieldValueInvalid", "metadata", str(err))])
    if isinstance(err, StorageError):
        return APIError(503, "ServiceUnavailable", f"storage error: {err}")
    return APIError(500, "InternalError", f"Internal error occurred: {err}")


# ---------------------------------------------------------------------------------- validation


def _validate(res: Resource, obj: Any, name_hint: str = "") -> None:
    """422 for an object the API server would refuse (apimachinery's ObjectMeta validation,
    plus ConfigMap's ``data`` rules)."""
    if not isinstance(obj, dict):
        raise _bad_request("the request body is not a JSON object")
    md = obj.get("metadata")
    name = name_hint
    if isinstance(md, dict) and isinstance(md.get("name"), str):
        name = md["name"]
    causes: list[tuple[str, str, str]] = []
    if not isinstance(md, dict):
        raise _invalid(res, name, [("FieldValueRequired", "metadata", "Required value")])
    nm = md.get("name")
    if not isinstance(nm, str) or not nm:
        causes.append(
            (
                "FieldValueRequired",
                "metadata.name",
                "Required value: name or generateName is required",
            )
        )
    elif len(nm) > 253 or not _DNS_SUBDOMAIN.match(nm):
        causes.append(
            (
                "FieldValueInvalid",
                "metadata.name",
                f'Invalid value: "{nm}": a lowercase RFC 1123 subdomain must consist of lower '
                "case alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
            )
        )
    for field in ("labels", "annotations"):
        v = md.get(field)
        if v is None:
            continue
        if not isinstance(v, dict) or not all(
            isinstance(k, str) and isinstance(x, str) for k, x in v.items()
        ):
            causes.append(
                ("FieldValueInvalid", f"metadata.{field}", "Invalid value: want a map of strings")
            )
    if res.group == "" and res.plural in ("configmaps", "secrets"):
        for field in ("data", "binaryData", "stringData"):
            v = obj.get(field)
            if v is None:
                continue
            if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                causes.append(
                    ("FieldValueInvalid", field, "Invalid value: want a map of string values")
                )
            else:
                for k in v:
                    if not re.match(r"^[-._a-zA-Z0-9]+$", k) or len(k) > 253:
                        causes.append(
                            (
                                "FieldValueInvalid",
                                f"{field}[{k}]",
                                f'Invalid value: "{k}": a valid config key must consist of '
                                "alphanumeric characters, '-', '_' or '.'",
                            )
                        )
    if causes:
        raise _invalid(res, name, causes)


def _check_type(res: Resource, obj: dict[str, Any]) -> None:
    kind = obj.get("kind")
    if kind not in (None, "", res.kind):
        raise _bad_request(f"the kind of the object ({kind}) does not match the URL ({res.kind})")
    av = obj.get("apiVersion")
    if av not in (None, "", res.group_version):
        raise _bad_request(
            f"the API version of the object ({av}) does not match the URL ({res.group_version})"
        )


# ---------------------------------------------------------------------------------- pagination


class _Snapshots:
    """The lists a paginated read is served from: a list's first page stores all its (filtered)
    items here, and each ``continue`` token names a snapshot and an offset, so every page of
    one list comes from the same revision (kube-apiserver reads etcd at the list's revision).
    The oldest snapshots are dropped past ``capacity`` or ``ttl`` seconds; a token naming a
    dropped snapshot answers 410 Expired, as an apiserver's token past compaction does."""

    def __init__(self, capacity: int = 32, ttl: float = 300.0) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._ttl = ttl
        # guarded by _lock: id -> (created monotonic, resource version, items)
        self._snaps: OrderedDict[str, tuple[float, str, list[Any]]] = OrderedDict()

    def put(self, rv: str, items: list[Any]) -> str:
        sid = secrets.token_hex(8)
        now = time.monotonic()
        with self._lock:
            self._snaps[sid] = (now, rv, items)
            while len(self._snaps) > self._capacity:
                self._snaps.popitem(last=False)
        return sid

    def get(self, sid: str) -> tuple[str, list[Any]] | None:
        now = time.monotonic()
        with self._lock:
            while self._snaps:
                oldest = next(iter(self._snaps.values()))
                if now - oldest[0] <= self._ttl:
                    break
                self._snaps.popitem(last=False)
            entry = self._snaps.get(sid)
        return None if entry is None else (entry[1], entry[2])


def _encode_continue(sid: str, offset: int, rv: str) -> str:
    raw = json.dumps({"s": sid, "o": offset, "rv": rv}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        return str(d["s"]), int(d["o"]), str(d["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise _bad_request(f"continue key is not valid: {err}") from None


# ---------------------------------------------------------------------------------- watches


class _PumpWatch(ChanWatch):
    """Adapts a :class:`Watch` without ``next_event`` (any Storage may return one): a thread
    iterates it into this ChanWatch, whose ``next_event(timeout)`` the server waits on."""

    def __init__(self, inner: Watch) -> None:
        super().__init__(on_stop=inner.stop)
        self._inner = inner
        self._thread = threading.Thread(target=self._pump, name="goprims-apiserver-pump")
        self._thread.daemon = True
        self._thread.start()

    def _pump(self) -> None:
        try:
            for ev in self._inner:
                if not self.send(ev):
                    return
        except Exception as err:
            self.close(err)
            return
        self.close()


def _timed(w: Watch) -> Any:
    return w if callable(getattr(w, "next_event", None)) else _PumpWatch(w)


class _WatchStopped(Exception):
    pass


# ---------------------------------------------------------------------------------- server


class APIServer:
    """An embedded Kubernetes API server for ``resources`` over ``storage``.

    ``resources`` are :class:`~goprims.kube.resources.Resource` s or strings like
    ``"v1/configmaps"`` and ``"example.com/v1/widgets"`` (namespaced; the kind is the
    capitalised singular). The server starts listening at construction on ``host:port``
    (``port=0``: a free port) and serves until :meth:`stop` (also on leaving ``with``).

    What it serves (kube-apiserver's semantics, JSON only):

    * discovery: ``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>``, ``/apis/<group>/<version>``,
      ``/version``, and minimal ``/openapi/v2`` and ``/openapi/v3`` documents;
    * per resource: get, list (namespaced and across namespaces; ``labelSelector``,
      ``fieldSelector`` on ``metadata.name``/``metadata.namespace``; ``limit``/``continue``,
      consistent across pages; ``resourceVersion`` with ``resourceVersionMatch``), create
      (``generateName``; ``uid``, ``creationTimestamp`` set), update (PUT; a
      ``resourceVersion`` in the body is a precondition, none means unconditional), patch
      (merge, strategic-merge and JSON patch; a ``resourceVersion`` in the result is a
      precondition), delete (``preconditions``), deletecollection;
    * watch: chunked JSON events, one per line; ``allowWatchBookmarks`` (a bookmark every
      ``bookmark_interval`` seconds, at the newest version the watch has passed);
      ``sendInitialEvents=true`` (with ``resourceVersionMatch=NotOlderThan``) sends the current
      state as ``ADDED`` events, then a bookmark annotated ``k8s.io/initial-events-end``;
      ``timeoutSeconds`` (default: ``watch_timeout`` up to twice it, as kube-apiserver's
      ``--min-request-timeout``); a too old version answers an ``ERROR`` event with a 410
      ``Status``, as does a running watch whose history was compacted;
    * errors as ``Status`` bodies: 400 BadRequest, 404 NotFound, 409 AlreadyExists/Conflict,
      410 Expired, 415, 422 Invalid, 504 (too large resource version, with Retry-After).

    ``watch_list=False`` makes the server refuse ``sendInitialEvents`` with 422 (as an API
    server without the WatchList feature), to exercise clients' fallback to list+watch.
    """

    def __init__(
        self,
        storage: Storage,
        resources: Iterable[str | Resource],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bookmark_interval: float = 5.0,
        watch_timeout: float = 1800.0,
        watch_list: bool = True,
    ) -> None:
        if bookmark_interval <= 0:
            raise ValueError(f"bookmark_interval must be > 0, got {bookmark_interval}")
        if watch_timeout <= 0:
            raise ValueError(f"watch_timeout must be > 0, got {watch_timeout}")
        self.storage = storage
        self.resources = [Resource.parse(r) for r in resources]
        if not self.resources:
            raise ValueError("an APIServer needs at least one resource")
        self._by_path: dict[tuple[str, str, str], Resource] = {}
        for r in self.resources:
            k = (r.group, r.version, r.plural)
            if k in self._by_path:
                raise ValueError(f"resource {r} declared twice")
            self._by_path[k] = r
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.watch_list = watch_list
        self._snapshots = _Snapshots()
        self._lock = threading.Lock()
        # --- guarded by _lock ---
        self._stopping = False
        self._connections: set[socket.socket] = set()  # open client connections
        self._watches: set[Any] = set()  # running storage watches
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        # ---
        self._httpd = _HTTPServer((host, port), _Handler, self)
        addr = self._httpd.server_address
        self.host: str = addr[0] if isinstance(addr[0], str) else addr[0].decode()
        self.port: int = int(addr[1])
        # stop() writes to _wake to end the accept loop at once (serve_forever would only
        # notice a shutdown at its next poll).
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve, name=f"goprims-apiserver-{self.port}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ lifecycle

    def _serve(self) -> None:
        """Accept connections until :meth:`stop` wakes the loop; each connection gets a
        thread (``ThreadingHTTPServer.process_request``)."""
        with selectors.DefaultSelector() as sel:
            sel.register(self._httpd.socket, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = [key.fileobj for key, _ in sel.select()]
                if self._wake_r in ready:
                    return
                self._httpd.handle_request()

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}"

    def kubeconfig(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write a kubeconfig for this server (cluster, user and context ``goprims``, default
        namespace ``default``) and return its path. Without ``path`` the file goes to a
        temporary directory removed by :meth:`stop`. The file is JSON, which kubectl and the
        official client read as YAML."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "goprims", "cluster": {"server": self.url}}],
            "users": [{"name": "goprims", "user": {}}],
            "contexts": [
                {
                    "name": "goprims",
                    "context": {"cluster": "goprims", "user": "goprims", "namespace": "default"},
                }
            ],
            "current-context": "goprims",
            "preferences": {},
        }
        if path is None:
            with self._lock:
                if self._tmpdir is None:
                    self._tmpdir = tempfile.TemporaryDirectory(prefix="goprims-kube-")
                path = os.path.join(self._tmpdir.name, "kubeconfig")
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        return os.fspath(path)

    def stop(self) -> None:
        """Stop serving: end every watch, close every connection, join the server's threads
        and remove the temporary kubeconfig. Idempotent."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            watches = list(self._watches)
            conns = list(self._connections)
            tmpdir, self._tmpdir = self._tmpdir, None
        self._wake_w.send(b"x")
        self._thread.join()
        for w in watches:
            w.stop()
        for c in conns:
            _shutdown(c)
        self._httpd.server_close()  # joins the connection threads
        self._wake_r.close()
        self._wake_w.close()
        if tmpdir is not None:
            tmpdir.cleanup()

    def __enter__(self) -> APIServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<APIServer {self.url} resources={[str(r) for r in self.resources]}>"

    # ------------------------------------------------------------------ bookkeeping

    def _register_connection(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._stopping:
                return False
            self._connections.add(sock)
            return True

    def _forget_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    def _register_watch(self, w: Any) -> None:
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._watches.add(w)
        if stopping:
            w.stop()

    def _forget_watch(self, w: Any) -> None:
        with self._lock:
            self._watches.discard(w)

    # ------------------------------------------------------------------ discovery documents

    def resource_for(self, group: str, version: str, plural: str) -> Resource | None:
        """The served resource at that URL, or None."""
        return self._by_path.get((group, version, plural))

    def _group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.resources:
            vs = out.setdefault(r.group, [])
            if r.version not in vs:
                vs.append(r.version)
        return out

    def _api_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": self._group_versions().get("", []) or ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
            ],
        }

    def _api_group(self, group: str) -> dict[str, Any]:
        versions = self._group_versions()[group]
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": gvs,
            "preferredVersion": gvs[0],
        }

    def _api_group_list(self) -> dict[str, Any]:
        groups = [self._api_group(g) for g in self._group_versions() if g]
        for g in groups:
            del g["kind"], g["apiVersion"]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        rs = [r for r in self.resources if r.group == group and r.version == version]
        if not rs:
            return None
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": rs[0].group_version,
            "resources": [
                {
                    "name": r.plural,
                    "singularName": r.singular,
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": verbs,
                    **({"shortNames": list(r.short_names)} if r.short_names else {}),
                }
                for r in rs
            ],
        }

    def _openapi_v3_root(self) -> dict[str, Any]:
        paths = {}
        for g, versions in self._group_versions().items():
            for v in versions:
                rel = f"apis/{g}/{v}" if g else f"api/{v}"
                paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}"}
        return {"paths": paths}

    def _openapi_v3_doc(self, group: str, version: str) -> dict[str, Any] | None:
        """A minimal OpenAPI v3 document for one group/version: each resource's paths with
        their operations, so clients find the operations and the ``fieldValidation`` query
        parameter; schemas accept any object (``x-kubernetes-preserve-unknown-fields``)."""
        rs = [r for r in self.resources if r.group == group and r.version == version]
        if not rs:
            return None
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {}
        field_validation = {
            "name": "fieldValidation",
            "in": "query",
            "schema": {"type": "string", "uniqueItems": True},
        }
        for r in rs:
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            ref = f"{(r.group or 'core').replace('.', '_')}.{r.version}.{r.kind}"
            schemas[ref] = {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "x-kubernetes-group-version-kind": [gvk],
            }
            body = {"$ref": f"#/components/schemas/{ref}"}

            def op(
                action: str,
                r: Resource = r,
                body: dict[str, Any] = body,
                gvk: dict[str, str] = gvk,
            ) -> dict[str, Any]:
                return {
                    "operationId": f"{action}{r.kind}",
                    "parameters": [field_validation],
                    "responses": {"200": {"content": {_JSON: {"schema": body}}}},
                    "x-kubernetes-action": action,
                    "x-kubernetes-group-version-kind": gvk,
                }

            coll = r.collection_path("{namespace}")
            paths[coll] = {"get": op("list"), "post": op("post")}
            paths[coll + "/{name}"] = {
                "get": op("get"),
                "put": op("put"),
                "patch": op("patch"),
                "delete": op("delete"),
            }
        return {
            "openapi": "3.0.0",
            "info": {"title": "goprims", "version": "v1"},
            "paths": paths,
            "components": {"schemas": schemas},
        }

    def _openapi_v2(self) -> dict[str, Any]:
        defs: dict[str, Any] = {}
        for r in self.resources:
            ref = f"{(r.group or 'core').replace('.', '_')}.{r.version}.{r.kind}"
            defs[ref] = {
                "type": "object",
                "x-kubernetes-group-version-kind": [
                    {"group": r.group, "version": r.version, "kind": r.kind}
                ],
            }
        return {
            "swagger": "2.0",
            "info": {"title": "goprims", "version": "v1"},
            "paths": {},
            "definitions": defs,
        }

    # ------------------------------------------------------------------ object operations

    def _get(self, res: Resource, ns: str | None, name: str) -> dict[str, Any]:
        try:
            obj: dict[str, Any] = self.storage.get(res.storage_key(ns, name))
        except Exception as err:
            raise _storage_error(res, name, err) from None
        return obj

    def _list(self, res: Resource, ns: str | None, q: dict[str, str]) -> dict[str, Any]:
        pred = _predicate(q)
        limit = _int_param(q, "limit", 0)
        token = q.get("continue", "")
        rv = q.get("resourceVersion", "")
        rvm = q.get("resourceVersionMatch", "")
        prefix = res.storage_prefix(ns)
        if token:
            if rv and rv != "0":
                raise _bad_request("specifying resource version is not allowed when using continue")
            sid, offset, list_rv = _decode_continue(token)
            snap = self._snapshots.get(sid)
            if snap is None:
                raise _expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                )
            list_rv, items = snap
        else:
            if rvm and rvm not in ("NotOlderThan", "Exact"):
                raise _bad_request(f"invalid resourceVersionMatch {rvm!r}")
            if rvm and not rv:
                raise _invalid(
                    res,
                    "",
                    [
                        (
                            "FieldValueForbidden",
                            "resourceVersionMatch",
                            "Forbidden: resourceVersionMatch is forbidden unless "
                            "resourceVersion is provided",
                        )
                    ],
                )
            try:
                lr = self.storage.list(prefix, "" if rv == "0" else rv)
            except Exception as err:
                raise _storage_error(res, "", err) from None
            if rvm == "Exact" and rv != "0" and lr.resource_version != rv:
                raise _expired(
                    f"too old resource version: {rv} ({lr.resource_version}): this server keeps "
                    "no history to serve an exact list from"
                )
            list_rv = lr.resource_version
            items = [o for o in lr.items if pred is None or pred(o)]
            offset = 0
            if rv == "0" and not rvm:
                limit = 0  # served "from the cache": kube-apiserver ignores the limit
        meta: dict[str, Any] = {"resourceVersion": list_rv}
        if limit > 0 and offset + limit < len(items):
            page = items[offset : offset + limit]
            if not token:
                sid = self._snapshots.put(list_rv, items)
            meta["continue"] = _encode_continue(sid, offset + limit, list_rv)
            meta["remainingItemCount"] = len(items) - offset - limit
        else:
            page = items[offset:]
        return {
            "kind": f"{res.kind}List",
            "apiVersion": res.group_version,
            "metadata": meta,
            "items": page,
        }

    def _create(
        self, res: Resource, ns: str | None, body: Any, q: dict[str, str]
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request("the request body is not a JSON object")
        _check_type(res, body)
        obj = copy.deepcopy(body)
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise _invalid(res, "", [("FieldValueInvalid", "metadata", "Invalid value")])
        if md.get("resourceVersion") not in (None, "", "0"):
            raise _bad_request("resourceVersion should not be set on objects to be created")
        body_ns = md.get("namespace")
        if res.namespaced:
            if body_ns and body_ns != ns:
                raise _bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        obj["apiVersion"] = res.group_version
        obj["kind"] = res.kind
        for f in ("resourceVersion", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"):
            md.pop(f, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = _now_rfc3339()
        gen = md.get("generateName")
        named = bool(md.get("name"))
        if not named and isinstance(gen, str) and gen:
            md["name"] = gen + "".join(random.choices(_NAME_SUFFIX_ALPHABET, k=5))
        _validate(res, obj)
        if q.get("dryRun"):
            return obj
        attempts = 1 if named else 8
        for attempt in range(attempts):
            try:
                stored: dict[str, Any] = self.storage.create(res.storage_key(ns, md["name"]), obj)
                return stored
            except AlreadyExists as err:
                if attempt + 1 == attempts:
                    raise _storage_error(res, md["name"], err) from None
                md["name"] = str(gen) + "".join(random.choices(_NAME_SUFFIX_ALPHABET, k=5))
            except Exception as err:
                raise _storage_error(res, md["name"], err) from None
        raise AssertionError("unreachable")

    def _fix_identity(
        self, res: Resource, ns: str | None, name: str, cur: dict[str, Any], new: Any
    ) -> dict[str, Any]:
        """The checks and fields shared by update and patch: the new object keeps its name,
        namespace, uid and creationTimestamp; its apiVersion/kind are the resource's."""
        if not isinstance(new, dict):
            raise _bad_request("the object is not a JSON object")
        _check_type(res, new)
        md = new.get("metadata")
        if not isinstance(md, dict):
            raise _invalid(res, name, [("FieldValueRequired", "metadata", "Required value")])
        if md.get("name", name) != name:
            raise _bad_request(
                f"the name of the object ({md.get('name')}) does not match the name on the URL "
                f"({name})"
            )
        md["name"] = name
        if res.namespaced:
            if md.get("namespace") not in (None, "", ns):
                raise _bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            md["namespace"] = ns
        cur_md = _meta(cur)
        for f in ("uid", "creationTimestamp"):
            if f in cur_md:
                md[f] = cur_md[f]
        md.pop("selfLink", None)
        new["apiVersion"] = res.group_version
        new["kind"] = res.kind
        _validate(res, new, name)
        return new

    def _update(
        self, res: Resource, ns: str | None, name: str, body: Any, q: dict[str, str]
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request("the request body is not a JSON object")
        body_name = _meta(body).get("name")
        if body_name not in (None, name):
            raise _bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        want = str(_meta(body).get("resourceVersion") or "")

        def fn(cur: dict[str, Any]) -> dict[str, Any]:
            if want and str(_meta(cur).get("resourceVersion")) != want:
                raise _conflict(res, name)
            return self._fix_identity(res, ns, name, cur, copy.deepcopy(body))

        return self._guaranteed_update(res, ns, name, fn, q)

    def _patch(
        self,
        res: Resource,
        ns: str | None,
        name: str,
        content_type: str,
        body: Any,
        q: dict[str, str],
    ) -> dict[str, Any]:
        ct = content_type.split(";")[0].strip().lower()
        if ct == "application/merge-patch+json":
            apply: Callable[[Any, Any], Any] = apply_merge_patch
        elif ct == "application/strategic-merge-patch+json":
            apply = apply_strategic_merge_patch
        elif ct == "application/json-patch+json":
            apply = apply_json_patch
        else:
            raise APIError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: application/json-patch+json, application/merge-patch+json, "
                f"application/strategic-merge-patch+json (got {content_type!r})",
            )

        def fn(cur: dict[str, Any]) -> dict[str, Any]:
            try:
                new = apply(copy.deepcopy(cur), body)
            except PatchError as err:
                raise _invalid(res, name, [("FieldValueInvalid", "", str(err))]) from None
            if not isinstance(new, dict):
                raise _bad_request("the patch does not produce an object")
            want = str(_meta(new).get("resourceVersion") or "")
            if want and want != str(_meta(cur).get("resourceVersion")):
                raise _conflict(res, name)
            return self._fix_identity(res, ns, name, cur, new)

        return self._guaranteed_update(res, ns, name, fn, q)

    def _guaranteed_update(
        self,
        res: Resource,
        ns: str | None,
        name: str,
        fn: Callable[[dict[str, Any]], dict[str, Any]],
        q: dict[str, str],
    ) -> dict[str, Any]:
        key = res.storage_key(ns, name)
        try:
            if q.get("dryRun"):
                return fn(self.storage.get(key))
            stored: dict[str, Any] = self.storage.guaranteed_update(key, fn)
        except Exception as err:
            raise _storage_error(res, name, err) from None
        return stored

    def _delete(self, res: Resource, ns: str | None, name: str, body: Any) -> dict[str, Any]:
        key = res.storage_key(ns, name)
        pre = body.get("preconditions") if isinstance(body, dict) else None
        rv = uid = None
        if isinstance(pre, dict):
            rv = pre.get("resourceVersion")
            uid = pre.get("uid")
        try:
            if uid is not None:
                cur = self.storage.get(key)
                cur_uid = _meta(cur).get("uid")
                if cur_uid != uid:
                    raise APIError(
                        409,
                        "Conflict",
                        f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                        f"{cur_uid}",
                        {"name": name, "group": res.group, "kind": res.plural},
                    )
                if rv is None:
                    rv = _meta(cur).get("resourceVersion")
            deleted = self.storage.delete(key, rv or None)
        except Exception as err:
            raise _storage_error(res, name, err) from None
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": res.group,
                "kind": res.plural,
                "uid": _meta(deleted).get("uid", ""),
            },
        }

    def _delete_collection(
        self, res: Resource, ns: str | None, q: dict[str, str]
    ) -> dict[str, Any]:
        lst = self._list(res, ns, {k: v for k, v in q.items() if k not in ("limit", "continue")})
        for obj in lst["items"]:
            md = _meta(obj)
            try:
                self.storage.delete(res.storage_key(md.get("namespace"), md["name"]))
            except NotFound:
                pass
            except Exception as err:
                raise _storage_error(res, md["name"], err) from None
        lst["items"] = []
        return lst

    # ------------------------------------------------------------------ watch

    def _open_watch(
        self, res: Resource, ns: str | None, q: dict[str, str]
    ) -> tuple[list[Any], Any, str, bool]:
        """Validate a watch request and open the storage watch: (initial objects, watch,
        start version, send the initial-events-end bookmark). Raises APIError before any
        byte of the response is written."""
        rv = q.get("resourceVersion", "")
        rvm = q.get("resourceVersionMatch", "")
        sie_param = q.get("sendInitialEvents")
        bookmarks = _truthy(q.get("allowWatchBookmarks"))
        prefix = res.storage_prefix(ns)
        if sie_param is not None:
            if not self.watch_list:
                raise _invalid(
                    res,
                    "",
                    [
                        (
                            "FieldValueForbidden",
                            "sendInitialEvents",
                            "Forbidden: sendInitialEvents is forbidden for watch unless the "
                            "WatchList feature gate is enabled",
                        )
                    ],
                )
            if rvm != "NotOlderThan":
                raise _invalid(
                    res,
                    "",
                    [
                        (
                            "FieldValueInvalid",
                            "resourceVersionMatch",
                            "Invalid value: sendInitialEvents requires setting "
                            "resourceVersionMatch to NotOlderThan",
                        )
                    ],
                )
            if _truthy(sie_param) and not bookmarks:
                raise _invalid(
                    res,
                    "",
                    [
                        (
                            "FieldValueForbidden",
                            "allowWatchBookmarks",
                            "Forbidden: allowWatchBookmarks must be true when "
                            "sendInitialEvents is true",
                        )
                    ],
                )
        elif rvm:
            raise _invalid(
                res,
                "",
                [
                    (
                        "FieldValueForbidden",
                        "resourceVersionMatch",
                        "Forbidden: resourceVersionMatch is forbidden for watch unless "
                        "sendInitialEvents is provided",
                    )
                ],
            )
        send_initial = _truthy(sie_param) if sie_param is not None else rv in ("", "0")
        initial: list[Any] = []
        try:
            if send_initial:
                lr = self.storage.list(prefix, "" if rv == "0" else rv)
                initial, start = lr.items, lr.resource_version
            elif rv in ("", "0"):
                start = str(self.storage.revision())
            else:
                start = rv
            w = _timed(self.storage.watch(prefix, start))
        except ResourceExpired as err:
            return [], err, rv, False
        except Exception as err:
            raise _storage_error(res, "", err) from None
        return initial, w, start, sie_param is not None and send_initial

    def _serve_watch(
        self, handler: _Handler, res: Resource, ns: str | None, q: dict[str, str]
    ) -> None:
        pred = _predicate(q)
        bookmarks = _truthy(q.get("allowWatchBookmarks"))
        timeout = _float_param(q, "timeoutSeconds", 0.0)
        if timeout <= 0:
            timeout = self.watch_timeout * (1.0 + random.random())
        initial, w, start, end_bookmark = self._open_watch(res, ns, q)
        out = _ChunkedWriter(handler)
        if isinstance(w, ResourceExpired):
            out.event("ERROR", _expired(f"too old resource version: {w}").status)
            out.close()
            return
        self._register_watch(w)
        try:
            out.start()  # the headers go out at once: clients wait for them before reading
            deadline = time.monotonic() + timeout
            filt = _SelectorFilter(pred)
            for obj in initial:
                ev = filt.initial(obj)
                if ev is not None:
                    out.event(*ev)
            if end_bookmark:
                out.event(
                    "BOOKMARK",
                    _bookmark(res, start, {INITIAL_EVENTS_END_ANNOTATION: "true"}),
                )
            last_rv = start
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    ev = w.next_event(min(left, self.bookmark_interval))
                except TimeoutError:
                    if handler.client_gone():
                        break
                    if bookmarks and last_rv and time.monotonic() < deadline:
                        out.event("BOOKMARK", _bookmark(res, last_rv))
                    continue
                except ResourceExpired as err:
                    out.event("ERROR", _expired(f"too old resource version: {err}").status)
                    break
                if ev is None:
                    break
                rv = str(_meta(ev.object).get("resourceVersion") or "")
                if rv:
                    last_rv = rv
                sent = filt.event(ev)
                if sent is not None:
                    out.event(*sent)
            out.close()
        except (BrokenPipeError, ConnectionError, OSError):
            handler.close_connection = True
        finally:
            self._forget_watch(w)
            w.stop()


def _bookmark(res: Resource, rv: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"resourceVersion": rv}
    if annotations:
        md["annotations"] = annotations
    return {"kind": res.kind, "apiVersion": res.group_version, "metadata": md}


class _SelectorFilter:
    """Turns storage events into the events a selector-filtered watch sends (the apiserver's
    ``filterWithAttrsFunction``): an object that starts matching is ``ADDED``, one that stops
    matching is ``DELETED``.

    The storage's events carry no previous state, so the filter remembers, per key, whether
    the last state it saw matched. A ``MODIFIED`` non-matching object whose previous state is
    unknown (a watch resumed from a version) is sent as ``DELETED``: a delete of an object the
    client does not hold is harmless, a missed one would leave it stale."""

    def __init__(self, pred: Callable[[dict[str, Any]], bool] | None) -> None:
        self._pred = pred
        self._matched: dict[tuple[str, str], bool] = {}

    @staticmethod
    def _key(obj: Any) -> tuple[str, str]:
        md = _meta(obj)
        return (str(md.get("namespace") or ""), str(md.get("name") or ""))

    def initial(self, obj: Any) -> tuple[str, Any] | None:
        if self._pred is None:
            return ("ADDED", obj)
        ok = self._pred(obj)
        self._matched[self._key(obj)] = ok
        return ("ADDED", obj) if ok else None

    def event(self, ev: WatchEvent) -> tuple[str, Any] | None:
        t = str(ev.type)
        obj = ev.object
        if self._pred is None or t in ("BOOKMARK", "ERROR"):
            return (t, obj)
        key = self._key(obj)
        ok = self._pred(obj)
        before = self._matched.get(key)
        if t == "DELETED":
            self._matched.pop(key, None)
            return (t, obj) if ok or before else None
        self._matched[key] = ok
        if t == "ADDED":
            return (t, obj) if ok else None
        if ok:
            return ("ADDED", obj) if before is False else ("MODIFIED", obj)
        return ("DELETED", obj) if before is not False else None


def _predicate(q: dict[str, str]) -> Callable[[dict[str, Any]], bool] | None:
    try:
        lp = parse_label_selector(q.get("labelSelector"))
        fp = parse_field_selector(q.get("fieldSelector"))
    except InvalidSelector as err:
        raise _bad_request(f"unable to parse requirement: {err}") from None
    if lp is None:
        return fp
    if fp is None:
        return lp
    return lambda o: lp(o) and fp(o)


def _int_param(q: dict[str, str], name: str, default: int) -> int:
    v = q.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise _bad_request(f"invalid {name}: {v!r} is not an integer") from None
    if n < 0:
        raise _bad_request(f"invalid {name}: {v!r} is negative")
    return n


def _float_param(q: dict[str, str], name: str, default: float) -> float:
    v = q.get(name)
    if v is None or v == "":
        return default
    try:
        return float(v)
    except ValueError:
        raise _bad_request(f"invalid {name}: {v!r} is not a number") from None


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _ChunkedWriter:
    """A watch response: headers on the first write, then one chunk per JSON event line."""

    def __init__(self, handler: _Handler) -> None:
        self._h = handler
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            h = self._h
            h.send_response(200)
            h.send_header("Content-Type", _JSON)
            h.send_header("Transfer-Encoding", "chunked")
            h.send_header("Cache-Control", "no-cache, private")
            h.end_headers()
            h.wfile.flush()

    def event(self, type_: str, obj: Any) -> None:
        self.start()
        data = json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"
        self._h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self._h.wfile.flush()

    def close(self) -> None:
        self.start()
        self._h.wfile.write(b"0\r\n\r\n")
        self._h.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the connection threads (stop() ends them)
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type[_Handler], api: APIServer) -> None:
        self.api = api
        super().__init__(addr, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (typically: the client reset it). Logged at debug level
        instead of socketserver's traceback on stderr."""
        log.debug("goprims apiserver: connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "goprims-apiserver/1"

    def setup(self) -> None:
        super().setup()
        if not self.server.api._register_connection(self.connection):
            _shutdown(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._forget_connection(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def client_gone(self) -> bool:
        """True if the client closed its end (a readable socket with nothing to read)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            peek: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return peek == b""
        except OSError:
            return True

    # ------------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json_body(self, raw: bytes) -> Any:
        if not raw:
            return None
        ct = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ct and not (ct.endswith("json") or ct.endswith("+json")) and ct != "*/*":
            raise APIError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: application/json (got {ct})",
            )
        try:
            return json.loads(raw)
        except ValueError as err:
            raise _bad_request(f"the request body is not valid JSON: {err}") from None

    def _send_json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", _JSON)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(self, err: APIError) -> None:
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
        self._send_json(err.code, err.status, headers)

    def _dispatch(self) -> None:
        api = self.server.api
        try:
            raw = self._read_body()
            url = urlsplit(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            code, body = self._route(api, self.command, url.path, q, raw)
            if body is not None:
                self._send_json(code, body)
        except APIError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionError):
            self.close_connection = True
        except Exception as err:  # a bug: answer 500 rather than drop the connection
            log.exception("goprims apiserver: %s %s failed", self.command, self.path)
            self._send_error(APIError(500, "InternalError", f"Internal error occurred: {err}"))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    # ------------------------------------------------------------------ routing

    def _route(
        self, api: APIServer, method: str, path: str, q: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        segs = [s for s in path.split("/") if s]
        if method in ("GET", "HEAD"):
            doc = self._discovery(api, segs)
            if doc is not None:
                return 200, doc
        if len(segs) >= 2 and segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise _page_not_found()
        ns: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            raise _page_not_found()
        res = api.resource_for(group, version, rest[0])
        if res is None or (ns is not None and not res.namespaced):
            raise _page_not_found()
        if ns is not None and not _DNS_LABEL.match(ns):
            raise _bad_request(f"invalid namespace {ns!r}")
        name = rest[1] if len(rest) == 2 else None
        body = self._json_body(raw) if method in ("POST", "PUT", "PATCH", "DELETE") else None
        if name is None:
            if method in ("GET", "HEAD"):
                if _truthy(q.get("watch")):
                    api._serve_watch(self, res, ns, q)
                    return 200, None
                return 200, api._list(res, ns, q)
            if method == "POST":
                if res.namespaced and ns is None:
                    raise _page_not_found()
                return 201, api._create(res, ns, body, q)
            if method == "DELETE":
                return 200, api._delete_collection(res, ns, q)
            raise _method_not_allowed(method)
        if res.namespaced and ns is None:
            raise _page_not_found()
        if method in ("GET", "HEAD"):
            return 200, api._get(res, ns, name)
        if method == "PUT":
            return 200, api._update(res, ns, name, body, q)
        if method == "PATCH":
            return 200, api._patch(res, ns, name, self.headers.get("Content-Type", ""), body, q)
        if method == "DELETE":
            return 200, api._delete(res, ns, name, body)
        raise _method_not_allowed(method)

    def _discovery(self, api: APIServer, segs: list[str]) -> Any:
        if segs == ["api"]:
            return api._api_versions()
        if segs == ["apis"]:
            return api._api_group_list()
        if segs == ["version"]:
            return {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.0-goprims",
                "platform": "python",
            }
        if len(segs) == 2 and segs[0] == "api":
            return api._resource_list("", segs[1]) or _raise(_page_not_found())
        if len(segs) == 2 and segs[0] == "apis":
            if segs[1] in api._group_versions() and segs[1]:
                return api._api_group(segs[1])
            raise _page_not_found()
        if len(segs) == 3 and segs[0] == "apis":
            return api._resource_list(segs[1], segs[2]) or _raise(_page_not_found())
        if segs == ["openapi", "v2"]:
            return api._openapi_v2()
        if segs == ["openapi", "v3"]:
            return api._openapi_v3_root()
        if len(segs) >= 3 and segs[:2] == ["openapi", "v3"]:
            rest = segs[2:]
            if rest[0] == "api" and len(rest) == 2:
                doc = api._openapi_v3_doc("", rest[1])
            elif rest[0] == "apis" and len(rest) == 3:
                doc = api._openapi_v3_doc(rest[1], rest[2])
            else:
                doc = None
            return doc if doc is not None else _raise(_page_not_found())
        return None


def _raise(err: Exception) -> Any:
    raise err


def _page_not_found() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource")


def _method_not_allowed(method: str) -> APIError:
    return APIError(405, "MethodNotAllowed", f"the server does not allow this method ({method})")

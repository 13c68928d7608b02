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

import copy
import json
import logging
import os
import random
import selectors
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from goprims.cache.reflector import INITIAL_EVENTS_END_ANNOTATION
from goprims.kube._discovery import Discovery
from goprims.kube._errors import (
    bad_request,
    conflict,
    expired,
    invalid,
    storage_error,
)
from goprims.kube._http import Handler, HTTPServer, shutdown_socket
from goprims.kube._objects import (
    NAME_SUFFIX_ALPHABET,
    check_type,
    meta,
    now_rfc3339,
    validate,
)
from goprims.kube._pagination import Snapshots, decode_continue, encode_continue
from goprims.kube._params import float_param, int_param, predicate, truthy
from goprims.kube._watch import ChunkedWriter, SelectorFilter, bookmark, timed
from goprims.kube.patch import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from goprims.kube.resources import Resource
from goprims.kube.status import APIError
from goprims.storage.errors import (
    AlreadyExists,
    NotFound,
)
from goprims.storage.interface import Storage
from goprims.watch import (
    ResourceExpired,
)

__all__ = ["INITIAL_EVENTS_END_ANNOTATION", "APIServer"]

log = logging.getLogger("goprims.kube.server")


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
        self._snapshots = Snapshots()
        self._lock = threading.Lock()
        # --- guarded by _lock ---
        self._stopping = False
        self._connections: set[socket.socket] = set()  # open client connections
        self._watches: set[Any] = set()  # running storage watches
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        # ---
        self._httpd = HTTPServer((host, port), Handler, self)
        addr = self._httpd.server_address
        self.host: str = addr[0] if isinstance(addr[0], str) else addr[0].decode()
        self.port: int = int(addr[1])
        self.discovery = Discovery(self.resources, self.host, self.port)
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
            shutdown_socket(c)
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

    def resource_for(self, group: str, version: str, plural: str) -> Resource | None:
        """The served resource at that URL, or None."""
        return self._by_path.get((group, version, plural))

    # ------------------------------------------------------------------ object operations

    def _get(self, res: Resource, ns: str | None, name: str) -> dict[str, Any]:
        try:
            obj: dict[str, Any] = self.storage.get(res.storage_key(ns, name))
        except Exception as err:
            raise storage_error(res, name, err) from None
        return obj

    def _list(self, res: Resource, ns: str | None, q: dict[str, str]) -> dict[str, Any]:
        pred = predicate(q)
        limit = int_param(q, "limit", 0)
        token = q.get("continue", "")
        rv = q.get("resourceVersion", "")
        rvm = q.get("resourceVersionMatch", "")
        prefix = res.storage_prefix(ns)
        if token:
            if rv and rv != "0":
                raise bad_request("specifying resource version is not allowed when using continue")
            sid, offset, list_rv = decode_continue(token)
            snap = self._snapshots.get(sid)
            if snap is None:
                raise expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                )
            list_rv, items = snap
        else:
            if rvm and rvm not in ("NotOlderThan", "Exact"):
                raise bad_request(f"invalid resourceVersionMatch {rvm!r}")
            if rvm and not rv:
                raise invalid(
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
                raise storage_error(res, "", err) from None
            if rvm == "Exact" and rv != "0" and lr.resource_version != rv:
                raise expired(
                    f"too old resource version: {rv} ({lr.resource_version}): this server keeps "
                    "no history to serve an exact list from"
                )
            list_rv = lr.resource_version
            items = [o for o in lr.items if pred is None or pred(o)]
            offset = 0
            if rv == "0" and not rvm:
                limit = 0  # served "from the cache": kube-apiserver ignores the limit
        list_meta: dict[str, Any] = {"resourceVersion": list_rv}
        if limit > 0 and offset + limit < len(items):
            page = items[offset : offset + limit]
            if not token:
                sid = self._snapshots.put(list_rv, items)
            list_meta["continue"] = encode_continue(sid, offset + limit, list_rv)
            list_meta["remainingItemCount"] = len(items) - offset - limit
        else:
            page = items[offset:]
        return {
            "kind": f"{res.kind}List",
            "apiVersion": res.group_version,
            "metadata": list_meta,
            "items": page,
        }

    def _create(
        self, res: Resource, ns: str | None, body: Any, q: dict[str, str]
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the request body is not a JSON object")
        check_type(res, body)
        obj = copy.deepcopy(body)
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise invalid(res, "", [("FieldValueInvalid", "metadata", "Invalid value")])
        if md.get("resourceVersion") not in (None, "", "0"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        body_ns = md.get("namespace")
        if res.namespaced:
            if body_ns and body_ns != ns:
                raise bad_request(
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
        md["creationTimestamp"] = now_rfc3339()
        gen = md.get("generateName")
        named = bool(md.get("name"))
        if not named and isinstance(gen, str) and gen:
            md["name"] = gen + "".join(random.choices(NAME_SUFFIX_ALPHABET, k=5))
        validate(res, obj)
        if q.get("dryRun"):
            return obj
        attempts = 1 if named else 8
        for attempt in range(attempts):
            try:
                stored: dict[str, Any] = self.storage.create(res.storage_key(ns, md["name"]), obj)
                return stored
            except AlreadyExists as err:
                if attempt + 1 == attempts:
                    raise storage_error(res, md["name"], err) from None
                md["name"] = str(gen) + "".join(random.choices(NAME_SUFFIX_ALPHABET, k=5))
            except Exception as err:
                raise storage_error(res, md["name"], err) from None
        raise AssertionError("unreachable")

    def _fix_identity(
        self, res: Resource, ns: str | None, name: str, cur: dict[str, Any], new: Any
    ) -> dict[str, Any]:
        """The checks and fields shared by update and patch: the new object keeps its name,
        namespace, uid and creationTimestamp; its apiVersion/kind are the resource's."""
        if not isinstance(new, dict):
            raise bad_request("the object is not a JSON object")
        check_type(res, new)
        md = new.get("metadata")
        if not isinstance(md, dict):
            raise invalid(res, name, [("FieldValueRequired", "metadata", "Required value")])
        if md.get("name", name) != name:
            raise bad_request(
                f"the name of the object ({md.get('name')}) does not match the name on the URL "
                f"({name})"
            )
        md["name"] = name
        if res.namespaced:
            if md.get("namespace") not in (None, "", ns):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            md["namespace"] = ns
        cur_md = meta(cur)
        for f in ("uid", "creationTimestamp"):
            if f in cur_md:
                md[f] = cur_md[f]
        md.pop("selfLink", None)
        new["apiVersion"] = res.group_version
        new["kind"] = res.kind
        validate(res, new, name)
        return new

    def _update(
        self, res: Resource, ns: str | None, name: str, body: Any, q: dict[str, str]
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the request body is not a JSON object")
        body_name = meta(body).get("name")
        if body_name not in (None, name):
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        want = str(meta(body).get("resourceVersion") or "")

        def fn(cur: dict[str, Any]) -> dict[str, Any]:
            if want and str(meta(cur).get("resourceVersion")) != want:
                raise conflict(res, name)
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
                raise invalid(res, name, [("FieldValueInvalid", "", str(err))]) from None
            if not isinstance(new, dict):
                raise bad_request("the patch does not produce an object")
            want = str(meta(new).get("resourceVersion") or "")
            if want and want != str(meta(cur).get("resourceVersion")):
                raise conflict(res, name)
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
            raise storage_error(res, name, err) from None
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
                cur_uid = meta(cur).get("uid")
                if cur_uid != uid:
                    raise APIError(
                        409,
                        "Conflict",
                        f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                        f"{cur_uid}",
                        {"name": name, "group": res.group, "kind": res.plural},
                    )
                if rv is None:
                    rv = meta(cur).get("resourceVersion")
            deleted = self.storage.delete(key, rv or None)
        except Exception as err:
            raise storage_error(res, name, err) from None
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": res.group,
                "kind": res.plural,
                "uid": meta(deleted).get("uid", ""),
            },
        }

    def _delete_collection(
        self, res: Resource, ns: str | None, q: dict[str, str]
    ) -> dict[str, Any]:
        lst = self._list(res, ns, {k: v for k, v in q.items() if k not in ("limit", "continue")})
        for obj in lst["items"]:
            md = meta(obj)
            try:
                self.storage.delete(res.storage_key(md.get("namespace"), md["name"]))
            except NotFound:
                pass
            except Exception as err:
                raise storage_error(res, md["name"], err) from None
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
        bookmarks = truthy(q.get("allowWatchBookmarks"))
        prefix = res.storage_prefix(ns)
        if sie_param is not None:
            if not self.watch_list:
                raise invalid(
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
                raise invalid(
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
            if truthy(sie_param) and not bookmarks:
                raise invalid(
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
            raise invalid(
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
        send_initial = truthy(sie_param) if sie_param is not None else rv in ("", "0")
        initial: list[Any] = []
        try:
            if send_initial:
                lr = self.storage.list(prefix, "" if rv == "0" else rv)
                initial, start = lr.items, lr.resource_version
            elif rv in ("", "0"):
                start = str(self.storage.revision())
            else:
                start = rv
            w = timed(self.storage.watch(prefix, start))
        except ResourceExpired as err:
            return [], err, rv, False
        except Exception as err:
            raise storage_error(res, "", err) from None
        return initial, w, start, sie_param is not None and send_initial

    def _serve_watch(
        self, handler: Handler, res: Resource, ns: str | None, q: dict[str, str]
    ) -> None:
        pred = predicate(q)
        bookmarks = truthy(q.get("allowWatchBookmarks"))
        timeout = float_param(q, "timeoutSeconds", 0.0)
        if timeout <= 0:
            timeout = self.watch_timeout * (1.0 + random.random())
        initial, w, start, end_bookmark = self._open_watch(res, ns, q)
        out = ChunkedWriter(handler)
        if isinstance(w, ResourceExpired):
            out.event("ERROR", expired(f"too old resource version: {w}").status)
            out.close()
            return
        self._register_watch(w)
        try:
            out.start()  # the headers go out at once: clients wait for them before reading
            deadline = time.monotonic() + timeout
            filt = SelectorFilter(pred)
            for obj in initial:
                ev = filt.initial(obj)
                if ev is not None:
                    out.event(*ev)
            if end_bookmark:
                out.event(
                    "BOOKMARK",
                    bookmark(res, start, {INITIAL_EVENTS_END_ANNOTATION: "true"}),
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
                        out.event("BOOKMARK", bookmark(res, last_rv))
                    continue
                except ResourceExpired as err:
                    out.event("ERROR", expired(f"too old resource version: {err}").status)
                    break
                if ev is None:
                    break
                rv = str(meta(ev.object).get("resourceVersion") or "")
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

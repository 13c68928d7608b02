"""``KubeListWatch``: a :class:`~goprims.watch.ListerWatcher` over a Kubernetes API server, using
the official ``kubernetes`` client's configuration (kubeconfig, in-cluster, TLS, tokens, proxies)
and its HTTP transport (the client's urllib3 pool), so an informer runs against a cluster
unchanged. Objects are plain dicts: the API's JSON.

What it does, after client-go's ``ListWatch``, pager and ``StreamWatcher``:

* ``list(rv)`` reads the collection in pages of ``page_size`` (``limit``/``continue``); a
  ``continue`` token that expired mid-list (410) falls back to one unpaginated list at the same
  version (the pager's ``FullListIfExpired``). Items get ``apiVersion``/``kind`` (a list
  response leaves them out of core items).
* ``watch(rv)`` opens ``?watch=true&allowWatchBookmarks=true`` with a random
  ``timeoutSeconds`` in [``min_watch_timeout``, 2 x ``min_watch_timeout``) (client-go: 5 to
  10 minutes); the server ends the stream at that time and the iteration ends cleanly, so the
  reflector reopens the watch from its last version. A stream cut by the network ends the
  same way (logged), as client-go's StreamWatcher treats an EOF.
* ``watch_list(rv)``: the watch-list mode, ``sendInitialEvents=true`` with
  ``resourceVersionMatch=NotOlderThan``: the current state as ``ADDED`` events, then a bookmark
  annotated ``k8s.io/initial-events-end``, then changes. A server that refuses it (an old one,
  or the WatchList feature off) raises :class:`~goprims.watch.WatchListUnsupported`.
* Errors: HTTP 410 (or a 410 ``ERROR`` event in the stream) raises
  :class:`~goprims.watch.ResourceExpired`; a 504 with the ``ResourceVersionTooLarge`` cause
  raises :class:`~goprims.watch.TooLargeResourceVersion`; any other failed response an
  :class:`~goprims.kube.APIError` carrying its ``Status``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from goprims.framing import watch_events
from goprims.kube.resources import Resource
from goprims.kube.status import APIError, error_from_status
from goprims.watch import (
    EventType,
    ListResult,
    ResourceExpired,
    TooLargeResourceVersion,
    WatchEvent,
    WatchListUnsupported,
)

__all__ = ["KubeListWatch", "KubeWatch"]

log = logging.getLogger("goprims.kube.listwatch")


class KubeListWatch:
    """A ListerWatcher for ``resource`` (``"v1/configmaps"``, ``"example.com/v1/widgets"`` or a
    :class:`~goprims.kube.Resource`) on the server ``api_client`` (the official client's
    ``ApiClient``) talks to; see the module docstring.

    ``namespace=None`` lists and watches across all namespaces (a namespaced resource) or the
    cluster-scoped resource. ``label_selector`` and ``field_selector`` are the API's selector
    strings. ``page_size`` (> 0) is the list's ``limit``; ``0`` lists in one response.
    ``request_timeout`` bounds a list request and a watch's connection (seconds).
    """

    def __init__(
        self,
        api_client: Any,
        resource: str | Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
        min_watch_timeout: float = 300.0,
        request_timeout: float = 60.0,
    ) -> None:
        if page_size < 0:
            raise ValueError(f"page_size must be >= 0, got {page_size}")
        if min_watch_timeout <= 0:
            raise ValueError(f"min_watch_timeout must be > 0, got {min_watch_timeout}")
        self.api_client = api_client
        self.resource = Resource.parse(resource)
        if namespace and not self.resource.namespaced:
            raise ValueError(f"{self.resource} is cluster-scoped: no namespace")
        self.namespace = namespace
        self.label_selector = label_selector or None
        self.field_selector = field_selector or None
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.request_timeout = request_timeout
        self._path = self.resource.collection_path(namespace)

    def __repr__(self) -> str:
        where = f" namespace={self.namespace!r}" if self.namespace else ""
        return f"<KubeListWatch {self.resource}{where}>"

    # ------------------------------------------------------------------ transport

    def _url(self, params: dict[str, str]) -> str:
        host = str(self.api_client.configuration.host).rstrip("/")
        query = dict(params)
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        return f"{host}{self._path}?{urlencode(query)}" if query else f"{host}{self._path}"

    def _headers(self) -> dict[str, str]:
        """The client's default headers plus its header credentials (a bearer token, refreshed
        by the configuration's hook when it has one)."""
        headers = {str(k): str(v) for k, v in dict(self.api_client.default_headers).items()}
        headers["Accept"] = "application/json"
        for auth in self.api_client.configuration.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[str(auth["key"])] = str(auth["value"])
        return headers

    def _request(self, params: dict[str, str], read_timeout: float | None) -> Any:
        """GET the collection; the urllib3 response, not yet read (the caller reads or streams
        it). A failed response raises (see :func:`~goprims.kube.status.error_from_status`)."""
        import urllib3

        pool = self.api_client.rest_client.pool_manager
        resp = pool.request(
            "GET",
            self._url(params),
            headers=self._headers(),
            preload_content=False,
            timeout=urllib3.Timeout(connect=self.request_timeout, read=read_timeout),
            retries=False,
        )
        if resp.status != 200:
            try:
                raw = resp.read()
            finally:
                resp.release_conn()
            try:
                status = json.loads(raw)
            except ValueError:
                status = {"message": raw[:200].decode("utf-8", "replace")}
            raise error_from_status(status, resp.status)
        return resp

    def _get_json(self, params: dict[str, str]) -> dict[str, Any]:
        resp = self._request(params, self.request_timeout)
        try:
            body: dict[str, Any] = json.loads(resp.read())
        finally:
            resp.release_conn()
        return body

    # ------------------------------------------------------------------ list

    def list(self, resource_version: str = "") -> ListResult:
        """Every object, page by page; the list's resource version. Raises
        :class:`~goprims.watch.ResourceExpired` (the version is compacted) and
        :class:`~goprims.watch.TooLargeResourceVersion` (newer than the server)."""
        params: dict[str, str] = {}
        if resource_version:
            params["resourceVersion"] = resource_version
        if self.page_size:
            params["limit"] = str(self.page_size)
        first = self._get_json(params)
        items = list(first.get("items") or ())
        list_rv = str((first.get("metadata") or {}).get("resourceVersion") or "")
        token = (first.get("metadata") or {}).get("continue")
        while token:
            try:
                page = self._get_json({"limit": str(self.page_size), "continue": str(token)})
            except ResourceExpired:
                # The pager's FullListIfExpired: the snapshot behind the token is gone; read
                # everything in one response at the version asked for.
                log.info("%r: continue token expired; listing without pagination", self)
                full = dict(params)
                full.pop("limit", None)
                first = self._get_json(full)
                items = list(first.get("items") or ())
                list_rv = str((first.get("metadata") or {}).get("resourceVersion") or "")
                break
            items.extend(page.get("items") or ())
            token = (page.get("metadata") or {}).get("continue")
        for obj in items:
            if isinstance(obj, dict):
                obj.setdefault("apiVersion", self.resource.group_version)
                obj.setdefault("kind", self.resource.kind)
        return ListResult(items, list_rv)

    # ------------------------------------------------------------------ watch

    def _watch(self, params: dict[str, str]) -> KubeWatch:
        timeout = self.min_watch_timeout * (1.0 + random.random())
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(max(1, int(timeout))),
            **params,
        }
        # the read timeout outlasts the server's end of the stream: it only catches a server
        # that went silent without closing the connection
        resp = self._request(params, timeout + self.request_timeout)
        return KubeWatch(resp, name=repr(self))

    def watch(self, resource_version: str) -> KubeWatch:
        """A watch from ``resource_version`` (``""``/``"0"``: the current state as ``ADDED``
        events first), with bookmarks. Raises :class:`~goprims.watch.ResourceExpired` or
        :class:`~goprims.watch.TooLargeResourceVersion` when the server refuses the version
        (a too old version may instead arrive as a 410 ``ERROR`` event: the iteration
        raises it)."""
        params = {"resourceVersion": resource_version} if resource_version else {}
        return self._watch(params)

    def watch_list(self, resource_version: str = "") -> KubeWatch:
        """The watch-list mode: the state not older than ``resource_version`` (``""``: the most
        recent) as ``ADDED`` events, a bookmark annotated ``k8s.io/initial-events-end``, then
        changes. Raises :class:`~goprims.watch.WatchListUnsupported` when the server refuses
        ``sendInitialEvents``."""
        params = {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"}
        if resource_version:
            params["resourceVersion"] = resource_version
        try:
            return self._watch(params)
        except APIError as err:
            if err.code in (400, 403, 422):
                raise WatchListUnsupported(f"the server refused sendInitialEvents: {err}") from err
            raise


class KubeWatch:
    """A running watch over an HTTP response (client-go's ``StreamWatcher``): iterating it
    yields :class:`~goprims.watch.WatchEvent` s decoded by
    :func:`goprims.framing.watch_events` as they arrive. Iterating again resumes where the
    last iteration stopped.

    The iteration ends when the server ends the stream (its timeout), when the connection
    drops (logged), or after :meth:`stop`; a 410 ``ERROR`` event raises
    :class:`~goprims.watch.ResourceExpired`, one with the ``ResourceVersionTooLarge`` cause
    :class:`~goprims.watch.TooLargeResourceVersion`; other ``ERROR`` events are yielded.
    """

    def __init__(self, response: Any, name: str = "watch") -> None:
        self._resp = response
        self._name = name
        self._lock = threading.Lock()
        self._stopped = False  # guarded by _lock
        self._events = self._generate()

    def _generate(self) -> Iterator[WatchEvent]:
        try:
            for ev in watch_events(self._resp):
                if self.stopped:
                    return
                if ev.type == EventType.ERROR and isinstance(ev.object, dict):
                    err = error_from_status(ev.object)
                    if isinstance(err, (ResourceExpired, TooLargeResourceVersion)):
                        raise err
                yield ev
        except (ResourceExpired, TooLargeResourceVersion):
            raise
        except Exception as err:
            if not self.stopped:
                # client-go ends a watch on a broken stream and lets the reflector reopen it
                log.info("%s: watch stream ended: %s", self._name, err)
        finally:
            self._close()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        with self._lock:
            return self._stopped

    def __iter__(self) -> Iterator[WatchEvent]:
        return self._events

    def __next__(self) -> WatchEvent:
        return next(self._events)

    def stop(self) -> None:
        """End the watch: a blocked iteration returns, the connection is closed (not reused).
        Idempotent; callable from any thread."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        # urllib3 >= 2.3 shuts the socket down, which unblocks a reader in another thread;
        # closing then releases the connection (never back to the pool: it is mid-stream)
        shutdown = getattr(self._resp, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:
                pass
        self._close()

    def _close(self) -> None:
        try:
            self._resp.close()
        except Exception:
            pass

    def __enter__(self) -> KubeWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Helpers for the embedded API server's tests: a tiny JSON HTTP client and a watch reader."""

from __future__ import annotations

import http.client
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from goprims.kube import APIServer
from goprims.storage import MemoryStorage

RESOURCES = ["v1/configmaps", "example.com/v1/widgets"]
CM = "/api/v1/namespaces/default/configmaps"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def call(
    srv: APIServer,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    """One request; returns (status, decoded JSON body or None, headers)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    try:
        if isinstance(body, bytes) or body is None:
            data = body
        else:
            data = json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        conn.request(method, path, data, headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None), dict(resp.getheaders())
    finally:
        conn.close()


class WatchReader:
    """A watch request read by a background thread into a queue of decoded events; ``next``
    waits for the next one (or None when the stream ended)."""

    def __init__(self, srv: APIServer, path: str) -> None:
        self.conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        self.conn.request("GET", path)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.events: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self._read, name="test-watch-reader")
        self.thread.start()

    def _read(self) -> None:
        try:
            if self.status != 200:
                self.events.put(("HTTP", json.loads(self.resp.read())))
                return
            while True:
                line = self.resp.readline()
                if not line:
                    break
                self.events.put(json.loads(line))
        except Exception:  # the test closed the connection under the reader
            pass
        finally:
            self.events.put(None)

    def next(self, timeout: float = 10.0) -> Any:
        return self.events.get(timeout=timeout)

    def next_non_bookmark(self, timeout: float = 10.0) -> Any:
        while True:
            ev = self.next(timeout)
            if ev is None or ev["type"] != "BOOKMARK":
                return ev

    def close(self) -> None:
        try:
            if self.conn.sock:
                self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()
        self.thread.join(10)


@contextmanager
def watching(srv: APIServer, path: str) -> Iterator[WatchReader]:
    r = WatchReader(srv, path)
    try:
        yield r
    finally:
        r.close()


@contextmanager
def server(storage: Any = None, **kw: Any) -> Iterator[APIServer]:
    with APIServer(storage if storage is not None else MemoryStorage(), RESOURCES, **kw) as srv:
        yield srv

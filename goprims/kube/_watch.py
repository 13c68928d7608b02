"""The pieces of a served watch: a timed view of any storage watch, the selector filter that
turns changes into ADDED/DELETED as objects start or stop matching, bookmarks, and the chunked
response writer."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from goprims.kube._objects import (
    JSON,
    meta,
)
from goprims.kube.resources import Resource
from goprims.watch import (
    Watch,
    WatchEvent,
)
from goprims.watch.chan_watch import ChanWatch


class PumpWatch(ChanWatch):
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


def timed(w: Watch) -> Any:
    return w if callable(getattr(w, "next_event", None)) else PumpWatch(w)


def bookmark(res: Resource, rv: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"resourceVersion": rv}
    if annotations:
        md["annotations"] = annotations
    return {"kind": res.kind, "apiVersion": res.group_version, "metadata": md}


class SelectorFilter:
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
        md = meta(obj)
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


class ChunkedWriter:
    """A watch response: headers on the first write, then one chunk per JSON event line."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._h = handler
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            h = self._h
            h.send_response(200)
            h.send_header("Content-Type", JSON)
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

"""watch_events: a Kubernetes watch stream decoded into WatchEvents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from framing_support import Trickle, live_pipe, read_in_thread, stream

import goprims
from goprims.framing import MalformedStream, ObjectTooLarge, watch_events
from goprims.watch import EventType, WatchEvent


def cm(name: str, rv: str) -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "resourceVersion": rv}}


def body(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def test_watch_events_decode_types_and_objects() -> None:
    data = body(
        {"type": "ADDED", "object": cm("a", "1")},
        {"type": "MODIFIED", "object": cm("a", "2")},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "3"}}},
        {"type": "DELETED", "object": cm("a", "4")},
    )
    events = list(watch_events(Trickle(data, sizes=(7, 50))))
    assert events == [
        WatchEvent(EventType.ADDED, cm("a", "1")),
        WatchEvent(EventType.MODIFIED, cm("a", "2")),
        WatchEvent(EventType.BOOKMARK, {"metadata": {"resourceVersion": "3"}}),
        WatchEvent(EventType.DELETED, cm("a", "4")),
    ]
    assert all(isinstance(e.type, EventType) for e in events)


def test_410_error_status_raises_resource_expired_after_the_events_before_it() -> None:
    gone = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": "too old resource version: 5 (10)",
        "reason": "Expired",
        "code": 410,
    }
    it = watch_events(
        stream(body({"type": "ADDED", "object": cm("a", "11")}, {"type": "ERROR", "object": gone}))
    )
    assert next(it) == WatchEvent(EventType.ADDED, cm("a", "11"))
    with pytest.raises(goprims.ResourceExpired, match="too old resource version"):
        next(it)


def test_other_error_events_are_yielded() -> None:
    status = {"kind": "Status", "status": "Failure", "reason": "InternalError", "code": 500}
    events = list(watch_events(stream(body({"type": "ERROR", "object": status}))))
    assert events == [WatchEvent(EventType.ERROR, status)]


@pytest.mark.parametrize(
    "value",
    [[1], {"type": "ADDED"}, {"object": {}}, {"type": "RENAMED", "object": {}}],
    ids=repr,
)
def test_a_value_that_is_not_a_watch_event_raises_malformed_stream(value: Any) -> None:
    with pytest.raises(MalformedStream):
        list(watch_events(stream(json.dumps(value).encode())))


def test_an_event_cut_off_by_the_connection_raises_eoferror() -> None:
    data = body({"type": "ADDED", "object": cm("a", "1")})
    it = watch_events(stream(data + data[:20]))
    assert next(it).type is EventType.ADDED
    with pytest.raises(EOFError):
        next(it)


def test_an_oversized_event_raises_object_too_large() -> None:
    data = body({"type": "ADDED", "object": {"blob": "x" * 1000}})
    with pytest.raises(ObjectTooLarge):
        list(watch_events(stream(data), max_bytes=100))


def test_events_of_a_live_watch_arrive_as_they_are_sent() -> None:
    with live_pipe() as (r, w):
        it = watch_events(r)
        w.write(body({"type": "ADDED", "object": cm("a", "1")}))
        t, out, done = read_in_thread(lambda: next(it))
        assert done.wait(10), "a complete event waited for more of the stream"
        t.join()
        assert out == [WatchEvent(EventType.ADDED, cm("a", "1"))]
        w.close()
        assert list(it) == []


def test_importing_framing_does_not_import_the_cache_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys, goprims.framing; "
        "print(sorted(m for m in sys.modules if m.startswith(('goprims.cache', 'goprims.storage',"
        " 'goprims.chan', 'trio', 'asyncio'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_events_of_a_chunked_http_watch_arrive_before_the_response_ends() -> None:
    # A real HTTP/1.1 chunked response (what an API server's watch is), read with http.client:
    # each event comes out while the server is still holding the response open.
    import http.client
    import http.server
    import threading

    send_second = threading.Event()
    released: list[bool] = []
    events = [
        {"type": "ADDED", "object": cm("a", "1")},
        {"type": "MODIFIED", "object": cm("a", "2")},
    ]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, ev in enumerate(events):
                if i == 1:
                    # Not released in time = the client waited for more data: the test fails.
                    released.append(send_second.wait(10))
                data = json.dumps(ev).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = threading.Thread(target=server.serve_forever, name="watch-server")
    serving.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        conn.request("GET", "/api/v1/configmaps?watch=true")
        resp = conn.getresponse()
        it = watch_events(resp)
        assert next(it) == WatchEvent(EventType.ADDED, cm("a", "1"))  # the second is not sent yet
        send_second.set()
        assert list(it) == [WatchEvent(EventType.MODIFIED, cm("a", "2"))]
        assert released == [True]
        conn.close()
    finally:
        send_second.set()
        server.shutdown()
        server.server_close()
        serving.join()

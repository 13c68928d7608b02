"""EtcdStorage beyond the shared contract: fail-over, bounded errors, unreadable values, paging,
watch reconnection, compaction under an informer, and a writer in another process.

All tests run against the session's real etcd (``etcd_server``), each on a key prefix of its own.
"""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goprims.storage import NotFound, ResourceExpired, StorageError
from goprims.storage.etcd import CorruptObject, EtcdStorage, StorageUnavailable
from goprims.storage.etcd._gateway import EtcdClient, b64
from goprims.watch import WatchEvent

pytest.register_assert_rewrite("etcd_server")  # it is imported here before pytest loads the plugin
from etcd_server import (  # noqa: E402
    EtcdCluster,
    InformerHarness,
    TcpProxy,
    contents,
    free_ports,
    require_etcd,
    self_signed_certificate,
)

pytest_plugins = ["etcd_server"]
pytestmark = pytest.mark.etcd

WAIT = 10.0  # seconds: an upper bound for something that is certainly coming
REPO = Path(__file__).resolve().parent.parent


def obj(name: str, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, **fields}


@pytest.fixture
def prefix() -> str:
    return f"/etcd-tests/{uuid.uuid4().hex}/"


@pytest.fixture
def store(etcd_server: EtcdCluster, prefix: str) -> Iterator[EtcdStorage]:
    s = EtcdStorage(etcd_server.endpoints, prefix)
    yield s
    s.close()


def raw_put(cluster: EtcdCluster, key: str, value: bytes) -> None:
    """Write bytes under an etcd key directly, as a foreign program would."""
    client = EtcdClient(cluster.endpoints)
    try:
        client.call("/v3/kv/put", {"key": b64(key.encode()), "value": b64(value)}, idempotent=False)
    finally:
        client.close()


def next_events(w: Any, n: int) -> list[WatchEvent]:
    out: list[WatchEvent] = []
    for _ in range(n):
        ev = w.next_event(timeout=WAIT)
        assert ev is not None, f"watch ended after {out}"
        out.append(ev)
    return out


def names(evs: list[WatchEvent]) -> list[tuple[str, str]]:
    return [(str(e.type), e.object["metadata"]["name"]) for e in evs]


# --------------------------------------------------------------------- unreachable endpoints


def test_refused_endpoints_raise_storage_unavailable_at_once_naming_each() -> None:
    ports = free_ports(2)  # nothing listens there any more
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    s = EtcdStorage(urls, "/x/")
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailable) as e:
        s.get("a")
    with pytest.raises(StorageUnavailable):
        s.watch("", "")
    with pytest.raises(StorageUnavailable):
        s.watch("", "5")
    assert time.monotonic() - t0 < 3.0
    assert all(u in str(e.value) for u in urls)
    assert isinstance(e.value, StorageError)
    assert isinstance(e.value, ConnectionError)


def test_a_silent_endpoint_fails_within_the_request_timeout() -> None:
    # A listening socket that is never accepted: the kernel completes the TCP handshake, so the
    # connection succeeds, and then no answer ever comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        s = EtcdStorage(url, "/x/", connect_timeout=0.5, request_timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailable, match=url):
            s.get("a")
        with pytest.raises(StorageUnavailable, match="may or may not have been applied"):
            s.create("a", obj("a"))
        assert time.monotonic() - t0 < 3.0
        s.close()


def test_bad_endpoint_lists_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one etcd endpoint is required"):
        EtcdStorage([], "/x/")
    with pytest.raises(ValueError, match="not an etcd client URL"):
        EtcdStorage("ftp://127.0.0.1:2379", "/x/")


def test_requests_and_watches_fail_over_past_a_dead_endpoint(
    etcd_server: EtcdCluster, prefix: str
) -> None:
    dead = f"http://127.0.0.1:{free_ports(1)[0]}"
    with EtcdStorage([dead, *etcd_server.endpoints], prefix) as s:
        start = str(s.revision())
        a = s.create("a", obj("a"))
        assert s.get("a") == a
        w = s.watch("", start)
        assert names(next_events(w, 1)) == [("ADDED", "a")]
        w.stop()


def test_https_endpoints_use_the_given_ssl_context(tmp_path: Path) -> None:
    require_etcd()
    tls = self_signed_certificate(tmp_path)
    if tls is None:
        pytest.skip("the openssl command is not installed: cannot make a test certificate")
    with EtcdCluster(1, tls=tls) as cluster:
        (url,) = cluster.endpoints
        assert url.startswith("https://")
        trusting = ssl.create_default_context(cafile=str(tls[0]))
        with EtcdStorage(url, "/tls/", ssl_context=trusting) as s:
            a = s.create("a", obj("a"))
            w = s.watch("", "")
            assert names(next_events(w, 1)) == [("ADDED", "a")]
            w.stop()
            assert s.get("a") == a
        untrusting = EtcdStorage(url, "/tls/")  # system CAs: the certificate is unknown to them
        with pytest.raises(StorageUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.get("a")


def test_a_pooled_connection_closed_by_a_restarted_member_is_replaced_not_failed(
    prefix: str,
) -> None:
    require_etcd()
    with EtcdCluster(1) as cluster, EtcdStorage(cluster.endpoints, prefix) as s:
        s.create("a", obj("a"))  # leaves an idle keep-alive connection in the pool
        cluster.kill(0)
        cluster.restart(0)
        # The pooled connection is dead; a write on it would have an unknown outcome. It must be
        # noticed before the write is sent, so the write simply succeeds on a new connection.
        s.create("b", obj("b"))
        assert [o["metadata"]["name"] for o in s.list().items] == ["a", "b"]


# ----------------------------------------------------------------------------- the watch stream


def test_stop_closes_the_stream_and_ends_the_reader_thread(store: EtcdStorage) -> None:
    def readers() -> int:
        return sum(t.name == "goprims-etcd-watch" for t in threading.enumerate())

    before = readers()
    w = store.watch("", "")
    assert readers() == before + 1
    w.stop()
    assert readers() == before
    w.stop()  # idempotent


def test_storage_close_stops_its_watches(store: EtcdStorage) -> None:
    w1 = store.watch("", "")
    w2 = store.watch("a", str(store.revision()))
    store.close()
    assert list(w1) == []
    assert list(w2) == []
    assert w1.stopped
    assert w2.stopped


def test_watch_reopened_after_a_lost_connection_loses_and_repeats_nothing(
    etcd_server: EtcdCluster, store: EtcdStorage
) -> None:
    start = str(store.revision())
    with TcpProxy(etcd_server.members[0].client_port) as proxy:
        via_proxy = EtcdStorage([proxy.endpoint, *etcd_server.endpoints], store.prefix)
        w = via_proxy.watch("", start)
        try:
            store.create("a", obj("a"))
            assert names(next_events(w, 1)) == [("ADDED", "a")]
            proxy.freeze()  # the next events stay stuck in the proxy...
            store.create("b", obj("b"))
            store.update("a", {**store.get("a"), "spec": 1})
            proxy.cut()  # ...and are lost with the connection: the watch must reopen
            store.delete("b")
            store.create("c", obj("c"))  # a sentinel: nothing may come twice before it
            got = next_events(w, 4)
            assert names(got) == [
                ("ADDED", "b"),
                ("MODIFIED", "a"),
                ("DELETED", "b"),
                ("ADDED", "c"),
            ]
            revs = [int(e.object["metadata"]["resourceVersion"]) for e in got]
            assert revs == list(range(revs[0], revs[0] + 4))
        finally:
            via_proxy.close()


def test_watch_from_a_compacted_version_raises_resource_expired(store: EtcdStorage) -> None:
    a = store.create("a", obj("a"))
    store.update("a", {**a, "spec": 1})
    store.compact(store.revision())
    with pytest.raises(ResourceExpired):
        store.watch("", a["metadata"]["resourceVersion"])


# ------------------------------------------------------------------------------ list paging


def test_a_paged_list_is_read_at_the_revision_of_its_first_page(
    etcd_server: EtcdCluster, prefix: str
) -> None:
    with EtcdStorage(etcd_server.endpoints, prefix, page_size=3) as s:
        for i in range(10):
            s.create(f"k{i:02}", obj(f"k{i:02}"))
        expected = s.list()  # (paged too) the state before the concurrent writes
        real_range = s._client.range
        pages = 0

        def range_then_write(*args: Any, **kwargs: Any) -> Any:
            nonlocal pages
            resp = real_range(*args, **kwargs)
            pages += 1
            if pages == 1:  # between the first and the second page, the store changes
                s.delete("k09")
                s.create("k05a", obj("k05a"))
            return resp

        s._client.range = range_then_write  # type: ignore[method-assign]
        got = s.list()
        assert pages == 4
        assert got == expected
        assert [o["metadata"]["name"] for o in got.items] == [f"k{i:02}" for i in range(10)]


def test_a_paged_list_whose_revision_is_compacted_starts_again(
    etcd_server: EtcdCluster, prefix: str
) -> None:
    with EtcdStorage(etcd_server.endpoints, prefix, page_size=2) as s:
        for i in range(5):
            s.create(f"k{i}", obj(f"k{i}"))
        real_range = s._client.range
        calls = 0

        def range_then_compact(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            resp = real_range(*args, **kwargs)
            calls += 1
            if calls == 1:
                s.delete("k0")
                s.compact(s.revision())  # the first page's revision is gone
            return resp

        s._client.range = range_then_compact  # type: ignore[method-assign]
        got = s.list()
        assert [o["metadata"]["name"] for o in got.items] == ["k1", "k2", "k3", "k4"]
        assert got.resource_version == str(s.revision())


# ---------------------------------------------------------------------- values that are garbage


def test_unreadable_values_are_reported_and_skipped_by_list(
    etcd_server: EtcdCluster, store: EtcdStorage, caplog: pytest.LogCaptureFixture
) -> None:
    store.create("good", obj("good"))
    raw_put(etcd_server, store.prefix + "bad-json", b"{not json")
    raw_put(etcd_server, store.prefix + "no-metadata", b'{"spec": 1}')
    raw_put(etcd_server, store.prefix + "binary", b"\xff\xfe")
    with caplog.at_level(logging.WARNING, logger="goprims.storage.etcd"):
        items = store.list().items
    assert [o["metadata"]["name"] for o in items] == ["good"]
    warned = caplog.text
    assert all(k in warned for k in ("bad-json", "no-metadata", "binary"))
    with pytest.raises(CorruptObject):
        store.get("bad-json")
    with pytest.raises(CorruptObject):
        store.guaranteed_update("bad-json", lambda cur: cur)
    store.delete("bad-json")  # garbage can be cleaned up
    with pytest.raises(NotFound):
        store.get("bad-json")


def test_a_watch_treats_unreadable_values_as_absent(
    etcd_server: EtcdCluster, store: EtcdStorage, caplog: pytest.LogCaptureFixture
) -> None:
    p = store.prefix
    w = store.watch("", str(store.revision()))
    try:
        with caplog.at_level(logging.WARNING, logger="goprims.storage.etcd"):
            raw_put(etcd_server, p + "g", b"garbage")  # created unreadable: invisible
            store.create("a", obj("a"))
            raw_put(etcd_server, p + "a", b"[1, 2]")  # a known object turns unreadable: gone
            raw_put(etcd_server, p + "g", b'{"metadata": {"name": "g"}}')  # becomes readable
            store.delete("a")  # deleting the unreadable value: invisible
            store.create("z", obj("z"))
            got = next_events(w, 4)
        assert names(got) == [("ADDED", "a"), ("DELETED", "a"), ("ADDED", "g"), ("ADDED", "z")]
        assert "garbage" not in repr(got)
        assert caplog.text.count("skipped") >= 2
    finally:
        w.stop()


def test_an_informer_skips_unreadable_values_and_keeps_going(
    etcd_server: EtcdCluster, store: EtcdStorage
) -> None:
    store.create("a", obj("a"))
    raw_put(etcd_server, store.prefix + "bad", b"not json")
    with InformerHarness(store, "") as inf:
        assert inf.wait_for_cache(contents(store, ""), WAIT)
        raw_put(etcd_server, store.prefix + "bad2", b"{")
        raw_put(etcd_server, store.prefix + "a", b"{")
        store.create("b", obj("b"))
        assert inf.wait_for_cache(contents(store, ""), WAIT)
        assert set(inf.cache()) == {"b"}
        assert inf.lists == 1  # no relist was needed: the watch never failed


# ------------------------------------------------------------- compaction under a running informer


def test_compaction_during_a_watch_makes_the_informer_relist_and_match_etcd(
    etcd_server: EtcdCluster, store: EtcdStorage
) -> None:
    for i in range(5):
        store.create(f"o{i}", obj(f"o{i}", n=0))
    with TcpProxy(etcd_server.members[0].client_port) as proxy:
        via_proxy = EtcdStorage([proxy.endpoint, *etcd_server.endpoints], store.prefix)
        try:
            with InformerHarness(via_proxy, "") as inf:
                assert inf.wait_for_cache(contents(store, ""), WAIT)
                proxy.freeze()  # the informer's watch falls behind...
                store.delete("o0")
                store.update("o1", {**store.get("o1"), "n": 1})
                store.create("o5", obj("o5"))
                store.compact(store.revision())  # ...and what it missed is compacted away
                proxy.cut()
                expected = contents(store, "")
                assert inf.wait_until(lambda: inf.lists >= 2, 3 * WAIT), "no relist"
                assert inf.wait_for_cache(expected, WAIT), (inf.cache(), expected)
        finally:
            via_proxy.close()


# ------------------------------------------------------------------- a writer in another process

WRITER = textwrap.dedent(
    """
    import sys
    from goprims.storage.etcd import EtcdStorage

    endpoints, prefix, changes = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
    s = EtcdStorage(endpoints, prefix)
    live = {}
    for i in range(changes):
        name = f"obj-{i % 500:03}"
        if name not in live:
            live[name] = s.create(name, {"metadata": {"name": name}, "n": i})
        elif i % 7 == 0:
            s.delete(name)
            del live[name]
        else:
            live[name] = s.update(name, {**live[name], "n": i})
    s.close()
    print(len(live))
    """
)


def test_an_informer_follows_5000_changes_written_by_another_process(
    etcd_server: EtcdCluster, store: EtcdStorage, tmp_path: Path
) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with InformerHarness(store, "") as inf:
        assert inf.wait_for_cache({}, WAIT)
        proc = subprocess.run(
            [sys.executable, str(script), ",".join(etcd_server.endpoints), store.prefix, "5000"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        expected = contents(store, "")
        assert len(expected) == int(proc.stdout) > 0
        assert inf.wait_for_cache(expected, 60), "the informer's cache never matched etcd"
        assert inf.lists == 1  # followed by watching alone

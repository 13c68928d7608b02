"""Konfig on a real etcd: a change written by another process is visible through ``get()`` and
to every subscriber within 1 s; compaction does not stop it following (the forced-expiry case
is in test_konfig.py, on a gated watch)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("etcd_server")  # it is imported here before pytest loads the plugin
from etcd_server import EtcdCluster  # noqa: E402

from goprims.chan import Chan  # noqa: E402
from goprims.konfig import Konfig  # noqa: E402
from goprims.storage.etcd import EtcdStorage  # noqa: E402

pytest_plugins = ["etcd_server"]
pytestmark = pytest.mark.etcd

REPO = Path(__file__).resolve().parent.parent
KEY = "configmaps/default/app"
WAIT = 10.0

WRITER = """
import sys
from goprims.konfig import Konfig
from goprims.storage.etcd import EtcdStorage

endpoints, prefix, value = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
with EtcdStorage(endpoints, prefix) as storage, Konfig(storage, "configmaps/default/app") as k:
    print(k.set({"workers": value, "log": {"level": int(value)}}), flush=True)
"""


@pytest.fixture
def store(etcd_server: EtcdCluster) -> Iterator[EtcdStorage]:
    s = EtcdStorage(etcd_server.endpoints, f"/konfig-tests/{uuid.uuid4().hex}/")
    yield s
    s.close()


def write_from_another_process(etcd_server: EtcdCluster, prefix: str, value: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", WRITER, ",".join(etcd_server.endpoints), prefix, value],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(out.stdout.strip())


def test_a_change_from_another_process_reaches_get_and_every_subscriber_within_1s(
    etcd_server: EtcdCluster, store: EtcdStorage
) -> None:
    with Konfig(store, KEY) as k:
        assert k.revision() == 0
        subs = [k.subscribe() for _ in range(4)]
        seen: Chan[tuple[int, float]] = Chan(None)

        def watch(ch: Chan[int]) -> None:
            for rev in ch:
                seen.send((rev, time.monotonic()))

        ts = [threading.Thread(target=watch, args=(ch,)) for ch in subs]
        for t in ts:
            t.start()
        rev = write_from_another_process(etcd_server, store.prefix, "7")
        written = time.monotonic()  # the writer has exited: the change is in etcd
        arrivals = []
        for _ in subs:
            got, at = seen.recv(timeout=WAIT)
            assert got == rev
            arrivals.append(at)
        assert k.get("workers") == ("7", rev)
        assert k.get_int("log", "level") == (7, rev)
        assert max(arrivals) - written <= 1.0
    for t in ts:  # close() closed the subscriptions
        t.join(WAIT)


def test_konfig_keeps_following_after_etcd_compaction(
    etcd_server: EtcdCluster, store: EtcdStorage
) -> None:
    with Konfig(store, KEY) as k:
        ch = k.subscribe()
        rv1 = k.set({"a": "1"})
        while ch.recv(timeout=WAIT) != rv1:
            pass
        # Compact past everything, then write again: the konfig's informer must keep following
        # (a watch that falls behind the compaction point is relisted).
        store.compact(store.revision())
        rv2 = write_from_another_process(etcd_server, store.prefix, "2")
        while ch.recv(timeout=WAIT) != rv2:
            pass
        assert k.get("workers") == ("2", rv2)

"""EtcdStorage on a three-member etcd cluster on loopback: a member killed and restarted under
churn, while an informer given every endpoint keeps its cache equal to etcd's contents."""

from __future__ import annotations

import random
import threading

import pytest

from goprims.storage import AlreadyExists, Conflict, NotFound
from goprims.storage.etcd import EtcdStorage, StorageUnavailable

pytest.register_assert_rewrite("etcd_server")  # it is imported here before pytest loads the plugin
from etcd_server import EtcdCluster, InformerHarness, contents  # noqa: E402

pytest_plugins = ["etcd_server"]
pytestmark = pytest.mark.etcd

PREFIX = "/cluster-test/"


class Churn:
    """A writer thread making random creates, updates and deletes on 40 keys until stopped.

    Writes that fail because a member is down (:class:`StorageUnavailable`, possibly applied) or
    that lose a race with the writer's own ambiguous earlier write are counted and skipped.
    ``wait_writes(n)`` waits, woken by the writer, until ``n`` more writes have succeeded.
    """

    def __init__(self, storage: EtcdStorage) -> None:
        self.storage = storage
        self._cond = threading.Condition()
        self.ok = 0  # guarded by _cond
        self.failed = 0  # guarded by _cond
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-churn")
        self._rng = random.Random(7)

    def _one(self) -> None:
        name = f"o{self._rng.randrange(40):02}"
        op = self._rng.random()
        s = self.storage
        if op < 0.4:
            s.create(name, {"metadata": {"name": name}, "n": 0})
        elif op < 0.85:
            s.guaranteed_update(name, lambda cur: {**cur, "n": cur["n"] + 1})
        else:
            s.delete(name)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._one()
            except (AlreadyExists, NotFound):
                pass  # the key was not in the state this op needs: not a write
            except (StorageUnavailable, Conflict):
                with self._cond:
                    self.failed += 1
                continue
            else:
                with self._cond:
                    self.ok += 1
                    self._cond.notify_all()

    def wait_writes(self, n: int, timeout: float) -> bool:
        with self._cond:
            target = self.ok + n
            return self._cond.wait_for(lambda: self.ok >= target, timeout)

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def cluster(etcd_cluster3: EtcdCluster) -> EtcdCluster:
    return etcd_cluster3


def test_an_informer_on_every_endpoint_rides_out_a_member_kill_and_restart_under_churn(
    cluster: EtcdCluster,
) -> None:
    endpoints = cluster.endpoints
    writer = EtcdStorage(endpoints, PREFIX, connect_timeout=1.0, request_timeout=3.0)
    reader = EtcdStorage(endpoints, PREFIX, connect_timeout=1.0, request_timeout=3.0)
    try:
        with InformerHarness(reader, "") as inf:
            assert inf.wait_for_cache({}, 10)
            with Churn(writer) as churn:
                assert churn.wait_writes(150, 20)
                cluster.kill(0)  # the member every client, and the informer's watch, prefers
                assert churn.wait_writes(150, 30), "writes did not resume on the other members"
                cluster.restart(0)
                assert churn.wait_writes(150, 20)
            expected = contents(writer, "")
            assert len(expected) > 0
            assert inf.wait_for_cache(expected, 30), "the informer's cache never matched etcd"
    finally:
        writer.close()
        reader.close()
    # The restarted member caught up: a client of that member alone sees the same contents.
    with EtcdStorage(endpoints[0], PREFIX) as only_m0:
        assert contents(only_m0, "") == expected


def test_a_watch_on_a_member_that_lost_quorum_fails_instead_of_hanging(
    cluster: EtcdCluster,
) -> None:
    # Watches ask etcd to require a leader, so a member cut off from its quorum cancels them
    # ("no leader") rather than serving a stream on which nothing will ever arrive.
    with EtcdStorage(cluster.endpoints[0], PREFIX, request_timeout=3.0) as s:
        w = s.watch("", "")
        w.MAX_REOPEN_ATTEMPTS = 2  # give up after one retry (the default backs off ~4 s)
        s.create("a", {"metadata": {"name": "a"}})
        assert w.next_event(timeout=10) is not None
        cluster.kill(1)
        cluster.kill(2)
        with pytest.raises(StorageUnavailable, match="no endpoint kept a watch open"):
            w.next_event(timeout=30)
        with pytest.raises(StorageUnavailable, match="no leader"):
            s.get("a")

"""EtcdStorage against an etcd with auth enabled (issue 17 item 5): username and password, a
token on every request and watch, renewed when etcd stops accepting it (expired, or never
valid), the refused request retried once; wrong or missing credentials fail clearly."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from goprims.storage import AuthenticationFailed, EtcdError, NotFound
from goprims.storage.etcd import EtcdStorage, EtcdWatch
from goprims.watch import EventType

pytest.register_assert_rewrite("etcd_server")  # it is imported here before pytest loads the plugin

from etcd_server import EtcdCluster, require_etcd  # noqa: E402

pytestmark = pytest.mark.etcd

TOKEN_TTL = 1  # seconds: etcd's --auth-token-ttl, so that a test can outlive a token
ROOT_PASSWORD = "root-pw"


def gateway(endpoint: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token
    try:
        conn.request("POST", path, json.dumps(body), headers)
        resp = conn.getresponse()
        answer = json.loads(resp.read() or b"{}")
        assert resp.status == 200, answer
        return answer
    finally:
        conn.close()


@pytest.fixture(scope="module")
def auth_etcd() -> Iterator[str]:
    """One etcd member with auth enabled: user root (role root), and user 'nobody' without any
    role; tokens expire after TOKEN_TTL idle seconds."""
    require_etcd()
    with EtcdCluster(1, extra_args=("--auth-token-ttl", str(TOKEN_TTL))) as cluster:
        ep = cluster.endpoints[0]
        gateway(ep, "/v3/auth/user/add", {"name": "root", "password": ROOT_PASSWORD})
        gateway(ep, "/v3/auth/user/grant", {"user": "root", "role": "root"})
        gateway(ep, "/v3/auth/enable", {})
        token = gateway(ep, "/v3/auth/authenticate", {"name": "root", "password": ROOT_PASSWORD})
        gateway(ep, "/v3/auth/user/add", {"name": "nobody", "password": "pw"}, token["token"])
        yield ep


@pytest.fixture
def storage(auth_etcd: str) -> Iterator[EtcdStorage]:
    with EtcdStorage(
        auth_etcd, f"/auth-{uuid.uuid4().hex}/", username="root", password=ROOT_PASSWORD
    ) as s:
        yield s


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"n": 1}}


def test_a_storage_with_credentials_reads_writes_lists_and_deletes(storage: EtcdStorage) -> None:
    created = storage.create("a", pod("a"))
    assert storage.get("a") == created
    assert [o["metadata"]["name"] for o in storage.list("").items] == ["a"]
    storage.delete("a")
    with pytest.raises(NotFound):
        storage.get("a")


def test_wrong_credentials_raise_authentication_failed(auth_etcd: str) -> None:
    with (
        EtcdStorage(auth_etcd, "/x/", username="root", password="wrong") as s,
        pytest.raises(AuthenticationFailed, match="root"),
    ):
        s.get("a")


def test_no_credentials_for_an_etcd_that_requires_them_raise_authentication_failed(
    auth_etcd: str,
) -> None:
    with (
        EtcdStorage(auth_etcd, "/x/") as s,
        pytest.raises(AuthenticationFailed, match="requires authentication"),
    ):
        s.list("")


def test_a_username_without_a_password_is_refused_at_construction(auth_etcd: str) -> None:
    with pytest.raises(ValueError, match="username and password"):
        EtcdStorage(auth_etcd, "/x/", username="root")


def test_a_token_etcd_refuses_is_renewed_and_the_write_applied_exactly_once(
    storage: EtcdStorage,
) -> None:
    storage._client._token = "stale-token"  # what an expired or lost token looks like to etcd
    storage.create("a", pod("a"))
    assert storage._client._token not in (None, "stale-token")
    assert [o["metadata"]["name"] for o in storage.list("").items] == ["a"]


def test_an_expired_token_is_renewed_after_the_ttl(storage: EtcdStorage) -> None:
    storage.create("a", pod("a"))
    first = storage._client._token
    # Waiting out etcd's own token TTL (checked about every second): there is no event to
    # await for a server-side expiry.
    time.sleep(TOKEN_TTL + 2.0)
    assert storage.get("a")["metadata"]["name"] == "a"
    assert storage._client._token not in (None, first)


def test_concurrent_callers_with_a_refused_token_authenticate_once(
    storage: EtcdStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.create("a", pod("a"))
    client = storage._client
    calls: list[int] = []
    real = client._authenticate

    def counting(credentials: tuple[str, str]) -> str:
        calls.append(1)
        return real(credentials)

    monkeypatch.setattr(client, "_authenticate", counting)
    client._token = "stale-token"
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def reader() -> None:
        try:
            barrier.wait(10)
            storage.get("a")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert calls == [1]


def test_a_watch_opened_with_a_refused_token_renews_it_and_delivers(storage: EtcdStorage) -> None:
    rv = storage.list("").resource_version
    storage._client._token = "stale-token"
    with storage.watch("", rv) as w:
        storage.create("a", pod("a"))
        ev = w.next_event(timeout=10)
    assert ev is not None
    assert ev.type == EventType.ADDED
    assert ev.object["metadata"]["name"] == "a"


def test_a_user_without_permission_gets_an_error_from_reads_and_watches(auth_etcd: str) -> None:
    with EtcdStorage(auth_etcd, "/x/", username="nobody", password="pw") as s:
        with pytest.raises(EtcdError, match="permission denied"):
            s.list("")
        # A watch etcd cancels with "permission denied" renews its token once, then ends with
        # the error instead of reopening forever.
        with (
            EtcdWatch(s._client, b"/x/", b"/x0", 2, []) as w,
            pytest.raises(EtcdError, match="permission denied"),
        ):
            w.next_event(timeout=10)

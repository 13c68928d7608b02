"""Konfig on the in-memory storage: the origin's interface (nested gets with a revision, typed
getters, typed registration, env mounting, YAML values), subscriptions, parse failures that keep
the last good value, dropped and expired watches, lock-free readers, and each of the origin's
five quirks (origin-designs-and-sync.md §1.7) pinned as fixed."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from goprims import KonfigValueError as TopLevelKonfigValueError
from goprims.chan import Chan
from goprims.konfig import NOT_FOUND, PARSE_FAILED, Konfig, KonfigValueError
from goprims.konfig.convert import go_float, to_bool, to_float, to_int, to_str
from goprims.storage import MemoryStorage

KEY = "configmaps/default/app"
WAIT = 10.0  # an upper bound for something that is certainly coming


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def konfig(storage: MemoryStorage) -> Iterator[Konfig]:
    with Konfig(storage, KEY) as k:
        yield k


def wait_revision(k: Konfig, rev: int) -> None:
    """Block (on a subscription, not by polling) until ``k`` has applied revision ``rev``."""
    ch = k.subscribe()
    try:
        while k.revision() != rev:
            got = ch.recv(timeout=WAIT)
            if got == rev:
                break
    finally:
        k.unsubscribe(ch)
    assert k.revision() == rev


def write(k: Konfig, data: dict[str, Any]) -> int:
    rv = k.set(data)
    wait_revision(k, rv)
    return rv


# ------------------------------------------------------------------------------ basics


def test_absent_object_reads_revision_0_and_not_found(konfig: Konfig) -> None:
    # origin quirk 3: Revision() panicked before the first event; here it is 0
    assert konfig.revision() == 0
    assert konfig.get() == (None, NOT_FOUND)
    assert konfig.get("a", "b") == (None, NOT_FOUND)
    assert konfig.get_int("a") == (0, NOT_FOUND)
    assert konfig.get_bool("a") == (False, NOT_FOUND)
    assert konfig.get_float("a") == (0.0, NOT_FOUND)
    assert konfig.get_str("a") == ("", NOT_FOUND)


def test_set_creates_the_object_then_replaces_its_data(
    konfig: Konfig, storage: MemoryStorage
) -> None:
    rv1 = write(konfig, {"a": "1", "b": "two"})
    assert storage.get(KEY)["metadata"]["name"] == "app"
    assert konfig.get("a") == ("1", rv1)
    rv2 = write(konfig, {"a": "3"})
    assert rv2 > rv1
    assert konfig.get("a") == ("3", rv2)
    assert konfig.get("b") == (None, NOT_FOUND)  # data is replaced, not merged
    assert konfig.set({"a": "3"}) == rv2  # nothing changed: nothing written


def test_yaml_values_are_walked_by_nested_keys(konfig: Konfig) -> None:
    rv = write(
        konfig,
        {
            "key1": "---\nkey3:\n  key5: 0.9\n",
            "key2": "---\nkey4:\n  key6: false\n  list: [1, 2]\n",
            "plain": "--- not yaml: no newline after the marker",
        },
    )
    assert konfig.get_float("key1", "key3", "key5") == (0.9, rv)
    assert konfig.get_bool("key2", "key4", "key6") == (False, rv)
    assert konfig.get("key2", "key4", "list") == ((1, 2), rv)
    assert konfig.get("key2", "key4", "list", 1) == (2, rv)  # type: ignore[arg-type]
    assert konfig.get("plain") == ("--- not yaml: no newline after the marker", rv)
    assert konfig.get("key1", "nope") == (None, NOT_FOUND)
    assert konfig.get("plain", "x") == (None, NOT_FOUND)  # a string has no keys


def test_set_stores_non_string_values_as_yaml(konfig: Konfig, storage: MemoryStorage) -> None:
    rv = write(konfig, {"log": {"level": 3, "stderr": True}, "n": 5, "s": "x"})
    data = storage.get(KEY)["data"]
    assert data["log"].startswith("---\n")
    assert data["s"] == "x"
    assert konfig.get("log", "level") == (3, rv)
    assert konfig.get("n") == (5, rv)


def test_set_rejects_what_is_not_a_str_keyed_mapping(konfig: Konfig) -> None:
    with pytest.raises(TypeError, match="needs a mapping"):
        konfig.set([("a", "b")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be str"):
        konfig.set({1: "b"})  # type: ignore[dict-item]


def test_values_handed_to_readers_are_read_only(konfig: Konfig) -> None:
    write(konfig, {"m": "---\na:\n  b: [1]\n"})
    whole, _ = konfig.get()
    m, _ = konfig.get("m")
    with pytest.raises(TypeError):
        whole["x"] = 1
    with pytest.raises(TypeError):
        m["a"]["c"] = 2
    assert isinstance(m["a"]["b"], tuple)


def test_yaml_keys_are_strings_as_the_origin_reads_them_through_json(konfig: Konfig) -> None:
    rv = write(konfig, {"m": "---\n2: two\ntrue: yes-key\n"})
    assert konfig.get("m", "2") == ("two", rv)
    assert konfig.get("m", "true") == ("yes-key", rv)


def test_other_objects_under_a_longer_key_are_ignored(
    konfig: Konfig, storage: MemoryStorage
) -> None:
    storage.create(KEY + "2", {"metadata": {"name": "app2"}, "data": {"a": "wrong"}})
    storage.create(KEY + "/sub", {"metadata": {"name": "sub"}, "data": {"a": "wrong"}})
    rv = write(konfig, {"a": "right"})
    assert konfig.get("a") == ("right", rv)


def test_deleting_the_object_resets_to_revision_0_and_tells_subscribers(
    konfig: Konfig, storage: MemoryStorage
) -> None:
    write(konfig, {"a": "1"})
    ch = konfig.subscribe()
    storage.delete(KEY)
    assert ch.recv(timeout=WAIT) == 0
    assert konfig.revision() == 0
    assert konfig.get("a") == (None, NOT_FOUND)
    rv = write(konfig, {"a": "2"})  # and it comes back
    assert konfig.get("a") == ("2", rv)


def test_an_existing_object_is_read_at_construction(storage: MemoryStorage) -> None:
    obj = storage.create(KEY, {"metadata": {"name": "app"}, "data": {"a": "x"}})
    with Konfig(storage, KEY) as k:
        assert k.get("a") == ("x", int(obj["metadata"]["resourceVersion"]))


def test_name_selects_the_object_explicitly(storage: MemoryStorage) -> None:
    storage.create("cm/x", {"metadata": {"name": "custom"}, "data": {"a": "x"}})
    with Konfig(storage, "cm/x", name="custom") as k:
        assert k.get("a")[0] == "x"
    with Konfig(storage, "cm/x") as k:  # the default name "x" does not match
        assert k.get("a") == (None, NOT_FOUND)


def test_construction_times_out_when_the_storage_cannot_be_listed() -> None:
    class Broken(MemoryStorage):
        def list(self, prefix: str = "", resource_version: str = "") -> Any:
            raise ConnectionError("down")

    with pytest.raises(TimeoutError, match=r"not listed within 0\.3 s"):
        Konfig(Broken(), KEY, sync_timeout=0.3)


def test_bad_key_is_rejected(storage: MemoryStorage) -> None:
    with pytest.raises(ValueError, match="non-empty str"):
        Konfig(storage, "")


def test_close_closes_subscriptions_and_reads_keep_the_last_snapshot(
    storage: MemoryStorage,
) -> None:
    k = Konfig(storage, KEY)
    rv = write(k, {"a": "1"})
    ch = k.subscribe()
    k.close()
    assert ch.recv_ok(timeout=WAIT) == (None, False)
    assert k.get("a") == ("1", rv)
    assert k.subscribe().recv_ok(timeout=WAIT) == (None, False)
    k.close()  # idempotent


def test_konfig_value_error_is_exported_from_goprims() -> None:
    assert TopLevelKonfigValueError is KonfigValueError


# ------------------------------------------------------------------------ subscriptions


def test_every_subscriber_sees_a_change(konfig: Konfig, storage: MemoryStorage) -> None:
    subs = [konfig.subscribe() for _ in range(5)]
    rv = konfig.set({"a": "1"})
    for ch in subs:
        assert ch.recv(timeout=WAIT) == rv
    assert konfig.get("a") == ("1", rv)


def test_a_slow_subscriber_gets_the_latest_revision_and_never_blocks_the_konfig(
    konfig: Konfig,
) -> None:
    slow = konfig.subscribe()
    last = 0
    for i in range(20):
        last = write(konfig, {"a": str(i)})  # each applied while slow reads nothing
    assert slow.recv(timeout=WAIT) == last  # the stale ones were replaced
    with pytest.raises(TimeoutError):
        slow.recv(timeout=0)


def test_unsubscribe_closes_the_channel(konfig: Konfig) -> None:
    ch = konfig.subscribe()
    konfig.unsubscribe(ch)
    assert ch.recv_ok(timeout=WAIT) == (None, False)
    konfig.unsubscribe(ch)  # unknown now: ignored
    write(konfig, {"a": "1"})


# ------------------------------------------------------------------- bad values, on_error


class Errors:
    def __init__(self) -> None:
        self.got: Chan[tuple[KonfigValueError, int]] = Chan(None)

    def __call__(self, exc: KonfigValueError, revision: int) -> None:
        self.got.send((exc, revision))


@pytest.fixture
def errors() -> Errors:
    return Errors()


def test_an_invalid_yaml_value_keeps_the_last_good_one_and_is_reported(
    storage: MemoryStorage, errors: Errors, caplog: pytest.LogCaptureFixture
) -> None:
    with Konfig(storage, KEY, on_error=errors) as k:
        rv1 = write(k, {"log": "---\nlevel: 1\n", "other": "x"})
        with caplog.at_level(logging.ERROR, logger="goprims.konfig"):
            rv2 = write(k, {"log": "---\nlevel: [unclosed\n", "other": "y"})
        exc, rev = errors.got.recv(timeout=WAIT)
        assert rev == rv2 > rv1
        assert exc.keys == ("log",)
        assert exc.revision == rv2
        assert exc.__cause__ is not None
        assert k.get("log", "level") == (1, rv2)  # the last good value stays
        assert k.get("other") == ("y", rv2)  # the other keys move on
        assert "not valid YAML" in caplog.text
        assert "keeping the last good value" in caplog.text
        rv3 = write(k, {"log": "---\nlevel: 2\n"})
        assert k.get("log", "level") == (2, rv3)  # and a good value is taken again


def test_an_invalid_yaml_value_without_a_good_one_is_missing(
    storage: MemoryStorage, errors: Errors
) -> None:
    with Konfig(storage, KEY, on_error=errors) as k:
        write(k, {"log": "---\n: : :\n  - [\n"})
        assert errors.got.recv(timeout=WAIT)[0].keys == ("log",)
        assert k.get("log") == (None, NOT_FOUND)


def test_a_non_string_data_value_is_reported_and_skipped(
    storage: MemoryStorage, errors: Errors
) -> None:
    with Konfig(storage, KEY, on_error=errors) as k:
        body: dict[str, Any] = {"metadata": {"name": "app"}, "data": {"a": 1, "b": "ok"}}
        obj = storage.create(KEY, body)
        wait_revision(k, int(obj["metadata"]["resourceVersion"]))
        assert "not a str" in str(errors.got.recv(timeout=WAIT)[0])
        assert k.get("a") == (None, NOT_FOUND)
        assert k.get("b")[0] == "ok"


def test_on_error_raising_is_logged_and_the_konfig_goes_on(
    storage: MemoryStorage, caplog: pytest.LogCaptureFixture
) -> None:
    def bad(exc: KonfigValueError, rev: int) -> None:
        raise RuntimeError("callback broke")

    with Konfig(storage, KEY, on_error=bad) as k, caplog.at_level(logging.ERROR):
        write(k, {"a": "---\n[\n"})
        rv = write(k, {"a": "fine"})
        assert k.get("a") == ("fine", rv)
    assert "on_error raised" in caplog.text


def test_on_error_may_close_the_konfig(storage: MemoryStorage) -> None:
    # on_error runs on the informer's listener thread: close() must not wait for that thread
    # (it did, forever), and nothing after the close is applied.
    closed: Chan[None] = Chan(1)
    k: Konfig

    def close_on_error(exc: KonfigValueError, rev: int) -> None:
        k.close()
        closed.send(None)

    k = Konfig(storage, KEY, on_error=close_on_error)
    write(k, {"a": "1"})
    bad = k.set({"a": "---\n[\n"})
    closed.recv(timeout=WAIT)  # returned from close() inside on_error
    k.set({"a": "2"})  # written, but the konfig no longer follows
    assert k.subscribe().recv_ok(timeout=WAIT) == (None, False)
    assert k.get("a") == ("1", bad)  # the last good value, at the bad revision
    k.close()  # idempotent


# ----------------------------------------------------------------------- typed getters


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (0.5, True),
        (0.0, False),
        ("true", True),
        ("TrUe", True),
        ("false", False),
        ("FaLsE", False),  # origin quirk 5: its comment claims "FaLsE is true"
        ("1", True),
        ("0", False),
        ("-2.5", True),
        ("0.0", False),
    ],
)
def test_to_bool_converts_as_the_origin(raw: Any, expected: bool) -> None:
    assert to_bool(raw) is expected


@pytest.mark.parametrize("raw", ["yes", "", " 1", "1_0", None, (1,)])
def test_to_bool_rejects(raw: Any) -> None:
    with pytest.raises(ValueError, match=r"cannot convert|not a number"):
        to_bool(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (7, 7),
        (2.9, 2),
        (-2.9, -2),
        (True, 1),
        (False, 0),
        ("true", 1),
        ("FALSE", 0),
        ("42", 42),
        ("-42", -42),
        ("+3", 3),
        ("2.9", 2),
        ("1e3", 1000),
        ("0x10p0", 16),
        ("123456789012345678901234567890", 123456789012345678901234567890),  # exact
    ],
)
def test_to_int_converts_as_the_origin(raw: Any, expected: int) -> None:
    assert to_int(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "nan", "inf", float("inf"), float("nan"), None, ()])
def test_to_int_rejects(raw: Any) -> None:
    with pytest.raises(ValueError, match=r"cannot convert|not a number"):
        to_int(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, 1.0), (2.5, 2.5), ("2.5", 2.5), ("-1e-3", -0.001), ("Inf", float("inf"))],
)
def test_to_float_converts_as_the_origin(raw: Any, expected: float) -> None:
    assert to_float(raw) == expected


@pytest.mark.parametrize("raw", [True, "x", None, "1 "])
def test_to_float_rejects(raw: Any) -> None:
    # a bool does not convert to a float in the origin either
    with pytest.raises(ValueError, match=r"cannot convert|not a number"):
        to_float(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s", "s"),
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (0.9, "0.9"),
        (1.0, "1"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1.5e-05, "1.5e-05"),
        (0.0001, "0.0001"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
        (None, ""),
        ({"a": (1, 2)}, '{"a": [1, 2]}'),
    ],
)
def test_to_str_prints_as_go_percent_v(raw: Any, expected: str) -> None:
    assert to_str(raw) == expected


def test_go_float_round_trips() -> None:
    for f in (0.1, 1 / 3, 2.5e-300, 1.7976931348623157e308, 5e-324, 123.456, -7.0):
        assert float(go_float(f)) == f


def test_typed_getters_through_the_konfig(konfig: Konfig) -> None:
    rv = write(
        konfig,
        {
            "flag": "TRUE",
            "port": "8080",
            "ratio": "0.25",
            "y": "---\nn: 2.75\nb: 0\ns: [a]\n",
            "word": "many",
        },
    )
    assert konfig.get_bool("flag") == (True, rv)
    assert konfig.get_int("port") == (8080, rv)
    assert konfig.get_float("ratio") == (0.25, rv)
    assert konfig.get_int("y", "n") == (2, rv)
    assert konfig.get_bool("y", "b") == (False, rv)
    assert konfig.get_str("y", "n") == ("2.75", rv)
    assert konfig.get_str("y", "s") == ('["a"]', rv)
    assert konfig.get_int("word") == (0, PARSE_FAILED)
    assert konfig.get_bool("word") == (False, PARSE_FAILED)
    assert konfig.get_float("flag") == (0.0, PARSE_FAILED)


def test_get_bool_documents_false_as_false() -> None:
    # origin quirk 5: the origin's GetBool comment says "ignore case FaLsE is true"
    doc = Konfig.get_bool.__doc__ or ""
    assert '"FaLsE" is false' in doc
    assert "is true" not in doc.replace("non-zero is true", "")


# ------------------------------------------------------------------------- registration


@dataclass
class Log:
    level: int
    also_to_stderr: bool = field(default=False, metadata={"konfig": "alsoToStderr"})


@dataclass
class Server:
    port: int
    hosts: list[str]
    log: Log
    timeout: float | None = None
    tags: dict[str, int] = field(default_factory=dict)


def test_register_a_dataclass_decodes_weakly_and_redecodes_on_change(
    konfig: Konfig,
) -> None:
    rv1 = write(
        konfig,
        {
            "server": "---\nport: '8080'\nhosts: [a, b]\nlog:\n  level: 2\n"
            "  alsoToStderr: 'true'\ntags: {x: '1'}\nunknown: ignored\n"
        },
    )
    value, rev = konfig.register(Server, "server")
    assert rev == rv1
    assert value == Server(8080, ["a", "b"], Log(2, True), None, {"x": 1})
    assert konfig.get("server") == (value, rv1)  # get returns the typed value now
    assert konfig.get("server", "port") == ("8080", rv1)  # deeper keys still walk the data
    assert konfig.get_int("server", "port") == (8080, rv1)  # typed getters read the data
    rv2 = write(konfig, {"server": "---\nport: 9090\nhosts: []\nlog: {level: 1}\ntimeout: 1.5\n"})
    assert konfig.get("server") == (Server(9090, [], Log(1), 1.5), rv2)


def test_register_the_root_with_a_callable(konfig: Konfig) -> None:
    rv = write(konfig, {"a": "1", "b": "---\nc: 2\n"})
    value, rev = konfig.register(lambda d: sorted(d))
    assert (value, rev) == (["a", "b"], rv)
    assert konfig.get() == (["a", "b"], rv)


def test_register_before_the_value_exists_then_it_appears(konfig: Konfig) -> None:
    assert konfig.register(Log, "log") == (None, NOT_FOUND)
    assert konfig.get("log") == (None, NOT_FOUND)
    rv = write(konfig, {"log": "---\nlevel: 4\n"})
    assert konfig.get("log") == (Log(4), rv)


def test_a_registered_value_that_stops_decoding_keeps_the_last_good_one(
    storage: MemoryStorage, errors: Errors
) -> None:
    with Konfig(storage, KEY, on_error=errors) as k:
        rv1 = write(k, {"log": "---\nlevel: 4\n"})
        assert k.register(Log, "log") == (Log(4), rv1)
        rv2 = write(k, {"log": "---\nlevel: high\n"})
        exc, rev = errors.got.recv(timeout=WAIT)
        assert (exc.keys, rev) == (("log",), rv2)
        assert "does not decode" in str(exc)
        assert k.get("log") == (Log(4), rv2)


def test_register_a_value_that_does_not_decode_reports_parse_failed(
    storage: MemoryStorage, errors: Errors
) -> None:
    with Konfig(storage, KEY, on_error=errors) as k:
        write(k, {"log": "---\nnolevel: 1\n"})
        assert k.register(Log, "log") == (None, PARSE_FAILED)
        assert "missing required entry 'level'" in str(errors.got.recv(timeout=WAIT)[0])
        rv = write(k, {"log": "---\nlevel: 1\n"})  # the registration stayed
        assert k.get("log") == (Log(1), rv)


def test_register_rejects_what_cannot_decode(konfig: Konfig) -> None:
    with pytest.raises(TypeError, match="dataclass type or a callable"):
        konfig.register(3, "x")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("port: x\nhosts: []\nlog: {level: 1}\n", "not a number"),
        ("port: 1\nhosts: a\nlog: {level: 1}\n", "expected a list"),
        ("port: 1\nhosts: []\nlog: 3\n", "expected a mapping for Log"),
        ("port: 1\nhosts: []\nlog: {level: 1}\ntags: {a: b}\n", "at tags.a"),
        ("- 1\n", "expected a mapping for Server"),
    ],
)
def test_decoding_errors_name_the_entry(
    storage: MemoryStorage, errors: Errors, yaml_text: str, message: str
) -> None:
    with Konfig(storage, KEY, on_error=errors) as k:
        write(k, {"server": "---\n" + yaml_text})
        assert k.register(Server, "server") == (None, PARSE_FAILED)
        assert message in str(errors.got.recv(timeout=WAIT)[0])


def test_deleting_the_object_drops_registered_values(
    konfig: Konfig, storage: MemoryStorage
) -> None:
    write(konfig, {"log": "---\nlevel: 4\n"})
    konfig.register(Log, "log")
    storage.delete(KEY)
    wait_revision(konfig, 0)
    assert konfig.get("log") == (None, NOT_FOUND)


# ------------------------------------------------------------------------------ env mount


@pytest.fixture
def env_prefix() -> Iterator[str]:
    p = "KONFIG_TEST_" + uuid.uuid4().hex[:8].upper() + "_"
    yield p
    for name in [n for n in os.environ if n.startswith(p)]:
        del os.environ[name]


def test_mount_env_sets_each_leaf_and_follows_changes(konfig: Konfig, env_prefix: str) -> None:
    a, b, c = env_prefix + "A", env_prefix + "B", env_prefix + "C"
    write(konfig, {"env": f"---\n{a}: 1\nnested:\n  {b}: true\n"})
    konfig.mount_env("env")
    assert os.environ[a] == "1"
    assert os.environ[b] == "true"
    write(konfig, {"env": f"---\n{a}: 2.5\n{c}: x\n"})
    assert os.environ[a] == "2.5"
    assert os.environ[c] == "x"
    assert b not in os.environ  # its leaf disappeared
    konfig.unmount_env()
    assert not [n for n in os.environ if n.startswith(env_prefix)]
    write(konfig, {"env": f"---\n{a}: 3\n"})
    assert a not in os.environ  # no longer mounted


def test_mount_env_of_a_plain_value_is_named_by_its_key(konfig: Konfig, env_prefix: str) -> None:
    name = env_prefix + "PLAIN"
    write(konfig, {name: "v"})
    konfig.mount_env(name)
    assert os.environ[name] == "v"
    konfig.unmount_env()
    assert name not in os.environ


def test_mount_and_unmount_racing_updates_leave_a_consistent_environment(
    konfig: Konfig, env_prefix: str
) -> None:
    # origin quirk 4: UnmountEnv reset an atomic.Value by plain assignment, racing MountEnv
    # and the update path. Here all three run under one lock.
    name = env_prefix + "V"
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            konfig.set({"env": f"---\n{name}: {i}\n"})
            i += 1

    def toggler() -> None:
        for _ in range(200):
            konfig.mount_env("env")
            konfig.unmount_env()

    w = threading.Thread(target=writer)
    ts = [threading.Thread(target=toggler) for _ in range(4)]
    w.start()
    for t in ts:
        t.start()
    for t in ts:
        t.join(WAIT * 3)
    stop.set()
    w.join(WAIT)
    assert name not in os.environ  # the last call was an unmount: nothing left behind
    konfig.mount_env("env")
    value, _ = konfig.get("env", name)
    assert os.environ[name] == to_str(value)
    konfig.unmount_env()


# -------------------------------------------------------------------- the origin's quirks


def test_revisions_are_compared_as_numbers_9_then_10(
    konfig: Konfig, storage: MemoryStorage
) -> None:
    # origin quirk 1: cm.ResourceVersion > c.rev compared strings, so "10" > "9" was false and
    # the update at revision 10 was dropped.
    i = 0
    while storage.revision() < 8:
        storage.create(f"filler/{i}", {"metadata": {"name": f"f{i}"}})
        i += 1
    assert write(konfig, {"a": "nine"}) == 9
    assert write(konfig, {"a": "ten"}) == 10
    assert konfig.get("a") == ("ten", 10)


def test_a_stale_or_repeated_event_is_ignored(konfig: Konfig) -> None:
    def cm(rv: str, a: str) -> dict[str, Any]:
        return {"metadata": {"name": "app", "resourceVersion": rv}, "data": {"a": a}}

    konfig._apply(cm("9", "nine"), deleted=False)
    konfig._apply(cm("10", "ten"), deleted=False)
    assert konfig.get("a") == ("ten", 10)
    konfig._apply(cm("9", "stale"), deleted=False)
    konfig._apply(cm("10", "again"), deleted=False)
    assert konfig.get("a") == ("ten", 10)
    konfig._apply(cm("x", "bad version"), deleted=False)
    assert konfig.get("a") == ("ten", 10)


class ProxyStorage:
    """A MemoryStorage whose watches the test can drop, or hold back (a gate) while the
    history they still have to deliver is compacted away."""

    def __init__(self, inner: MemoryStorage) -> None:
        self.inner = inner
        self.watches: Chan[GatedWatch] = Chan(None)
        self.gate = threading.Event()
        self.gate.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def watch(self, prefix: str = "", resource_version: str = "") -> GatedWatch:
        w = GatedWatch(self.inner.watch(prefix, resource_version), self.gate)
        self.watches.send(w)
        return w


class GatedWatch:
    def __init__(self, inner: Any, gate: threading.Event) -> None:
        self.inner = inner
        self.gate = gate

    def __iter__(self) -> Iterator[Any]:
        for ev in self.inner:
            self.gate.wait(WAIT)
            yield ev

    def stop(self) -> None:
        self.inner.stop()


def test_a_dropped_watch_is_reopened_and_changes_keep_coming(storage: MemoryStorage) -> None:
    # origin quirk 2: the clientset watch was never re-established after the server closed it
    proxy = ProxyStorage(storage)
    with Konfig(proxy, KEY) as k:
        rv1 = write(k, {"a": "1"})
        first = proxy.watches.recv(timeout=WAIT)
        first.stop()  # the server closes the stream
        second = proxy.watches.recv(timeout=WAIT)  # the informer reopened it
        assert second is not first
        rv2 = write(k, {"a": "2"})
        assert rv2 > rv1
        assert k.get("a") == ("2", rv2)


def test_a_watch_expired_by_compaction_is_survived(storage: MemoryStorage) -> None:
    proxy = ProxyStorage(storage)
    with Konfig(proxy, KEY) as k:
        write(k, {"a": "1"})
        proxy.watches.recv(timeout=WAIT)
        proxy.gate.clear()  # the konfig stops receiving
        k.set({"a": "2"})
        rv3 = k.set({"a": "3"})
        storage.compact(rv3)  # what the watch still had to deliver is gone
        proxy.gate.set()
        wait_revision(k, rv3)  # relisted after the expiry
        assert k.get("a") == ("3", rv3)
        assert proxy.watches.recv(timeout=WAIT) is not None  # a new watch was opened


# ------------------------------------------------------------------------- readers vs writer


def test_readers_always_see_a_consistent_snapshot_while_a_writer_changes_it(
    konfig: Konfig,
) -> None:
    # Each write sets n and n2 = 2n together; any (value, revision) read must pair values of
    # one write. Readers take no lock, so this is what copy-on-write must guarantee.
    stop = threading.Event()
    bad: list[Any] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            whole, rev = konfig.get()
            reads[0] += 1
            if rev > 0 and int(whole["n2"]) != 2 * int(whole["n"]):
                bad.append((whole, rev))

    write(konfig, {"n": "0", "n2": "0"})
    ts = [threading.Thread(target=reader) for _ in range(4)]
    for t in ts:
        t.start()
    for i in range(1, 100):
        konfig.set({"n": str(i), "n2": str(2 * i)})
    rv = write(konfig, {"n": "100", "n2": "200"})
    stop.set()
    for t in ts:
        t.join(WAIT)
    assert not bad
    assert reads[0] > 0
    assert konfig.get("n") == ("100", rv)

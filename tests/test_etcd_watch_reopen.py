"""EtcdWatch's reopening, against a scripted gateway client (no etcd needed): the back-off between
reopen attempts is the package's one Backoff and waits on the injected clock, a stop interrupts
it at once, a stream that worked makes the next reopen immediate, and too many failures end the
watch with StorageUnavailable."""

from __future__ import annotations

import base64
import json
import queue
import threading
from typing import Any

import pytest

from goprims.backoff import Backoff
from goprims.clock import FakeClock
from goprims.storage.errors import StorageUnavailable
from goprims.storage.etcd import EtcdWatch
from goprims.watch import EventType

BROKEN = None  # what a stream's read() returns once the connection is gone


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def created(name: str, rev: int) -> dict[str, Any]:
    """A gateway watch message with one PUT that created ``name`` at revision ``rev``."""
    value = json.dumps({"metadata": {"name": name}}).encode()
    kv = {
        "key": b64(name.encode()),
        "value": b64(value),
        "mod_revision": str(rev),
        "create_revision": str(rev),
    }
    return {"result": {"events": [{"kv": kv}]}}


class FakeStream:
    """A WatchStream whose messages are fed by the test; interrupt/close end it."""

    def __init__(self, endpoint: str, messages: list[Any]) -> None:
        self.endpoint = endpoint
        self.messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for m in messages:
            self.messages.put(m)

    def read(self) -> dict[str, Any] | None:
        msg: dict[str, Any] | None = self.messages.get()
        return msg

    def interrupt(self) -> None:
        self.messages.put(BROKEN)

    def close(self) -> None:
        self.interrupt()


class ScriptedClient:
    """An EtcdClient stand-in: each watch() takes the next scripted answer (a FakeStream to
    return or an exception to raise) and records the revision asked for."""

    endpoints = ["http://a", "http://b"]

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[int] = []
        self.cond = threading.Condition()

    def endpoint_index(self, url: str) -> int:
        return self.endpoints.index(url)

    def watch(
        self, key: bytes, range_end: bytes, start_revision: int, *, first: int | None = None
    ) -> Any:
        with self.cond:
            self.calls.append(start_revision)
            self.cond.notify_all()
            answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def wait_calls(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.calls) >= n, timeout=10), self.calls


def unavailable() -> StorageUnavailable:
    return StorageUnavailable("no endpoint")


def open_watch(client: ScriptedClient, clock: FakeClock) -> EtcdWatch:
    return EtcdWatch(client, b"k", b"l", 1, [], clock=clock)  # type: ignore[arg-type]


def test_reopen_attempts_wait_the_backoff_on_the_clock_then_give_up() -> None:
    clock = FakeClock()
    n = EtcdWatch.MAX_REOPEN_ATTEMPTS
    client = ScriptedClient([FakeStream("http://a", [BROKEN])] + [unavailable()] * n)
    w = open_watch(client, clock)
    client.wait_calls(2)  # the first reopen attempt is immediate
    # then 50 ms doubling to 1 s, each on the fake clock: nothing happens before it is stepped
    expected = Backoff(initial=0.05, cap=1.0, jitter=0.0, reset_after=None)
    for attempt in range(3, n + 2):
        delay = expected.next()
        clock.block_until_waiters(timeout=10)
        clock.step(delay * 0.99)
        assert len(client.calls) == attempt - 1
        clock.step(delay * 0.01 + 1e-9)
        client.wait_calls(attempt)
    with pytest.raises(StorageUnavailable, match=f"after {n} attempts"):
        w.next_event(timeout=10)
    assert client.calls == [1] * (n + 1)  # nothing was received: every attempt asks for rev 1
    w.stop()
    assert not clock.has_waiters()


def test_stop_interrupts_a_reopen_backoff_at_once() -> None:
    clock = FakeClock()
    client = ScriptedClient([FakeStream("http://a", [BROKEN]), unavailable()])
    w = open_watch(client, clock)
    client.wait_calls(2)
    clock.block_until_waiters(timeout=10)  # backing off before the second attempt
    w.stop()  # joins the reader thread: it must not wait for the clock
    assert w.next_event(timeout=0) is None
    assert not clock.has_waiters()
    assert len(client.calls) == 2


def test_a_stream_that_delivered_events_makes_the_next_reopen_immediate() -> None:
    clock = FakeClock()
    worked = FakeStream("http://b", [created("x", 5), BROKEN])
    client = ScriptedClient(
        [FakeStream("http://a", [BROKEN]), unavailable(), worked, FakeStream("http://a", [])]
    )
    w = open_watch(client, clock)
    client.wait_calls(2)
    clock.block_until_waiters(timeout=10)
    clock.step(0.05)  # the one back-off before the stream that works
    ev = w.next_event(timeout=10)
    assert ev is not None
    assert ev.type == EventType.ADDED
    client.wait_calls(4)  # reopened without the clock moving: the backoff was reset
    assert client.calls == [1, 1, 1, 6]  # resumes after the last revision received
    assert not clock.has_waiters()
    w.stop()


def test_a_stream_that_lived_over_a_second_of_the_clock_makes_the_next_reopen_immediate() -> None:
    clock = FakeClock()
    first = FakeStream("http://a", [])
    client = ScriptedClient([first, unavailable(), FakeStream("http://a", [])])
    w = open_watch(client, clock)
    clock.step(1.5)  # the stream lives 1.5 s of the clock, then breaks
    first.interrupt()
    client.wait_calls(2)  # immediate
    clock.block_until_waiters(timeout=10)
    clock.step(0.05)  # the second attempt backs off from the start again: 50 ms
    client.wait_calls(3)
    w.stop()

"""Helpers shared by the scheduling tests (tests/test_scheduling_*.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from goprims.clock import FakeClock
from goprims.scheduling import BackoffPriorityQueue


@dataclass(frozen=True)
class Job:
    """A schedulable thing: a name (its key) and a priority (higher pops first)."""

    name: str
    prio: int = 0
    labels: tuple[str, ...] = field(default=())


def job_key(j: Job) -> str:
    return j.name


def higher_prio_first(a: Job, b: Job) -> bool:
    return a.prio > b.prio


def new_queue(clock: FakeClock | None = None, **kwargs: Any) -> BackoffPriorityQueue[Job]:
    return BackoffPriorityQueue(
        job_key, higher_prio_first, clock=clock if clock is not None else FakeClock(), **kwargs
    )


def parked_poppers(q: BackoffPriorityQueue[Any]) -> int:
    return len(q._poppers)


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    """Yield the GIL until ``pred()`` holds (used only to know that a popper has parked)."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0)


class Bg:
    """Run ``fn()`` in a thread; keep its result or exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.result = fn()
            except BaseException as exc:
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)  # a hung call must not hang exit
        self.thread.start()

    def join(self, timeout: float = 10.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background call did not finish"
        if self.error is not None:
            raise self.error
        return self.result

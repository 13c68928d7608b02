"""goprims: Go's concurrency idioms and client-go's controller machinery for Python.

One object, every world: each blocking primitive works from threads, asyncio tasks and trio
tasks, and they may share the same object. The top level re-exports the core primitives and
every public exception.
"""

from __future__ import annotations

from goprims.chan import (
    Chan,
    ChanClosed,
    Recv,
    Selected,
    Send,
    Ticker,
    Timer,
    after,
    async_select,
    go,
    select,
)
from goprims.clock import Clock, FakeClock, RealClock

__all__ = [
    "Chan",
    "ChanClosed",
    "Clock",
    "FakeClock",
    "RealClock",
    "Recv",
    "Selected",
    "Send",
    "Ticker",
    "Timer",
    "after",
    "async_select",
    "go",
    "select",
]

__version__ = "0.1.0"

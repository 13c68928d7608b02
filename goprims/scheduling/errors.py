"""Public exceptions of :mod:`goprims.scheduling` (also importable from :mod:`goprims`)."""

from __future__ import annotations

__all__ = ["QueueClosed"]


class QueueClosed(RuntimeError):
    """:meth:`BackoffPriorityQueue.pop <goprims.scheduling.BackoffPriorityQueue.pop>` on a
    closed queue, including pops that were already blocked when it was closed."""

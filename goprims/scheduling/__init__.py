"""Scheduling primitives from kube-scheduler, for any job scheduler or reconcile loop.

* :class:`BackoffPriorityQueue`: a priority queue with a backoff tier and an event-gated
  parking tier, guarded against lost wake-ups by a cycle counter (``backend/queue``).
* :class:`ApprovalGate` and :class:`WaitingRegistry`: an N-party approval latch with per-party
  deadlines where the first decision wins (``framework/runtime/waiting_pods_map.go``).
* :class:`GenerationalMap` and :class:`Snapshot`: a map whose snapshot is brought up to date
  in O(changed entries) (``backend/cache/cache.go`` ``UpdateSnapshot``).
* :class:`AssumeCache`: optimistic reservations, assumed then confirmed or forgotten.

See ``docs/scheduling.md``. Everything time-dependent takes ``clock=``.
"""

from __future__ import annotations

from goprims.scheduling.approval_gate import ApprovalGate, Decision, WaitingRegistry
from goprims.scheduling.assume_cache import AssumeCache
from goprims.scheduling.backoff_queue import BackoffPriorityQueue, QueuedItem, backoff_duration
from goprims.scheduling.errors import QueueClosed
from goprims.scheduling.generational_map import GenerationalMap, Snapshot

__all__ = [
    "ApprovalGate",
    "AssumeCache",
    "BackoffPriorityQueue",
    "Decision",
    "GenerationalMap",
    "QueueClosed",
    "QueuedItem",
    "Snapshot",
    "WaitingRegistry",
    "backoff_duration",
]

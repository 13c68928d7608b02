"""The controller toolkit: what kube-controller-manager adds on top of informers and work queues.

* :class:`Expectations`, :class:`UIDTrackingExpectations`: per-key counts of creations and
  deletions still to be observed, so a controller does not act on a cache that has not caught up
  with its own writes (``ControllerExpectations``).
* :func:`slow_start_batch`, :func:`async_slow_start_batch`: many calls in batches of 1, 2, 4...
  that stop at the first failing batch (``slowStartBatch``).
* :func:`owner_reference`, :func:`controller_of`, :class:`RefManager`: adopt and release
  children by owner references and a selector (``ControllerRefManager.claimObject``).
* :class:`RateLimitedTimedQueue`, :class:`TimedValue`: unique values, ordered by time, drained at
  a swappable rate (the node lifecycle controller's eviction queue).
* :class:`TimedWorkerQueue`: keyed one-shot delayed calls (the taint eviction manager).
* :func:`zone_state`, :class:`ZoneState`: a zone's health from its nodes' readiness.

Every time-dependent piece takes ``clock=`` (a :class:`goprims.clock.FakeClock` in tests). See
``docs/controller.md`` for when to use which.
"""

from __future__ import annotations

from goprims.controller.expectations import (
    DEFAULT_EXPECTATIONS_TTL,
    Expectations,
    UIDTrackingExpectations,
)
from goprims.controller.ownership import AdoptionRefused, RefManager, controller_of, owner_reference
from goprims.controller.slow_start import async_slow_start_batch, batch_sizes, slow_start_batch
from goprims.controller.timed_queue import EVICTION_BURST, RateLimitedTimedQueue, TimedValue
from goprims.controller.timed_workers import TimedWorkerQueue
from goprims.controller.zones import UNHEALTHY_ZONE_THRESHOLD, ZoneState, zone_state

__all__ = [
    "DEFAULT_EXPECTATIONS_TTL",
    "EVICTION_BURST",
    "UNHEALTHY_ZONE_THRESHOLD",
    "AdoptionRefused",
    "Expectations",
    "RateLimitedTimedQueue",
    "RefManager",
    "TimedValue",
    "TimedWorkerQueue",
    "UIDTrackingExpectations",
    "ZoneState",
    "async_slow_start_batch",
    "batch_sizes",
    "controller_of",
    "owner_reference",
    "slow_start_batch",
    "zone_state",
]

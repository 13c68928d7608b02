"""Zone health (the node lifecycle controller's ``ComputeZoneState``).

The node lifecycle controller evicts pods from unreachable nodes, at a rate set per zone by the
zone's health: a zone where most nodes went away at once is more likely cut off from the
controller than really down, so evicting everything there would make things worse.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["UNHEALTHY_ZONE_THRESHOLD", "ZoneState", "zone_state"]

UNHEALTHY_ZONE_THRESHOLD = 0.55
"""The share of not-ready nodes from which a zone is partially disrupted (upstream's default
``--unhealthy-zone-threshold``)."""


class ZoneState(enum.Enum):
    """The health of a zone."""

    NORMAL = "Normal"
    PARTIAL_DISRUPTION = "PartialDisruption"
    FULL_DISRUPTION = "FullDisruption"


def zone_state(ready: Iterable[bool], threshold: float = UNHEALTHY_ZONE_THRESHOLD) -> ZoneState:
    """The state of a zone from the readiness of its nodes (one bool per node).

    * ``FULL_DISRUPTION``: no node is ready and at least one is not;
    * ``PARTIAL_DISRUPTION``: more than 2 nodes are not ready and they are at least ``threshold``
      of the zone;
    * ``NORMAL`` otherwise (an empty zone included).
    """
    total = not_ready = 0
    for ok in ready:
        total += 1
        if not ok:
            not_ready += 1
    ready_count = total - not_ready
    if ready_count == 0 and not_ready > 0:
        return ZoneState.FULL_DISRUPTION
    if not_ready > 2 and not_ready / total >= threshold:
        return ZoneState.PARTIAL_DISRUPTION
    return ZoneState.NORMAL

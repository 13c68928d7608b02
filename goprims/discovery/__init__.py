"""Service discovery, the Prometheus way: many providers, one coalesced stream of snapshots.

* :class:`Group`: a frozen dataclass, one source's targets (an empty group deletes its source).
* :class:`CoalescingAggregator`: fan-in from providers' channels into a table of the latest
  groups, published as full snapshots on an unbuffered channel at most about once per interval,
  never blocking a provider and never losing the final state; ``set_providers`` applies a
  configuration reload.
* :class:`AggregatorStopped`: adding providers to a stopped aggregator.
"""

from __future__ import annotations

from goprims.discovery.aggregator import AggregatorStopped, CoalescingAggregator, ProviderFunc
from goprims.discovery.group import Group

__all__ = ["AggregatorStopped", "CoalescingAggregator", "Group", "ProviderFunc"]

"""Raft quorum math and flow control (etcd-io/raft ``quorum/`` and ``tracker/inflights.go``).

Pure functions and small immutable classes, no threads and no I/O:

* :class:`MajorityConfig` (``committed_index``, ``vote_result``): k-of-n acknowledgement with
  ``k = n // 2 + 1``;
* :class:`JointConfig`: two majorities that must both agree, for joint-consensus membership
  changes (committed = min of the halves; any ``LOST`` half loses);
* :class:`VoteResult` (``PENDING``, ``LOST``, ``WON``) and :data:`INFINITE_INDEX` (2**64 - 1, the
  committed index of an empty configuration);
* :class:`Inflights`: a window of unacknowledged messages capped by count and by a soft byte
  budget (:class:`InflightsFull` when adding to a full one).

See ``docs/distributed.md`` ("Quorum and flow control") for the math with examples.
"""

from __future__ import annotations

from goprims.quorum.inflights import Inflights, InflightsFull
from goprims.quorum.joint import JointConfig
from goprims.quorum.majority import MajorityConfig
from goprims.quorum.vote import INFINITE_INDEX, VoteResult

__all__ = [
    "INFINITE_INDEX",
    "Inflights",
    "InflightsFull",
    "JointConfig",
    "MajorityConfig",
    "VoteResult",
]

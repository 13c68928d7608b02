"""The outcome of a vote, and the index that stands for "no limit"."""

from __future__ import annotations

import enum

__all__ = ["INFINITE_INDEX", "VoteResult"]

INFINITE_INDEX = 2**64 - 1
"""The committed index of an empty configuration (Go's ``math.MaxUint64``): larger than any real
index, so that ``min`` with it leaves the other half of a joint configuration in charge."""


class VoteResult(enum.IntEnum):
    """The state of an election (etcd raft's ``quorum.VoteResult``)."""

    PENDING = 1
    """Neither a quorum of yes votes nor enough no votes to rule one out: wait for more votes."""
    LOST = 2
    """Even if every voter that has not voted says yes, there can be no quorum of yes votes."""
    WON = 3
    """A quorum of voters said yes."""

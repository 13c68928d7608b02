"""A joint configuration: two majority configurations that must both agree (etcd raft's
``quorum.JointConfig``), used while membership changes from ``outgoing`` to ``incoming``
(joint consensus, raft thesis §4.3).

The math. A decision of the joint configuration needs a majority of **each** half:

* committed index = ``min(incoming.committed_index, outgoing.committed_index)``: only an index
  both majorities hold is safe under either membership. An empty half commits
  :data:`~goprims.quorum.INFINITE_INDEX`, so the min is the other half's (a joint config with
  an empty outgoing half is a plain majority config).
* vote = both halves' results when they agree; otherwise ``LOST`` if either half lost (no
  quorum of yes is possible in that half, so none jointly); otherwise ``PENDING``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from goprims.quorum.majority import MajorityConfig
from goprims.quorum.vote import VoteResult

__all__ = ["JointConfig"]


def _as_majority(ids: MajorityConfig | Iterable[Hashable]) -> MajorityConfig:
    return ids if isinstance(ids, MajorityConfig) else MajorityConfig(ids)


class JointConfig:
    """Two majority configurations, ``incoming`` and ``outgoing`` (empty when no membership
    change is in progress); each may be given as a :class:`~goprims.quorum.MajorityConfig` or
    as an iterable of voter IDs. Immutable; equal when both halves are equal."""

    __slots__ = ("_incoming", "_outgoing")

    def __init__(
        self,
        incoming: MajorityConfig | Iterable[Hashable],
        outgoing: MajorityConfig | Iterable[Hashable] = (),
    ) -> None:
        self._incoming = _as_majority(incoming)
        self._outgoing = _as_majority(outgoing)

    @property
    def incoming(self) -> MajorityConfig:
        """The configuration being moved to (the only one when not joint)."""
        return self._incoming

    @property
    def outgoing(self) -> MajorityConfig:
        """The configuration being left (empty when not joint)."""
        return self._outgoing

    @property
    def joint(self) -> bool:
        """True while a membership change is in progress (the outgoing half is not empty)."""
        return len(self._outgoing) > 0

    def committed_index(self, acked: Mapping[Any, int]) -> int:
        """The largest index acknowledged by a majority of **both** halves: the smaller of the
        two halves' committed indexes (see :meth:`MajorityConfig.committed_index`)."""
        a = self._incoming.committed_index(acked)
        b = self._outgoing.committed_index(acked)
        return a if a < b else b

    def vote_result(self, votes: Mapping[Any, bool]) -> VoteResult:
        """Both halves' result when they agree; ``LOST`` if either half lost; else
        ``PENDING``."""
        r1 = self._incoming.vote_result(votes)
        r2 = self._outgoing.vote_result(votes)
        if r1 is r2:
            return r1
        if r1 is VoteResult.LOST or r2 is VoteResult.LOST:
            return VoteResult.LOST
        return VoteResult.PENDING

    def ids(self) -> frozenset[Hashable]:
        """Every voter of either half."""
        return self._incoming.ids() | self._outgoing.ids()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JointConfig):
            return (self._incoming, self._outgoing) == (other._incoming, other._outgoing)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._incoming, self._outgoing))

    def __repr__(self) -> str:
        return f"JointConfig({list(self._incoming)!r}, {list(self._outgoing)!r})"

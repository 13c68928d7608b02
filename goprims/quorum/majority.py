"""A majority configuration: a set of voters that decides by simple majority (etcd raft's
``quorum.MajorityConfig``).

The math. With ``n`` voters, a quorum is any ``q = n // 2 + 1`` of them; any two quorums share at
least one voter, which is what makes a committed entry survive any later quorum's decisions.

* **Committed index.** Each voter reports the highest log index it has acknowledged (``acked``;
  a voter that has not reported counts as 0). Sort the ``n`` values ascending: ``s[0] <= ... <=
  s[n-1]``. The committed index is ``s[n - q]``: the ``q`` voters holding the ``q`` largest values
  all have at least that index, and no larger index is held by ``q`` voters. Equivalently, the
  largest ``i`` such that ``#{v : acked[v] >= i} >= q`` (the alternative definition the tests
  check against).
* **Votes.** Count the yes votes ``y`` and the voters that have not voted ``m`` (votes from
  non-members are ignored). ``y >= q``: won. ``y + m >= q``: pending (the missing votes could
  still make a quorum). Otherwise lost.
* **The empty configuration** commits :data:`~goprims.quorum.INFINITE_INDEX` and wins every vote,
  so that a joint configuration with an empty half behaves exactly like its other half.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

from goprims.quorum.vote import INFINITE_INDEX, VoteResult

__all__ = ["MajorityConfig"]


class MajorityConfig:
    """An immutable set of voter IDs (any hashable values) that decides by majority.

    ``len(c)``, ``id in c`` and iteration (in sorted order when the IDs are sortable) work as on
    a set; two configs with the same voters are equal and hash alike.
    """

    __slots__ = ("_hash", "_ids", "_order", "_quorum_pos", "_zeros")

    def __init__(self, ids: Iterable[Hashable] = ()) -> None:
        voters = frozenset(ids)
        try:
            order: tuple[Hashable, ...] = tuple(sorted(voters))  # type: ignore[type-var]
        except TypeError:  # IDs of mixed types: any fixed order will do
            order = tuple(voters)
        self._ids = voters
        self._order = order
        n = len(order)
        # Position, in the ascending sort of the n acked indexes, of the committed index.
        self._quorum_pos = n - (n // 2 + 1)
        # The defaults for map(acked.get, order, zeros): a voter missing from acked counts as 0.
        self._zeros = (0,) * n
        self._hash = hash(voters)

    # ------------------------------------------------------------------------------ the math

    def committed_index(self, acked: Mapping[Any, int]) -> int:
        """The largest log index acknowledged by a majority of the voters.

        ``acked`` maps a voter to the highest index it has acknowledged; voters missing from it
        count as 0 and keys that are not voters are ignored. An empty config returns
        :data:`~goprims.quorum.INFINITE_INDEX`. A negative index raises :class:`ValueError`.
        """
        order = self._order
        if not order:
            return INFINITE_INDEX
        values = sorted(map(acked.get, order, self._zeros))  # (map: no per-voter frame)
        if values[0] < 0:
            raise ValueError(f"acked indexes must be >= 0, got {values[0]}")
        return values[self._quorum_pos]

    def vote_result(self, votes: Mapping[Any, bool]) -> VoteResult:
        """:attr:`~goprims.quorum.VoteResult.WON` if a majority voted yes,
        :attr:`~goprims.quorum.VoteResult.PENDING` if the voters that have not voted could still
        make one, else :attr:`~goprims.quorum.VoteResult.LOST`. Votes of non-voters are ignored;
        an empty config wins."""
        order = self._order
        if not order:
            return VoteResult.WON
        yes = missing = 0
        for v in order:
            vote = votes.get(v)
            if vote is None:
                missing += 1
            elif vote:
                yes += 1
        quorum = len(order) // 2 + 1
        if yes >= quorum:
            return VoteResult.WON
        if yes + missing >= quorum:
            return VoteResult.PENDING
        return VoteResult.LOST

    # ---------------------------------------------------------------------------- set-like

    def ids(self) -> frozenset[Hashable]:
        """The voters."""
        return self._ids

    @property
    def quorum(self) -> int:
        """How many voters make a majority: ``len(self) // 2 + 1`` (0 for an empty config)."""
        return len(self._order) // 2 + 1 if self._order else 0

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._order)

    def __contains__(self, voter: object) -> bool:
        return voter in self._ids

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MajorityConfig):
            return self._ids == other._ids
        return NotImplemented

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"MajorityConfig({list(self._order)!r})"

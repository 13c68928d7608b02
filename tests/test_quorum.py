"""goprims.quorum: the table cases of etcd raft's quorum/testdata (majority and joint, committed
index and votes), the invariants its datadriven harness checks on each case, a hypothesis
property against the alternative definition, and tracker/inflights_test.go's cases."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import goprims
from goprims.quorum import (
    INFINITE_INDEX,
    Inflights,
    InflightsFull,
    JointConfig,
    MajorityConfig,
    VoteResult,
)

NA = None  # a voter that has not reported (upstream's harness writes "_")
INF = INFINITE_INDEX
WON, LOST, PENDING = VoteResult.WON, VoteResult.LOST, VoteResult.PENDING

Cfg = tuple[int, ...]


def assign(cfg: Cfg, cfgj: Cfg | None, values: Sequence[object]) -> dict[Hashable, object]:
    """Values go to the voters in order of first appearance in cfg then cfgj; ``NA`` (None) is
    "this voter has not reported" (no entry), as in upstream's harness."""
    voters = list(dict.fromkeys(list(cfg) + list(cfgj or ())))
    assert len(voters) == len(values), "a test case must give one value per voter"
    return {v: x for v, x in zip(voters, values, strict=True) if x is not None}


# (cfg, cfgj, acked indexes, committed index); cfgj None = a plain majority, () = joint with an
# empty half ("cfgj=zero" upstream).
COMMITTED_CASES: list[tuple[Cfg, Cfg | None, tuple[int | None, ...], int]] = [
    ((), None, (), INF),
    ((1,), None, (NA,), 0),
    ((1,), None, (12,), 12),
    ((1, 2), None, (NA, NA), 0),
    ((1, 2), None, (12, NA), 0),
    ((1, 2), None, (12, 5), 5),
    ((1, 2, 3), None, (NA, NA, NA), 0),
    ((1, 2, 3), None, (12, NA, NA), 0),
    ((1, 2, 3), None, (12, 5, NA), 5),
    ((1, 2, 3), None, (12, 5, 6), 6),
    ((1, 2, 3), None, (12, 5, 4), 5),
    ((1, 2, 3), None, (5, 5, NA), 5),
    ((1, 2, 3), None, (5, 5, 12), 5),
    ((1, 2, 3), None, (100, 101, 103), 101),
    ((1, 2, 3, 4, 5), None, (101, 104, 103, 103, NA), 103),
    ((1, 2, 3, 4, 5), None, (101, 102, 103, 103, NA), 102),
    ((1, 2, 3), (), (100, 101, 99), 100),
    ((1,), (2,), (NA, NA), 0),
    ((1,), (2,), (100, NA), 0),
    ((1,), (2,), (13, 100), 13),
    ((1,), (1,), (NA,), 0),
    ((1,), (1,), (100,), 100),
    ((1, 3), (2,), (NA, NA, NA), 0),
    ((1, 3), (2,), (100, NA, NA), 0),
    ((1, 3), (2,), (100, NA, 50), 0),
    ((1, 3), (2,), (100, 45, 50), 45),
    ((1, 2), (2,), (NA, NA), 0),
    ((1, 2), (2,), (100, NA), 0),
    ((1, 2), (2,), (NA, 100), 0),
    ((1, 2), (2,), (50, 100), 50),
    ((1, 2), (2,), (100, 50), 50),
    ((1, 2), (3, 4), (50, NA, NA, NA), 0),
    ((1, 2), (3, 4), (50, NA, 49, NA), 0),
    ((1, 2), (3, 4), (50, 48, 49, NA), 0),
    ((1, 2), (3, 4), (50, 48, 49, 47), 47),
    ((1, 2), (2, 3), (NA, NA, NA), 0),
    ((1, 2), (2, 3), (100, NA, NA), 0),
    ((1, 2), (2, 3), (NA, 100, NA), 0),
    ((1, 2), (2, 3), (NA, 100, 99), 0),
    ((1, 2), (2, 3), (101, 100, 99), 99),
    ((1, 2), (1, 2), (NA, NA), 0),
    ((1, 2), (1, 2), (NA, 40), 0),
    ((1, 2), (1, 2), (41, 40), 40),
    ((1, 2, 3), (4, 5, 6), (NA, NA, NA, NA, NA, NA), 0),
    ((1, 2, 3), (4, 5, 6), (100, NA, NA, NA, NA, NA), 0),
    ((1, 2, 3), (4, 5, 6), (100, NA, NA, 90, NA, NA), 0),
    ((1, 2, 3), (4, 5, 6), (100, 99, NA, NA, NA, NA), 0),
    ((1, 2, 3), (4, 5, 6), (NA, 99, 90, 97, 95, NA), 90),
    ((1, 2, 3), (4, 5, 6), (92, 99, 90, 97, 95, NA), 92),
    ((1, 2, 3), (4, 5, 6), (92, 99, 90, 97, 95, 77), 92),
    ((1, 2, 3), (1, 4, 5), (NA, NA, NA, NA, NA), 0),
    ((1, 2, 3), (1, 4, 5), (100, NA, NA, NA, NA), 0),
    ((1, 2, 3), (1, 4, 5), (100, 101, NA, NA, NA), 0),
    ((1, 2, 3), (1, 4, 5), (100, 101, 100, NA, NA), 0),
    ((1, 2, 3), (1, 4, 5), (NA, 100, NA, 99, 98), 0),
    ((1, 2, 3), (1, 4, 5), (NA, 100, 99, 99, 98), 98),
    ((1, 2, 3), (1, 4, 5), (1, 100, 99, 99, 98), 98),
    ((1, 2, 3), (1, 4, 5), (100, 100, 99, 99, 98), 99),
    ((1, 2, 3), (2, 3, 4), (NA, NA, NA, NA), 0),
    ((1, 2, 3), (2, 3, 4), (NA, 100, 99, NA), 99),
    ((1, 2, 3), (2, 3, 4), (98, 100, 99, NA), 99),
    ((1, 2, 3), (2, 3, 4), (100, 100, 99, NA), 99),
    ((1, 2, 3), (2, 3, 4), (100, 100, 99, 98), 99),
    ((1, 2, 3), (2, 3, 4), (100, NA, NA, 101), 0),
    ((1, 2, 3), (2, 3, 4), (100, 99, NA, 101), 99),
    ((1, 2, 3), (1, 2, 3), (50, 45, NA), 45),
]

# (cfg, cfgj, votes as a string of y/n/_ per voter, result)
VOTE_CASES: list[tuple[Cfg, Cfg | None, str, VoteResult]] = [
    ((), None, "", WON),
    ((1,), None, "_", PENDING),
    ((1,), None, "n", LOST),
    ((123,), None, "y", WON),
    ((4, 8), None, "__", PENDING),
    ((4, 8), None, "n_", LOST),
    ((4, 8), None, "y_", PENDING),
    ((4, 8), None, "ny", LOST),
    ((4, 8), None, "yy", WON),
    ((2, 4, 7), None, "___", PENDING),
    ((2, 4, 7), None, "n__", PENDING),
    ((2, 4, 7), None, "y__", PENDING),
    ((2, 4, 7), None, "nn_", LOST),
    ((2, 4, 7), None, "yn_", PENDING),
    ((2, 4, 7), None, "yy_", WON),
    ((2, 4, 7), None, "yyn", WON),
    ((2, 4, 7), None, "nyn", LOST),
    ((1, 2, 3, 4, 5, 6, 7), None, "yyny___", PENDING),
    ((1, 2, 3, 4, 5, 6, 7), None, "_yy_nyn", PENDING),
    ((1, 2, 3, 4, 5, 6, 7), None, "yyny_ny", WON),
    ((1, 2, 3, 4, 5, 6, 7), None, "yy_nynn", PENDING),
    ((1, 2, 3, 4, 5, 6, 7), None, "yynynnn", LOST),
    ((), (), "", WON),
    ((1,), (), "_", PENDING),
    ((1,), (), "y", WON),
    ((1,), (), "n", LOST),
    ((1,), (1,), "_", PENDING),
    ((1,), (1,), "y", WON),
    ((1,), (1,), "n", LOST),
    ((1,), (2,), "__", PENDING),
    ((1,), (2,), "y_", PENDING),
    ((1,), (2,), "yy", WON),
    ((1,), (2,), "yn", LOST),
    ((1,), (2,), "n_", LOST),
    ((1,), (2,), "nn", LOST),
    ((1,), (2,), "ny", LOST),
    ((1, 2), (3, 4), "____", PENDING),
    ((1, 2), (3, 4), "y___", PENDING),
    ((1, 2), (3, 4), "yy__", PENDING),
    ((1, 2), (3, 4), "yyn_", LOST),
    ((1, 2), (3, 4), "yynn", LOST),
    ((1, 2), (3, 4), "yyyn", LOST),
    ((1, 2), (3, 4), "yyyy", WON),
    ((1, 2), (2, 3), "___", PENDING),
    ((1, 2), (2, 3), "_n_", LOST),
    ((1, 2), (2, 3), "yy_", PENDING),
    ((1, 2), (2, 3), "yyn", LOST),
    ((1, 2), (2, 3), "yyy", WON),
    ((1, 2), (1, 2), "__", PENDING),
    ((1, 2), (1, 2), "y_", PENDING),
    ((1, 2), (1, 2), "yn", LOST),
    ((1, 2), (1, 2), "n_", LOST),
    ((1, 2), (1, 2), "nn", LOST),
    ((1, 2, 3), (2, 3, 4), "____", PENDING),
    ((1, 2, 3), (2, 3, 4), "_n__", PENDING),
    ((1, 2, 3), (2, 3, 4), "_nn_", LOST),
    ((1, 2, 3), (2, 3, 4), "_yy_", WON),
    ((1, 2, 3), (2, 3, 4), "yy__", PENDING),
    ((1, 2, 3), (2, 3, 4), "yyn_", PENDING),
    ((1, 2, 3), (2, 3, 4), "yynn", LOST),
    ((1, 2, 3), (2, 3, 4), "yyny", WON),
]


def alternative_committed_index(cfg: MajorityConfig, acked: dict[Hashable, int]) -> int:
    """The largest i acked by at least n // 2 + 1 voters (upstream quick_test.go's definition)."""
    n = len(cfg)
    if n == 0:
        return INFINITE_INDEX
    q = n // 2 + 1
    candidates = {acked.get(v, 0) for v in cfg} | {0}
    return max(i for i in candidates if sum(1 for v in cfg if acked.get(v, 0) >= i) >= q)


@pytest.mark.parametrize(("cfg", "cfgj", "idx", "want"), COMMITTED_CASES, ids=repr)
def test_committed_index_upstream_cases(
    cfg: Cfg, cfgj: Cfg | None, idx: tuple[int | None, ...], want: int
) -> None:
    acked: dict[Hashable, int] = assign(cfg, cfgj, idx)  # type: ignore[assignment]
    c = MajorityConfig(cfg)
    if cfgj is None:
        assert c.committed_index(acked) == want
        # The invariants upstream's harness checks on every majority case:
        assert alternative_committed_index(c, acked) == want
        assert JointConfig(c, ()).committed_index(acked) == want  # joined with the empty config
        assert JointConfig(c, c).committed_index(acked) == want  # joined with itself
        for voter in c:
            known = acked.get(voter, 0)
            if want > known > 0:  # lowering an index below the committed one changes nothing
                assert c.committed_index({**acked, voter: known - 1}) == want
                assert c.committed_index({**acked, voter: 0}) == want
    else:
        assert JointConfig(cfg, cfgj).committed_index(acked) == want
        assert JointConfig(cfgj, cfg).committed_index(acked) == want  # symmetry


@pytest.mark.parametrize(("cfg", "cfgj", "votes", "want"), VOTE_CASES, ids=repr)
def test_vote_result_upstream_cases(
    cfg: Cfg, cfgj: Cfg | None, votes: str, want: VoteResult
) -> None:
    ballots: dict[Hashable, bool] = {
        k: v == "y" for k, v in assign(cfg, cfgj, [None if c == "_" else c for c in votes]).items()
    }
    if cfgj is None:
        assert MajorityConfig(cfg).vote_result(ballots) is want
    else:
        assert JointConfig(cfg, cfgj).vote_result(ballots) is want
        assert JointConfig(cfgj, cfg).vote_result(ballots) is want  # symmetry


def test_documented_cases() -> None:
    assert MajorityConfig().committed_index({}) == INFINITE_INDEX == 2**64 - 1
    assert MajorityConfig().vote_result({}) is WON
    assert MajorityConfig([1]).committed_index({}) == 0
    assert MajorityConfig([1, 2]).committed_index({1: 12}) == 0
    assert MajorityConfig([1, 2]).committed_index({1: 12, 2: 5}) == 5
    assert JointConfig([1, 2, 3], [3, 4, 5]).committed_index(
        {1: 10, 2: 10, 3: 7, 4: 3, 5: 3}
    ) == min(10, 3)
    # One half lost: the joint vote is lost even though the other half won.
    assert (
        JointConfig([1, 2, 3], [4, 5, 6]).vote_result({1: True, 2: True, 4: False, 5: False})
        is LOST
    )


def test_non_voters_are_ignored() -> None:
    c = MajorityConfig([1, 2, 3])
    assert c.committed_index({1: 5, 2: 5, 9: 100, 10: 100}) == 5
    assert c.vote_result({1: False, 9: True, 10: True, 11: True}) is PENDING


def test_negative_index_is_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        MajorityConfig([1, 2, 3]).committed_index({1: -1})


def test_configs_are_set_like_values() -> None:
    c = MajorityConfig([3, 1, 2, 2])
    assert len(c) == 3
    assert list(c) == [1, 2, 3]
    assert 2 in c
    assert 4 not in c
    assert c == MajorityConfig({1, 2, 3})
    assert hash(c) == hash(MajorityConfig([2, 3, 1]))
    assert c.quorum == 2
    assert MajorityConfig().quorum == 0
    assert MajorityConfig(range(4)).quorum == 3
    j = JointConfig(c, [3, 4])
    assert j.ids() == frozenset({1, 2, 3, 4})
    assert j.joint
    assert not JointConfig(c).joint
    assert j == JointConfig([1, 2, 3], MajorityConfig([4, 3]))
    assert j.outgoing == MajorityConfig([3, 4])
    assert MajorityConfig(["a", 1]).committed_index({"a": 4, 1: 4}) == 4  # unsortable ids
    assert repr(c) == "MajorityConfig([1, 2, 3])"


voters = st.sets(st.integers(1, 9), max_size=7)


@settings(max_examples=300, deadline=None)
@given(voters, st.dictionaries(st.integers(1, 12), st.integers(0, 20)))
def test_committed_index_equals_the_alternative_definition(
    ids: set[int], acked: dict[int, int]
) -> None:
    c = MajorityConfig(ids)
    assert c.committed_index(acked) == alternative_committed_index(c, acked)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(voters, voters, st.dictionaries(st.integers(1, 12), st.integers(0, 20)))
def test_joint_committed_index_is_the_min_of_the_halves(
    a: set[int], b: set[int], acked: dict[int, int]
) -> None:
    j = JointConfig(a, b)
    got = j.committed_index(acked)
    assert got == min(
        MajorityConfig(a).committed_index(acked),
        MajorityConfig(b).committed_index(acked),
    )
    assert got == JointConfig(b, a).committed_index(acked)


@settings(max_examples=300, deadline=None)
@given(voters, st.dictionaries(st.integers(1, 12), st.booleans()))
def test_vote_result_matches_counting(ids: set[int], votes: dict[int, bool]) -> None:
    c = MajorityConfig(ids)
    got = c.vote_result(votes)
    if not ids:
        assert got is WON
        return
    q = len(ids) // 2 + 1
    yes = sum(1 for v in ids if votes.get(v) is True)
    no = sum(1 for v in ids if votes.get(v) is False)
    assert (got is WON) == (yes >= q)
    assert (got is LOST) == (len(ids) - no < q)  # even all missing votes as yes cannot win
    # Monotone: filling in missing votes never turns a decided result around.
    if got is not PENDING:
        filled = {**{v: got is WON for v in ids}, **votes}
        assert c.vote_result(filled) is got


# ------------------------------------------------------------------------------------ Inflights


def test_inflights_add_counts_messages_and_bytes() -> None:
    win = Inflights(10)
    for i in range(5):
        win.add(i, 100 + i)
    assert (win.count, win.bytes, win.full) == (5, 510, False)
    for i in range(5, 10):
        win.add(i, 100 + i)
    assert (win.count, win.bytes, win.full) == (10, 1045, True)
    assert list(win) == [(i, 100 + i) for i in range(10)]


def test_inflights_free_le_frees_exactly_the_prefix_across_the_wrap() -> None:
    # inflights_test.go TestInflightFreeTo: free the middle, wrap around, free the rest
    win = Inflights(10)
    for i in range(10):
        win.add(i, 100 + i)
    win.free_le(0)
    assert (win.count, win.bytes) == (9, 945)
    win.free_le(4)
    assert (win.count, win.bytes) == (5, 535)
    win.free_le(8)
    assert (win.count, win.bytes) == (1, 109)
    for i in range(10, 15):  # these wrap around the ring in upstream's buffer
        win.add(i, 100 + i)
    win.free_le(12)
    assert (win.count, win.bytes) == (2, 227)
    assert list(win) == [(13, 113), (14, 114)]
    win.free_le(14)
    assert (win.count, win.bytes, list(win)) == (0, 0, [])


def test_inflights_free_below_the_window_frees_nothing() -> None:
    win = Inflights(4)
    win.add(5, 1)
    win.add(7, 1)
    win.free_le(4)
    assert win.count == 2
    win.free_le(6)
    assert list(win) == [(7, 1)]


@pytest.mark.parametrize(
    ("size", "max_bytes", "full_at", "free_le", "again_at"),
    [
        (0, 0, 0, 0, 0),  # always full
        (1, 0, 1, 1, 2),  # single entry
        (1, 10, 1, 1, 2),  # single entry over the byte budget
        (15, 0, 15, 6, 22),  # multi entry
        (8, 400, 4, 2, 7),  # slight overflow of the soft byte limit
        (8, 406, 4, 3, 8),  # exactly the byte limit
        (15, 408, 5, 1, 6),  # larger overflow
    ],
    ids=["always-full", "single", "single-overflow", "multi", "slight-overflow", "exact", "larger"],
)
def test_inflights_full(
    size: int, max_bytes: int, full_at: int, free_le: int, again_at: int
) -> None:
    # inflights_test.go TestInflightsFull: message i is 100 + i bytes
    win = Inflights(size, max_bytes)

    def add_until_full(begin: int, end: int) -> None:
        for i in range(begin, end):
            assert not win.full, f"full at {i}, want {end}"
            win.add(i, 100 + i)
        assert win.full, f"not full at {end}"

    add_until_full(0, full_at)
    win.free_le(free_le)
    add_until_full(full_at, again_at)
    with pytest.raises(InflightsFull):
        win.add(100, 1024)
    assert goprims.InflightsFull is InflightsFull
    assert issubclass(InflightsFull, RuntimeError)


def test_inflights_byte_budget_is_soft() -> None:
    win = Inflights(10, max_bytes=100)
    win.add(1, 60)
    assert not win.full
    win.add(2, 500)  # crosses the budget: accepted
    assert win.full
    assert win.bytes == 560
    win.free_le(1)
    assert win.full  # 500 >= 100 still
    win.free_le(2)
    assert not win.full
    win.add(3, 1000)  # larger than the whole budget: accepted alone
    assert win.full


def test_inflights_reset_does_not_leak_bytes() -> None:
    # inflights_test.go TestInflightsReset
    win = Inflights(10, 1000)
    index = 0
    for _epoch in range(100):
        win.reset()
        for _i in range(5):
            assert not win.full
            index += 1
            win.add(index, 16)
        win.free_le(index - 2)
        assert not win.full
        assert win.count == 2
    win.free_le(index)
    assert (win.count, win.bytes) == (0, 0)


def test_inflights_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="size must be >= 0, got -1"):
        Inflights(-1)
    with pytest.raises(TypeError):
        Inflights(2.5)  # type: ignore[arg-type]
    win = Inflights(4)
    win.add(5)
    with pytest.raises(ValueError, match="below the newest"):
        win.add(4)
    with pytest.raises(ValueError, match="index and nbytes must be >= 0, got 6, -1"):
        win.add(6, -1)
    win.add(5)  # equal is fine
    win.free_le(5)
    win.add(1)  # once nothing is in flight, any index
    assert list(win) == [(1, 0)]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(0, 300),
    st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 150)), max_size=60),
)
def test_inflights_against_a_list_model(
    size: int, max_bytes: int, steps: list[tuple[bool, int, int]]
) -> None:
    win = Inflights(size, max_bytes)
    model: list[tuple[int, int]] = []
    index = 0
    for is_add, step, nbytes in steps:
        total = sum(b for _, b in model)
        full = len(model) >= size or (max_bytes != 0 and total >= max_bytes)
        assert win.full == full
        if is_add:
            index += step
            if full:
                with pytest.raises(InflightsFull):
                    win.add(index, nbytes)
            else:
                win.add(index, nbytes)
                model.append((index, nbytes))
        else:
            to = index - step
            win.free_le(to)
            model = [(i, b) for i, b in model if i > to]
        assert list(win) == model
        assert (win.count, win.bytes) == (len(model), sum(b for _, b in model))

"""zone_state: upstream's ComputeZoneState table (node_lifecycle_controller.go)."""

from __future__ import annotations

import pytest

from goprims.controller import ZoneState, zone_state


@pytest.mark.parametrize(
    ("ready", "not_ready", "state"),
    [
        (0, 3, ZoneState.FULL_DISRUPTION),
        (0, 1, ZoneState.FULL_DISRUPTION),  # one node, down: full (no "more than 2" rule here)
        (2, 3, ZoneState.PARTIAL_DISRUPTION),  # 3 of 5 = 0.6 >= 0.55
        (10, 2, ZoneState.NORMAL),  # not more than 2 not ready
        (1, 2, ZoneState.NORMAL),  # 2/3 not ready but only 2 nodes
        (3, 3, ZoneState.NORMAL),  # 0.5 < 0.55
        (9, 11, ZoneState.PARTIAL_DISRUPTION),  # exactly 0.55
        (5, 0, ZoneState.NORMAL),
        (0, 0, ZoneState.NORMAL),  # an empty zone
    ],
)
def test_zone_state_table(ready: int, not_ready: int, state: ZoneState) -> None:
    flags = [True] * ready + [False] * not_ready
    assert zone_state(flags) is state
    assert zone_state(reversed(flags)) is state  # any iterable, any order


def test_threshold_is_configurable() -> None:
    flags = [True] * 7 + [False] * 3  # 0.3 not ready
    assert zone_state(flags) is ZoneState.NORMAL
    assert zone_state(flags, threshold=0.3) is ZoneState.PARTIAL_DISRUPTION
    assert zone_state(iter(flags), threshold=0.31) is ZoneState.NORMAL

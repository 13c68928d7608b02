"""Helpers shared by the DeltaFIFO and RealFIFO tests (tests/test_cache_delta_fifo.py,
tests/test_cache_real_fifo.py)."""

from __future__ import annotations

from typing import Any

from goprims.cache import DeletedFinalStateUnknown, DeltaType

ADDED, UPDATED, DELETED = DeltaType.ADDED, DeltaType.UPDATED, DeltaType.DELETED
REPLACED, SYNC = DeltaType.REPLACED, DeltaType.SYNC


def obj(name: str, val: int) -> dict[str, Any]:
    """A test object: keyed by name, ``val`` tells versions apart."""
    return {"metadata": {"name": name, "resourceVersion": str(val)}, "val": val}


def tomb(name: str, last: Any) -> DeletedFinalStateUnknown:
    return DeletedFinalStateUnknown(name, last)


class Known:
    """A known-objects source (list_keys + get_by_key) with a fixed content."""

    def __init__(self, *objs: dict[str, Any], fail_on: str | None = None) -> None:
        self.objs = {o["metadata"]["name"]: o for o in objs}
        self.fail_on = fail_on

    def list_keys(self) -> list[str]:
        return list(self.objs)

    def get_by_key(self, key: str) -> tuple[Any, bool]:
        if key == self.fail_on:
            raise RuntimeError("lookup failed")
        o = self.objs.get(key)
        return o, o is not None

"""pytest-benchmark microbenchmarks for goprims.konfig (run once by the suite as a smoke test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from goprims.konfig import Konfig
from goprims.storage import MemoryStorage


@pytest.fixture
def konfig() -> Iterator[Konfig]:
    with Konfig(MemoryStorage(), "configmaps/default/app") as k:
        rv = k.set({"log": {"level": 3}, "workers": "8"})
        ch = k.subscribe()
        while k.revision() != rv:
            ch.recv(timeout=10)
        yield k


def test_konfig_get_nested(benchmark: Any, konfig: Konfig) -> None:
    def run() -> int:
        get = konfig.get
        total = 0
        for _ in range(1000):
            total += get("log", "level")[0]
        return total

    assert benchmark(run) == 3000


def test_konfig_get_int(benchmark: Any, konfig: Konfig) -> None:
    assert benchmark(konfig.get_int, "workers")[0] == 8

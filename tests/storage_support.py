"""Helpers shared by the storage tests (tests/test_storage_conformance.py,
tests/test_storage_memory*.py).

Test modules import the helpers and declare ``pytest_plugins = ["storage_support"]`` to get the
fixtures ``s`` (a fresh MemoryStorage) and ``fast_switching``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from goprims.storage import MemoryStorage


def obj(name: str, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, **fields}


@pytest.fixture
def s() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads very often, so that threads really interleave
    between a read and the write that depends on it (the default 5 ms rarely does)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)

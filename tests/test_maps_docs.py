"""Every Python example in docs/maps.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "maps.md"


def _examples() -> list[tuple[str, str]]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    return [(f"maps.md#{i}", block) for i, block in enumerate(blocks)]


def test_the_doc_has_examples() -> None:
    assert len(_examples()) >= 4


@pytest.mark.parametrize(("where", "code"), _examples(), ids=[w for w, _ in _examples()])
def test_doc_example_runs(where: str, code: str) -> None:
    exec(compile(code, where, "exec"), {"__name__": "__doc_example__"})

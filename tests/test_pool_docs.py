"""Every Python example in docs/pool.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "pool.md"
EXAMPLES = [
    (f"pool.md#{i}", block)
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S))
]


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_doc_example_runs(where: str, code: str) -> None:
    exec(compile(code, where, "exec"), {"__name__": "__doc_example__"})

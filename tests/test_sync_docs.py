"""Every Python example in docs/sync.md and docs/context.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _examples() -> list[tuple[str, str]]:
    out = []
    for name in ("sync.md", "context.md"):
        text = (DOCS / name).read_text()
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S)):
            out.append((f"{name}#{i}", block))
    return out


@pytest.mark.parametrize(("where", "code"), _examples(), ids=[w for w, _ in _examples()])
def test_doc_example_runs(where: str, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, where, "exec"), {"__name__": "__doc_example__"})

"""Every ```python block of every page in docs/ runs as written.

The blocks of one page run in order in one namespace (a page may build on its earlier
examples). A block that is deliberately not runnable is fenced as ```py instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if "```python" in p.read_text())


def blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"__docs_{page.stem}__"}
    for i, code in enumerate(blocks(page)):
        # dont_inherit: run as a reader would, without this file's `from __future__ import
        # annotations` (string annotations break dataclasses defined in an exec namespace)
        exec(compile(code, f"{page.name}#{i}", "exec", dont_inherit=True), namespace)


# Pages whose examples must not quietly disappear: at least this many runnable blocks each.
MIN_BLOCKS = {"maps.md": 4, "workqueue.md": 4}


@pytest.mark.parametrize(("name", "least"), MIN_BLOCKS.items(), ids=list(MIN_BLOCKS))
def test_page_keeps_its_examples(name: str, least: int) -> None:
    assert len(blocks(DOCS / name)) >= least

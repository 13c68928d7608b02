"""The layer table of docs/architecture.md, checked on every import statement of the tree.

Each top-level module of goprims belongs to one layer; a module may import only from its own layer
and the layers below, the client-go layer's three packages never import each other, and the pure
second-layer modules import nothing of goprims but the watch protocol. A top-level module that is
not listed here counts as core (so it must import nothing above the core); a new second-layer
module is added to SECOND below (and to the table in docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import goprims

ROOT = Path(goprims.__file__).parent
PROTOCOL = {"watch"}
CLIENT_GO = {"workqueue", "cache", "storage"}
SECOND = {"controller", "scheduling", "discovery", "konfig", "kube", "quorum", "framing"}
PURE = {"quorum", "framing"}
EXEMPT = {"__init__", "__main__"}  # the top level re-exports every layer (lazily)


def layer(name: str) -> int:
    if name in SECOND:
        return 3
    if name in CLIENT_GO:
        return 2
    if name in PROTOCOL:
        return 1
    return 0  # core: _waiter, clock, chan, sync, context, pool, maps, backoff, stop, ...


def top_level(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def imported_top_levels(path: Path) -> set[str]:
    """The goprims top-level modules imported by the file at ``path`` (absolute imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "goprims":
                names = [f"goprims.{a.name}" for a in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for n in names:
            parts = n.split(".")
            if parts[0] == "goprims" and len(parts) > 1:
                found.add(parts[1])
    return found


FILES = sorted(p for p in ROOT.rglob("*.py") if top_level(p) not in EXEMPT)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_module_imports_only_its_own_layer_and_below(path: Path) -> None:
    me = top_level(path)
    for dep in imported_top_levels(path) - {me}:
        assert dep not in EXEMPT, f"{path.name} imports the top-level package"
        assert layer(dep) <= layer(me), (
            f"{me} (layer {layer(me)}) imports {dep} (layer {layer(dep)})"
        )
        if me in CLIENT_GO:
            assert dep not in CLIENT_GO, f"{me} imports its peer {dep}: go through goprims.watch"
        if me in PURE:
            assert dep in PROTOCOL, f"pure module {me} imports {dep}"


def test_the_layer_table_knows_every_second_layer_package_present() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    unknown = packages - SECOND - CLIENT_GO - PROTOCOL - {"maps"}
    assert not unknown, (
        f"place {sorted(unknown)} in a layer (tests/test_layers.py, architecture.md)"
    )

"""Package-wide contract checks: exceptions importable from the top level, docstrings present,
and the layering (core modules import nothing above them)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import goprims

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(goprims.__path__, "goprims.")
    if not m.name.split(".")[-1].startswith("_")
)
CORE = {
    "goprims.chan",
    "goprims.clock",
    "goprims.sync",
    "goprims.context",
    "goprims.pool",
    "goprims.maps",
    "goprims._waiter",
}
ABOVE_CORE = (
    "goprims.workqueue",
    "goprims.cache",
    "goprims.storage",
    "goprims.scheduling",
    "goprims.demo",
)


def public_names(modname: str) -> list[tuple[str, object]]:
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        return []
    return [(n, getattr(mod, n)) for n in names]


@pytest.mark.parametrize("modname", MODULES)
def test_every_public_exception_is_importable_from_goprims(modname: str) -> None:
    for name, obj in public_names(modname):
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert getattr(goprims, name, None) is obj, f"goprims.{name} missing ({modname})"


@pytest.mark.parametrize("modname", MODULES)
def test_every_public_name_has_a_docstring(modname: str) -> None:
    mod = importlib.import_module(modname)
    assert mod.__doc__, f"{modname} has no module docstring"
    for name, obj in public_names(modname):
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if getattr(obj, "__module__", "").split(".")[0] != "goprims":
            continue
        assert inspect.getdoc(obj), f"{modname}.{name} has no docstring"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (
                    inspect.isfunction(member) or isinstance(member, property)
                ):
                    continue
                assert inspect.getdoc(member), f"{modname}.{name}.{attr} has no docstring"


@pytest.mark.parametrize("modname", sorted(CORE))
def test_core_modules_import_nothing_above_the_core(modname: str) -> None:
    path = Path(importlib.import_module(modname).__file__ or "")
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not node.module.startswith(ABOVE_CORE), f"{modname} imports {node.module}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert not alias.name.startswith(ABOVE_CORE), f"{modname} imports {alias.name}"


def test_storage_feeds_cache_only_through_the_listwatch_protocol() -> None:
    root = Path(goprims.__file__).parent / "storage"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("goprims.cache")
            ):
                assert node.module == "goprims.cache.listwatch", (
                    f"{path.name} imports {node.module}"
                )

"""Package-wide contract checks: exceptions importable from the top level, docstrings present,
and the layering (core modules import nothing above them)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
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


# ------------------------------------------------------------------------------ a light import

HEAVY = ("trio", "asyncio", "goprims.cache", "goprims.storage", "goprims.workqueue")


def _run_isolated(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the lines it printed."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.split()


def test_a_thread_program_using_a_channel_never_imports_trio_asyncio_or_the_layers() -> None:
    code = textwrap.dedent(
        """
        import sys, threading
        import goprims
        ch = goprims.Chan(1)
        back = goprims.Chan(0)
        t = threading.Thread(target=lambda: back.send(ch.recv() + 1))
        t.start()
        ch.send(41)
        assert back.recv() == 42
        t.join()
        for m in sys.modules:
            print(m)
        """
    )
    loaded = set(_run_isolated(code))
    assert "goprims.chan" in loaded
    assert not [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)], loaded
    assert not [m for m in loaded if m.startswith("prometheus")]


def test_import_goprims_alone_imports_none_of_its_modules() -> None:
    code = "import sys, goprims\nfor m in sys.modules: print(m)"
    loaded = _run_isolated(code)
    assert [m for m in loaded if m.startswith("goprims.")] == []


def test_every_name_in_all_resolves_and_is_listed_by_dir() -> None:
    code = textwrap.dedent(
        """
        import goprims
        for name in goprims.__all__:
            assert getattr(goprims, name) is not None, name
        assert set(goprims.__all__) <= set(dir(goprims))
        print(len(goprims.__all__))
        """
    )
    assert int(_run_isolated(code)[0]) == len(goprims.__all__) > 0


def test_an_unknown_top_level_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        goprims.no_such_name  # noqa: B018


def test_public_subpackages_are_reachable_as_attributes() -> None:
    code = "import goprims\nprint(goprims.cache.FIFOClosed.__name__, goprims.sync.Once.__name__)"
    assert _run_isolated(code) == ["FIFOClosed", "Once"]


def test_the_lazy_table_and_the_type_checking_imports_list_the_same_names() -> None:
    tree = ast.parse(Path(goprims.__file__).read_text())
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                for alias in stmt.names:
                    assert alias.asname == alias.name, "re-export as `Name as Name`"
                    typed[alias.name] = stmt.module
    assert typed == goprims._LAZY
    assert goprims.__all__ == sorted(goprims._LAZY)

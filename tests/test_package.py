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
    "goprims.backoff",
    "goprims.stop",
    "goprims.maps.sync_map",
    "goprims.maps.nested_map",
    "goprims._waiter",
}
ABOVE_CORE = (
    "goprims.workqueue",
    "goprims.cache",
    "goprims.storage",
    "goprims.watch",
    "goprims.scheduling",
    "goprims.controller",
    "goprims.discovery",
    "goprims.konfig",
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


# --------------------------------------------------------------------------- the watch layer


def _goprims_imports(path: Path) -> list[str]:
    """Every ``goprims...`` module that the source file at ``path`` imports, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [m for m in found if m == "goprims" or m.startswith("goprims.")]


def test_no_storage_module_imports_the_cache_layer() -> None:
    root = Path(goprims.__file__).parent / "storage"
    paths = sorted(root.rglob("*.py"))
    assert paths
    for path in paths:
        for mod in _goprims_imports(path):
            assert not mod.startswith("goprims.cache"), f"{path.name} imports {mod}"


def test_importing_every_storage_module_loads_nothing_of_the_cache_layer() -> None:
    mods = ", ".join(m for m in MODULES if m.startswith("goprims.storage"))
    loaded = _run_isolated(
        f"import sys; import {mods}\n"
        "print(*sorted(m for m in sys.modules if m.startswith('goprims.')))"
    )
    assert "goprims.storage.memory" in loaded
    assert [m for m in loaded if m.startswith("goprims.cache")] == []


def test_the_watch_protocol_imports_nothing_of_goprims_but_itself() -> None:
    loaded = _run_isolated(
        "import sys\n"
        "from goprims.watch import EventType, ListerWatcher, ListResult, ListWatch, "
        "ResourceExpired, TooLargeResourceVersion, Watch, WatchEvent\n"
        "print(*sorted(m for m in sys.modules if m.startswith('goprims')))"
    )
    assert loaded == ["goprims", "goprims.watch", "goprims.watch.errors", "goprims.watch.interface"]


def test_watch_modules_import_only_the_watch_package_and_chan_watch_the_channels() -> None:
    root = Path(goprims.__file__).parent / "watch"
    for path in sorted(root.glob("*.py")):
        allowed = ("goprims.watch", "goprims.chan") if path.name == "chan_watch.py" else ()
        for mod in _goprims_imports(path):
            assert mod.startswith(("goprims.watch", *allowed)), f"{path.name} imports {mod}"


def test_chan_watch_is_imported_from_the_watch_package_on_first_access() -> None:
    loaded = _run_isolated(
        "import sys, goprims.watch as w\n"
        "print('before', 'goprims.chan' in sys.modules)\n"
        "cw = w.ChanWatch\n"
        "print('after', 'goprims.chan' in sys.modules, cw.__module__)"
    )
    assert loaded == ["before", "False", "after", "True", "goprims.watch.chan_watch"]


WATCH_NAMES = [
    "ChanWatch",
    "EventType",
    "ListResult",
    "ListWatch",
    "ListerWatcher",
    "ResourceExpired",
    "TooLargeResourceVersion",
    "Watch",
    "WatchEvent",
]


@pytest.mark.parametrize("name", WATCH_NAMES)
def test_every_old_import_path_of_a_watch_name_gives_the_same_object(name: str) -> None:
    import goprims.cache
    import goprims.cache.listwatch
    import goprims.watch

    obj = getattr(goprims.watch, name)
    assert obj.__module__.startswith("goprims.watch.")
    assert getattr(goprims.cache, name) is obj
    assert getattr(goprims.cache.listwatch, name) is obj


def test_the_storage_layer_re_exports_the_watch_errors() -> None:
    import goprims.storage
    import goprims.storage.errors
    import goprims.watch

    for name in ("ResourceExpired", "TooLargeResourceVersion"):
        obj = getattr(goprims.watch, name)
        assert getattr(goprims.storage, name) is obj
        assert getattr(goprims.storage.errors, name) is obj
        assert getattr(goprims, name) is obj


def test_every_public_storage_error_is_defined_in_storage_errors() -> None:
    errors = [
        (modname, name, obj)
        for modname in MODULES
        if modname.startswith("goprims.storage")
        for name, obj in public_names(modname)
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    ]
    assert {name for _, name, _ in errors} >= {"CorruptObject", "EtcdError", "StorageUnavailable"}
    for modname, name, obj in errors:
        assert obj.__module__ in ("goprims.storage.errors", "goprims.watch.errors"), (
            f"{modname}.{name} is defined in {obj.__module__}"
        )
        import goprims.storage.errors

        assert getattr(goprims.storage.errors, name) is obj


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
                assert isinstance(stmt, ast.ImportFrom)
                assert stmt.module
                for alias in stmt.names:
                    assert alias.asname == alias.name, "re-export as `Name as Name`"
                    typed[alias.name] = stmt.module
    assert typed == goprims._LAZY
    assert goprims.__all__ == sorted(goprims._LAZY)


# ------------------------------------------------------------------------------------ packaging


def test_the_version_has_one_source_that_the_installed_metadata_reports() -> None:
    # pyproject.toml declares the version dynamic, read from goprims.__version__; nothing else
    # in the project may spell it.
    import importlib.metadata

    assert importlib.metadata.version("goprims") == goprims.__version__
    root = Path(__file__).resolve().parent.parent
    pyproject = (root / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "goprims.__version__" }' in pyproject

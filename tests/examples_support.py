"""Loading the example programs (examples/*.py) in the tests: they are scripts, not modules on
the import path, and the tests load them the way a user runs them, from outside the library."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_example(path: Path, module_name: str) -> ModuleType:
    """Execute the example at ``path`` as the module ``module_name`` (registered in
    ``sys.modules``, as dataclasses and pickling need) and return it."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod

"""PyYAML, imported on first use (an optional extra: ``pip install 'goprims[yaml]'``)."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def require_yaml() -> ModuleType:
    """The ``yaml`` module, or an :class:`ImportError` that says how to get it."""
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a dev dependency
        raise ImportError(
            "YAML framing needs PyYAML: pip install 'goprims[yaml]' (or PyYAML>=6)"
        ) from exc
    return yaml


def safe_load(data: bytes | str) -> Any:
    """``yaml.safe_load`` with the C loader when PyYAML was built with libyaml."""
    yaml = require_yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(data, Loader=loader)


def safe_dump(obj: Any) -> str:
    """``yaml.safe_dump`` (block style, keys in their order)."""
    yaml = require_yaml()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(obj, Dumper=dumper, default_flow_style=False, sort_keys=False))

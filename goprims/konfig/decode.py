"""Decoding a configuration sub-tree into a typed value (the origin's ``mapstructure`` with
``WeaklyTypedInput``): dataclasses from mappings, with each field converted by its annotation.

* a dataclass field takes the mapping entry named by ``field(metadata={"konfig": "name"})`` or
  else by the field's own name; unknown entries are ignored; a missing entry uses the field's
  default, and a missing entry without a default is an error;
* ``bool``, ``int``, ``float``, ``str`` convert weakly, by the typed getters' rules
  (:mod:`goprims.konfig.convert`): ``"8080"`` fills an ``int`` field;
* ``list[T]``, ``tuple[T, ...]``, ``dict[str, T]`` (and their ``collections.abc`` forms) decode
  element by element; ``X | None`` accepts a null; a union tries its members in order;
  nested dataclasses recurse; ``Any`` (or no annotation) takes the value as plain dicts and lists.

Errors raise :class:`ValueError` naming the path of the offending entry.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from goprims.konfig.convert import thaw, to_bool, to_float, to_int, to_str

__all__ = ["decoder_for"]

_SCALARS: dict[Any, Callable[[Any], Any]] = {
    bool: to_bool,
    int: to_int,
    float: to_float,
    str: to_str,
}


def decoder_for(target: Any) -> Callable[[Any], Any]:
    """A function turning a frozen sub-tree into what ``target`` describes: a dataclass type is
    built field by field (see the module docstring); any other callable is called with the
    sub-tree as plain dicts and lists and returns the value. Raises :class:`TypeError` for a
    non-callable ``target``."""
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        return lambda raw: _decode(target, raw, "")
    if callable(target):
        return lambda raw: target(thaw(raw))
    raise TypeError(f"register needs a dataclass type or a callable, got {target!r}")


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _decode(tp: Any, raw: Any, path: str) -> Any:
    if tp is Any or tp is object:
        return thaw(raw)
    conv = _SCALARS.get(tp)
    if conv is not None:
        try:
            return conv(raw)
        except ValueError as exc:
            raise ValueError(f"{exc}{_where(path)}") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, raw, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        if raw is None and type(None) in args:
            return None
        errors = []
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _decode(arm, raw, path)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or f"null not allowed{_where(path)}")
    if origin in (list, tuple, typing.Sequence, _abc("Sequence")):
        if not isinstance(raw, tuple):
            raise ValueError(f"expected a list, got {type(raw).__name__}{_where(path)}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(raw):
                raise ValueError(f"expected {len(args)} items, got {len(raw)}{_where(path)}")
            return tuple(
                _decode(a, x, f"{path}[{i}]")
                for i, (a, x) in enumerate(zip(args, raw, strict=True))
            )
        item = args[0] if args else Any
        items = [_decode(item, x, f"{path}[{i}]") for i, x in enumerate(raw)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, typing.Mapping, _abc("Mapping")):
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected a mapping, got {type(raw).__name__}{_where(path)}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _decode(vt, v, f"{path}.{k}" if path else k) for k, v in raw.items()}
    if isinstance(tp, type):
        if isinstance(raw, tp):
            return raw
        raise ValueError(f"expected {tp.__name__}, got {type(raw).__name__}{_where(path)}")
    raise ValueError(f"cannot decode into {tp!r}{_where(path)}")


def _abc(name: str) -> Any:
    import collections.abc

    return getattr(collections.abc, name)


def _decode_dataclass(cls: type, raw: Any, path: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"expected a mapping for {cls.__name__}, got {type(raw).__name__}{_where(path)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        name = f.metadata.get("konfig", f.name)
        sub = f"{path}.{name}" if path else name
        if name in raw:
            kwargs[f.name] = _decode(hints.get(f.name, Any), raw[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"missing required entry {sub!r} for {cls.__name__}")
    return cls(**kwargs)

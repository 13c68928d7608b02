"""Label and field selectors as the Kubernetes API parses them (apimachinery ``labels.Parse``
and ``fields.ParseSelector``), to filter lists and watches on the embedded server.

Label selectors: comma-separated requirements, all of which must hold: ``k=v``, ``k==v``,
``k!=v`` (true when the label is absent), ``k in (a,b)``, ``k notin (a,b)`` (true when absent),
``k`` (exists) and ``!k`` (does not exist). Field selectors: ``f=v``, ``f==v``, ``f!=v`` on the
fields a generic resource supports, ``metadata.name`` and ``metadata.namespace``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["InvalidSelector", "parse_field_selector", "parse_label_selector"]

Predicate = Callable[[dict[str, Any]], bool]

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_REQ = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_FIELDS = ("metadata.name", "metadata.namespace")


class InvalidSelector(ValueError):
    """A selector that does not parse (the server answers 400 BadRequest)."""


def _split_requirements(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    out: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise InvalidSelector(f"unbalanced ')' in selector {text!r}")
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise InvalidSelector(f"unbalanced '(' in selector {text!r}")
    out.append("".join(cur))
    return [r.strip() for r in out]


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    md = obj.get("metadata") or {}
    labels = md.get("labels") or {}
    return labels if isinstance(labels, dict) else {}


def _check_key(key: str, text: str) -> str:
    if not _LABEL_KEY.match(key):
        raise InvalidSelector(f"invalid label key {key!r} in selector {text!r}")
    return key


def _check_value(value: str, text: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise InvalidSelector(f"invalid label value {value!r} in selector {text!r}")
    return value


def _label_requirement(req: str, text: str) -> Predicate:
    m = _SET_REQ.match(req)
    if m:
        key = _check_key(m.group(1), text)
        values = frozenset(_check_value(v.strip(), text) for v in m.group(3).split(","))
        if m.group(2) == "in":
            return lambda o: _labels(o).get(key) in values
        return lambda o: _labels(o).get(key) not in values
    for op in ("!=", "==", "="):
        if op in req:
            k, v = req.split(op, 1)
            key = _check_key(k.strip(), text)
            value = _check_value(v.strip(), text)
            if op == "!=":
                return lambda o: _labels(o).get(key) != value
            return lambda o: _labels(o).get(key) == value
    if req.startswith("!"):
        key = _check_key(req[1:].strip(), text)
        return lambda o: key not in _labels(o)
    key = _check_key(req, text)
    return lambda o: key in _labels(o)


def parse_label_selector(text: str | None) -> Predicate | None:
    """A predicate over objects for a label selector string; ``None`` for an empty selector
    (everything matches). Raises :class:`InvalidSelector`."""
    if text is None or not text.strip():
        return None
    preds = [_label_requirement(r, text) for r in _split_requirements(text) if r or _bad(text)]
    return lambda o: all(p(o) for p in preds)


def _bad(text: str) -> bool:
    raise InvalidSelector(f"empty requirement in selector {text!r}")


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def _field_predicate(field: str, value: str, equal: bool) -> Predicate:
    return lambda o: (_field_value(o, field) == value) == equal


def parse_field_selector(text: str | None) -> Predicate | None:
    """A predicate for a field selector on ``metadata.name`` / ``metadata.namespace``; ``None``
    for an empty selector. Other fields raise :class:`InvalidSelector` (as the API server does
    for a resource without field label conversions)."""
    if text is None or not text.strip():
        return None
    preds: list[Predicate] = []
    for req in _split_requirements(text):
        for op in ("!=", "==", "="):
            if op in req:
                f, v = (s.strip() for s in req.split(op, 1))
                break
        else:
            raise InvalidSelector(f"invalid field selector {text!r}: want field=value")
        if f not in _FIELDS:
            raise InvalidSelector(f'field label not supported: "{f}"')
        preds.append(_field_predicate(f, v, op != "!="))
    return lambda o: all(p(o) for p in preds)

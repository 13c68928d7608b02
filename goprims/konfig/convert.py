"""Value conversions of the typed getters, as the origin konfig does them, and the read-only
form (:func:`freeze`) in which parsed values are published.

The origin reads YAML through JSON, so its numbers are ``float64``; here YAML integers stay
``int`` (no precision lost), and the rules below are the origin's otherwise:

* bool: a bool; a number (non-zero is true); a string ``"true"``/``"false"`` in any case, or a
  string that parses as a number (non-zero is true).
* int: an int; a float truncated toward zero (``int(2.9) == 2``, ``int(-2.9) == -2``); a bool
  (1/0); a string ``"true"``/``"false"`` (1/0), an integer literal, or a number literal
  truncated.
* float: a number; a string that parses as a number. A bool does not convert (as the origin).
* str: a string as is; ``true``/``false`` for bools; integers in decimal; floats as Go's ``%v``
  (see :func:`go_float`); ``""`` for a YAML null (Go prints ``<nil>``); mappings and lists as
  JSON (Go prints ``map[...]``).

A value that does not convert raises :class:`ValueError`; the getters turn that into the
revision ``PARSE_FAILED``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["freeze", "go_float", "thaw", "to_bool", "to_float", "to_int", "to_str"]


def _parse_float(s: str) -> float:
    """Go's ``strconv.ParseFloat(s, 64)`` for the forms configuration values use: decimal and
    exponent notation, ``inf``/``infinity``/``nan`` in any case with an optional sign, and hex
    floats (``0x1p-2``). No surrounding spaces, no underscores (Go allows those only with a
    base prefix). Raises :class:`ValueError`."""
    if not s or s != s.strip() or "_" in s:
        raise ValueError(f"not a number: {s!r}")
    body = s[1:] if s[0] in "+-" else s
    try:
        if body[:2].lower() == "0x":
            return float.fromhex(s)
        return float(s)
    except ValueError:
        raise ValueError(f"not a number: {s!r}") from None


def to_bool(v: Any) -> bool:
    """The origin's ``GetBool`` conversion (see the module docstring)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, str):
        low = v.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        return _parse_float(v) != 0
    raise ValueError(f"cannot convert {type(v).__name__} to bool")


def _trunc(f: float) -> int:
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"cannot convert {f!r} to int")
    return int(f)


def to_int(v: Any) -> int:
    """The origin's ``GetInt64`` conversion (see the module docstring)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return _trunc(v)
    if isinstance(v, str):
        low = v.lower()
        if low == "true":
            return 1
        if low == "false":
            return 0
        body = v[1:] if v[:1] in "+-" else v
        if body.isdigit() and body.isascii():  # exact, however large
            return int(v)
        return _trunc(_parse_float(v))
    raise ValueError(f"cannot convert {type(v).__name__} to int")


def to_float(v: Any) -> float:
    """The origin's ``GetFloat64`` conversion (see the module docstring)."""
    if isinstance(v, bool):
        raise ValueError("cannot convert bool to float")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        return _parse_float(v)
    raise ValueError(f"cannot convert {type(v).__name__} to float")


def go_float(f: float) -> str:
    """``f`` as Go's ``fmt.Sprintf("%v", f)`` prints a float64: the shortest digits that
    round-trip, in exponent form (``1e+06``, ``1.5e-05``, ``1.23456789e+08``) when the decimal
    exponent is below -4 or at least 6, plain otherwise (``1``, ``0.25``, ``123456``);
    ``+Inf``, ``-Inf``, ``NaN``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    # repr gives the shortest round-tripping digits; take the digits and exponent from it
    r = repr(abs(f))
    if "e" in r:
        m, _, e = r.partition("e")
        digits = m.replace(".", "")
        exp = int(e) + (m.index(".") if "." in m else len(m)) - 1
    else:
        ip, _, fp = r.partition(".")
        fp = "" if fp == "0" else fp
        if ip != "0":
            digits = ip + fp
            exp = len(ip) - 1
        else:
            stripped = fp.lstrip("0")
            exp = -(len(fp) - len(stripped)) - 1
            digits = stripped
    digits = digits.lstrip("0").rstrip("0") or "0"
    sign = "-" if f < 0 else ""
    if exp < -4 or exp >= 6:  # strconv 'g' with the shortest precision uses 6 here
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return sign + digits + "0" * (exp + 1 - len(digits))
    return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"


def to_str(v: Any) -> str:
    """The origin's ``GetString`` conversion (see the module docstring)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    return json.dumps(thaw(v), default=str)


def _key(k: Any) -> str:
    """YAML mapping keys as the origin sees them through JSON: strings."""
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    return to_str(k)


def freeze(v: Any) -> Any:
    """A read-only deep copy of parsed YAML: mappings become :class:`types.MappingProxyType`
    (keys turned into strings), lists become tuples. Readers share it without copying."""
    if isinstance(v, Mapping):
        return MappingProxyType({_key(k): freeze(x) for k, x in v.items()})
    if isinstance(v, (list, tuple)):
        return tuple(freeze(x) for x in v)
    return v


def thaw(v: Any) -> Any:
    """The mutable twin of a frozen value (``dict`` and ``list``), e.g. for a decoder."""
    if isinstance(v, Mapping):
        return {k: thaw(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [thaw(x) for x in v]
    return v

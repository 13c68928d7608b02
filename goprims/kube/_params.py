"""Query parameters of list and watch requests: flags, numbers, selectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from goprims.kube._errors import (
    bad_request,
)
from goprims.kube.selectors import InvalidSelector, parse_field_selector, parse_label_selector


def truthy(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "t", "yes")


def predicate(q: dict[str, str]) -> Callable[[dict[str, Any]], bool] | None:
    try:
        lp = parse_label_selector(q.get("labelSelector"))
        fp = parse_field_selector(q.get("fieldSelector"))
    except InvalidSelector as err:
        raise bad_request(f"unable to parse requirement: {err}") from None
    if lp is None:
        return fp
    if fp is None:
        return lp
    return lambda o: lp(o) and fp(o)


def int_param(q: dict[str, str], name: str, default: int) -> int:
    v = q.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise bad_request(f"invalid {name}: {v!r} is not an integer") from None
    if n < 0:
        raise bad_request(f"invalid {name}: {v!r} is negative")
    return n


def float_param(q: dict[str, str], name: str, default: float) -> float:
    v = q.get(name)
    if v is None or v == "":
        return default
    try:
        return float(v)
    except ValueError:
        raise bad_request(f"invalid {name}: {v!r} is not a number") from None

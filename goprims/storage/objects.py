"""How a storage reads and stamps objects: metadata access, resource versions and copies.

Objects are Kubernetes-shaped (see :mod:`goprims.cache`):

* a mapping (usually a ``dict``) whose ``"metadata"`` entry is a mutable mapping holding
  ``"resourceVersion"``; or
* any object with a ``.metadata`` attribute: a mutable mapping as above, or an object whose
  ``resource_version`` attribute (the official ``kubernetes`` client's ``V1ObjectMeta``) or,
  failing that, ``resourceVersion`` attribute holds the version.

A resource version is a decimal string of a storage revision; ``""`` means "none" and parses to 0.
Every backend of :class:`goprims.storage.Storage` uses these helpers, so they agree on the rules.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from typing import Any, TypeVar

from goprims.storage.errors import InvalidObject, InvalidResourceVersion

__all__ = [
    "check_key",
    "copy_object",
    "parse_resource_version",
    "resource_version_of",
    "set_resource_version",
]

ObjT = TypeVar("ObjT")

_ATOMIC = frozenset({str, int, float, bool, bytes, type(None)})


def copy_object(obj: ObjT) -> ObjT:
    """A deep copy of ``obj``. JSON-shaped data (``dict``, ``list``, ``str``, numbers, ``None``)
    is copied by a fast path; anything else goes through :func:`copy.deepcopy`."""
    t = type(obj)
    if t is dict:
        return _copy_dict(obj)  # type: ignore[arg-type,return-value]
    if t is list:
        return _copy_list(obj)  # type: ignore[arg-type,return-value]
    if t in _ATOMIC:
        return obj
    return copy.deepcopy(obj)


def _copy_dict(d: dict[Any, Any]) -> dict[Any, Any]:
    out = {}
    for k, v in d.items():
        t = type(v)
        if t is dict:
            v = _copy_dict(v)
        elif t is list:
            v = _copy_list(v)
        elif t not in _ATOMIC:
            v = copy.deepcopy(v)
        out[k] = v
    return out


def _copy_list(items: list[Any]) -> list[Any]:
    out = []
    for v in items:
        t = type(v)
        if t is dict:
            v = _copy_dict(v)
        elif t is list:
            v = _copy_list(v)
        elif t not in _ATOMIC:
            v = copy.deepcopy(v)
        out.append(v)
    return out


def _metadata(obj: Any) -> Any:
    if type(obj) is dict:  # the common case, without the slower ABC checks below
        meta = obj.get("metadata")
        if type(meta) is dict:
            return meta
    if isinstance(obj, Mapping):
        meta = obj.get("metadata")
        if not isinstance(meta, MutableMapping):
            raise InvalidObject(
                f"object has no metadata mapping (a dict needs a 'metadata' dict): {obj!r:.200}"
            )
        return meta
    meta = getattr(obj, "metadata", None)
    if meta is None:
        raise InvalidObject(
            f"object has no metadata (neither a dict with 'metadata' nor an object with a "
            f".metadata attribute): {obj!r:.200}"
        )
    return meta


def resource_version_of(obj: Any) -> str:
    """``obj``'s ``metadata.resourceVersion`` as a string (``""`` when unset). Raises
    :class:`InvalidObject` if ``obj`` has no metadata or the version is neither a string, an
    int nor ``None``."""
    meta = _metadata(obj)
    if type(meta) is dict or isinstance(meta, Mapping):
        rv = meta.get("resourceVersion")
    elif hasattr(meta, "resource_version"):
        rv = meta.resource_version
    else:
        rv = getattr(meta, "resourceVersion", None)
    if rv is None:
        return ""
    if isinstance(rv, str):
        return rv
    if isinstance(rv, int) and not isinstance(rv, bool):
        return str(rv)
    raise InvalidObject(f"metadata.resourceVersion must be a string, not {type(rv).__name__}")


def set_resource_version(obj: Any, rv: str) -> None:
    """Set ``obj``'s ``metadata.resourceVersion`` to ``rv`` **in place** (call it on a private
    copy). Raises :class:`InvalidObject` if ``obj`` has no metadata or it cannot be set."""
    meta = _metadata(obj)
    try:
        if type(meta) is dict or isinstance(meta, MutableMapping):
            meta["resourceVersion"] = rv
        elif hasattr(meta, "resource_version") or not hasattr(meta, "resourceVersion"):
            meta.resource_version = rv
        else:
            meta.resourceVersion = rv
    except (AttributeError, TypeError) as e:
        raise InvalidObject(f"cannot set metadata.resourceVersion: {e}") from e


def parse_resource_version(rv: str | int) -> int:
    """The revision a resource version names: ``""`` and ``"0"`` give 0 ("none"/"any"), a
    decimal string or a non-negative int gives its value. Anything else raises
    :class:`InvalidResourceVersion`."""
    if isinstance(rv, str):
        if rv == "":
            return 0
        if rv.isascii() and rv.isdigit():
            return int(rv)
    elif isinstance(rv, int) and not isinstance(rv, bool) and rv >= 0:
        return rv
    raise InvalidResourceVersion(f"invalid resource version {rv!r}: want a decimal string")


def check_key(key: object) -> str:
    """``key`` if it is a non-empty string; :class:`TypeError` / :class:`ValueError` otherwise."""
    if not isinstance(key, str):
        raise TypeError(f"storage key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("storage key must not be empty")
    return key

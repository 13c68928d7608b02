"""Keys: how a cache names a Kubernetes-shaped object (client-go ``tools/cache`` key functions).

An *object* is either a ``dict`` (any ``Mapping``) with a ``"metadata"`` mapping carrying
``name``, ``namespace`` and ``resourceVersion``, or any object with a ``.metadata`` attribute whose
own attributes are ``name``, ``namespace`` and ``resource_version`` (the official ``kubernetes``
client's snake_case models) or ``resourceVersion``. A ``.metadata`` that is itself a mapping is read
like a dict's.

A *key* is ``"<namespace>/<name>"``, or just ``"<name>"`` for an object without a namespace
(cluster-scoped). :func:`split_meta_namespace_key` turns a key back into its two parts.

A *key function* maps an object to its key and raises :class:`CacheKeyError` when it cannot. An
*index function* maps an object to the list of values under which an index files it.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NAMESPACE_INDEX",
    "CacheKeyError",
    "DeletedFinalStateUnknown",
    "ExplicitKey",
    "IndexFunc",
    "KeyFunc",
    "deletion_handling_meta_namespace_key_func",
    "meta_namespace_index_func",
    "meta_namespace_key_func",
    "object_labels",
    "object_namespace_and_name",
    "object_resource_version",
    "split_meta_namespace_key",
]

KeyFunc = Callable[[Any], str]
"""Maps an object to its cache key; raises :class:`CacheKeyError` when the object has none."""

IndexFunc = Callable[[Any], Iterable[str]]
"""Maps an object to the values an index files it under: zero, one or several strings.

Any iterable of strings other than a bare ``str`` is accepted; duplicates count once.
"""

NAMESPACE_INDEX = "namespace"
"""The conventional name of the index built by :func:`meta_namespace_index_func`."""

_short_repr = reprlib.Repr()
_short_repr.maxstring = 60
_short_repr.maxother = 60
_short_repr.maxdict = 6
_short_repr.maxlevel = 3


class CacheKeyError(ValueError):
    """A key function could not compute a key for ``obj`` (client-go's ``KeyError``).

    ``obj`` is the offending object and ``err`` the underlying reason: an exception raised by the
    key function (also chained as ``__cause__``) or a message. A ``ValueError``, since it always
    means "this value cannot be keyed".
    """

    def __init__(self, obj: Any, err: BaseException | str) -> None:
        super().__init__(obj, err)
        self.obj = obj
        self.err = err

    def __str__(self) -> str:
        return f"couldn't create key for object {_short_repr.repr(self.obj)}: {self.err}"


class ExplicitKey(str):
    """A string that *is* its own key: key functions return it unchanged (Go's ``ExplicitKey``)."""

    __slots__ = ()


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A tombstone: ``key`` was deleted, but the deletion was detected on a relist, not watched.

    ``obj`` is the last state the cache knew; it may be stale, or ``None`` when nothing was known.
    DeltaFIFO and RealFIFO queue these in ``DELETED`` deltas; the key functions below key them by
    ``key``.
    """

    key: str
    obj: Any


# ------------------------------------------------------------------------------ metadata access


def _metadata(obj: Any) -> Any:
    """The metadata of ``obj`` (a mapping or an attribute object), or raise CacheKeyError."""
    if isinstance(obj, Mapping):
        md = obj.get("metadata")
    elif isinstance(obj, (str, bytes)):  # a bare string has attributes but no metadata
        md = None
    else:
        md = getattr(obj, "metadata", None)
    if md is None:
        raise CacheKeyError(obj, "object has no meta")
    return md


def _field(md: Any, name: str, attr: str | None = None) -> Any:
    """``md[name]`` for a mapping, else attribute ``attr`` (default ``name``); None if absent."""
    if isinstance(md, Mapping):
        return md.get(name)
    return getattr(md, attr or name, None)


def object_namespace_and_name(obj: Any) -> tuple[str, str]:
    """``(namespace, name)`` of ``obj``; the namespace is ``""`` for a cluster-scoped object.

    Raises :class:`CacheKeyError` if ``obj`` has no metadata, no non-empty string name, or a
    namespace that is not a string.
    """
    md = _metadata(obj)
    name = _field(md, "name")
    ns = _field(md, "namespace")
    if ns is None:
        ns = ""
    if not isinstance(name, str) or not name:
        raise CacheKeyError(obj, "object has no name")
    if not isinstance(ns, str):
        raise CacheKeyError(obj, f"namespace is not a string: {ns!r}")
    return ns, name


def object_resource_version(obj: Any) -> str:
    """``metadata.resourceVersion`` (or ``.resource_version``) of ``obj``; ``""`` if unset.

    Raises :class:`CacheKeyError` if ``obj`` has no metadata.
    """
    md = _metadata(obj)
    if isinstance(md, Mapping):
        rv = md.get("resourceVersion")
    else:
        rv = getattr(md, "resource_version", None)
        if rv is None:
            rv = getattr(md, "resourceVersion", None)
    return "" if rv is None else str(rv)


def object_labels(obj: Any) -> Mapping[str, str]:
    """``metadata.labels`` of ``obj``; an empty mapping if it has none.

    Raises :class:`CacheKeyError` if ``obj`` has no metadata.
    """
    labels = _field(_metadata(obj), "labels")
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise CacheKeyError(obj, f"labels are not a mapping: {labels!r}")
    return labels


# ------------------------------------------------------------------------------- key functions


def meta_namespace_key_func(obj: Any) -> str:
    """``"<namespace>/<name>"``, or ``"<name>"`` when the namespace is empty.

    An :class:`ExplicitKey` is returned unchanged. Raises :class:`CacheKeyError` for an object
    without metadata or without a name. (Stricter than Go, which keys a nameless object as ``""``.)
    """
    if type(obj) is dict:  # fast path for plain dicts; anything unusual takes the general one
        md = obj.get("metadata")
        if type(md) is dict:
            name = md.get("name")
            ns = md.get("namespace")
            if type(name) is str and name:
                if ns is None or ns == "":
                    return name
                if type(ns) is str:
                    return f"{ns}/{name}"
    elif isinstance(obj, ExplicitKey):
        return str(obj)
    ns, name = object_namespace_and_name(obj)
    return f"{ns}/{name}" if ns else name


def deletion_handling_meta_namespace_key_func(obj: Any) -> str:
    """Like :func:`meta_namespace_key_func`, but a :class:`DeletedFinalStateUnknown` gives its key.

    Informers key their indexer with this function, so that a tombstone popped from a FIFO deletes
    the right entry.
    """
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    return meta_namespace_key_func(obj)


def split_meta_namespace_key(key: str) -> tuple[str, str]:
    """Split a key into ``(namespace, name)``: ``"ns/name"`` -> ``("ns", "name")``, ``"name"`` ->
    ``("", "name")``.

    Raises ``ValueError`` for any other shape: more than one ``/``, an empty name, or an empty
    namespace before a ``/`` (Go accepts the last two and returns empty parts; no key function
    produces them). Raises ``TypeError`` if ``key`` is not a string.
    """
    if not isinstance(key, str):
        raise TypeError(f"a cache key is a str, not {type(key).__name__}")
    parts = key.split("/")
    if len(parts) == 1:
        ns, name = "", parts[0]
    elif len(parts) == 2:
        ns, name = parts
        if not ns:
            raise ValueError(f"unexpected key format: {key!r} (empty namespace)")
    else:
        raise ValueError(f"unexpected key format: {key!r}")
    if not name:
        raise ValueError(f"unexpected key format: {key!r} (empty name)")
    return ns, name


def meta_namespace_index_func(obj: Any) -> list[str]:
    """Index function filing an object under its namespace: ``[namespace]`` (``[""]`` if none).

    Register it as ``{NAMESPACE_INDEX: meta_namespace_index_func}``. Raises
    :class:`CacheKeyError` for an object without metadata.
    """
    if type(obj) is dict:  # fast path for plain dicts
        md = obj.get("metadata")
        if type(md) is dict:
            ns = md.get("namespace")
            if type(ns) is str:
                return [ns]
    md = _metadata(obj)
    ns = _field(md, "namespace")
    if ns is None:
        return [""]
    if not isinstance(ns, str):
        raise CacheKeyError(obj, f"namespace is not a string: {ns!r}")
    return [ns]

"""Listers: read-only, namespace-aware views of an informer's cache (client-go ``listers.go``).

``Lister(indexer)`` lists and gets objects by name; ``lister.by_namespace(ns)`` does the same within
one namespace, through the indexer's ``NAMESPACE_INDEX`` when it has one (informers register
``{NAMESPACE_INDEX: meta_namespace_index_func}``) and by a linear scan otherwise.

A *selector* filters ``list``: ``None`` (or an empty mapping) matches everything; a mapping of
labels matches objects whose ``metadata.labels`` contain every one of those label/value pairs; a
callable ``selector(obj) -> bool`` is used as is.

The objects returned are the cache's own: treat them as read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Union

from goprims.cache.keys import NAMESPACE_INDEX, object_labels, object_namespace_and_name
from goprims.cache.store import Store

__all__ = ["Lister", "ListerNotFound", "NamespaceLister", "Selector"]

logger = logging.getLogger(__name__)

Selector = Union[Mapping[str, str], Callable[[Any], bool], None]
"""A label mapping that must all match, a predicate, or None for everything."""


class ListerNotFound(KeyError):
    """``get`` found no object with that name (client-go's NotFound error from a lister).

    ``resource`` is the lister's resource name (may be ``""``), ``name`` the name asked for and
    ``key`` the cache key looked up.
    """

    def __init__(self, resource: str, name: str, key: str) -> None:
        super().__init__(key)
        self.resource = resource
        self.name = name
        self.key = key

    def __str__(self) -> str:
        what = f"{self.resource} " if self.resource else ""
        return f'{what}"{self.name}" not found'


def _matcher(selector: Selector) -> Callable[[Any], bool] | None:
    """A predicate for ``selector``, or None when it matches everything."""
    if selector is None:
        return None
    if isinstance(selector, Mapping):
        if not selector:
            return None
        wanted = list(selector.items())

        def match(obj: Any) -> bool:
            labels = object_labels(obj)
            return all(k in labels and labels[k] == v for k, v in wanted)

        return match
    if callable(selector):
        return selector
    raise TypeError(
        f"a selector is a mapping of labels, a callable or None, not {type(selector).__name__}"
    )


def _filtered(objs: list[Any], match: Callable[[Any], bool] | None) -> list[Any]:
    return objs if match is None else [o for o in objs if match(o)]


class Lister:
    """A read-only view of ``indexer`` (any :class:`~goprims.cache.store.Store`; one with a
    ``NAMESPACE_INDEX`` index, as informers build, makes ``by_namespace`` fast).

    ``resource`` (e.g. ``"pods"``) only names the resource in :class:`ListerNotFound` messages.
    """

    def __init__(self, indexer: Store, resource: str = "") -> None:
        self._indexer = indexer
        self._resource = resource

    def list(self, selector: Selector = None) -> list[Any]:
        """Every cached object matching ``selector``, across all namespaces, in no particular
        order. Raises ``TypeError`` for a selector of another type."""
        match = _matcher(selector)
        return _filtered(self._indexer.list(), match)

    def get(self, name: str) -> Any:
        """The object whose key is ``name`` (a cluster-scoped object, or a full ``ns/name`` key).

        Raises :class:`ListerNotFound` if there is none.
        """
        obj, exists = self._indexer.get_by_key(name)
        if not exists:
            raise ListerNotFound(self._resource, name, name)
        return obj

    def by_namespace(self, namespace: str) -> NamespaceLister:
        """A view of the objects in ``namespace`` (``""``: every namespace, for ``list``)."""
        if not isinstance(namespace, str):
            raise TypeError(f"a namespace is a str, not {type(namespace).__name__}")
        return NamespaceLister(self._indexer, namespace, self._resource)


class NamespaceLister:
    """The objects of one namespace of a cache; obtained from :meth:`Lister.by_namespace`."""

    def __init__(self, indexer: Store, namespace: str, resource: str = "") -> None:
        self._indexer = indexer
        self._namespace = namespace
        self._resource = resource

    @property
    def namespace(self) -> str:
        """The namespace this view is restricted to."""
        return self._namespace

    def list(self, selector: Selector = None) -> list[Any]:
        """Every cached object of the namespace matching ``selector``, in no particular order.

        Uses the indexer's ``NAMESPACE_INDEX`` if it has one; otherwise logs a warning and scans
        every object. An empty namespace lists every namespace.
        """
        match = _matcher(selector)
        ns = self._namespace
        indexer = self._indexer
        if ns == "":
            return _filtered(indexer.list(), match)
        if NAMESPACE_INDEX in indexer.get_indexers():
            return _filtered(indexer.by_index(NAMESPACE_INDEX, ns), match)
        logger.warning(
            "cache has no %r index: listing namespace %r by a linear scan", NAMESPACE_INDEX, ns
        )
        return [
            o
            for o in indexer.list()
            if object_namespace_and_name(o)[0] == ns and (match is None or match(o))
        ]

    def get(self, name: str) -> Any:
        """The object ``name`` of this namespace (key ``"<namespace>/<name>"``).

        Raises :class:`ListerNotFound` if there is none.
        """
        key = f"{self._namespace}/{name}" if self._namespace else name
        obj, exists = self._indexer.get_by_key(key)
        if not exists:
            raise ListerNotFound(self._resource, name, key)
        return obj

"""Object storage the kube-apiserver way: a :class:`Storage` protocol with explicit keys, one
global revision (an object's ``metadata.resourceVersion``), compare-and-swap updates, a watch
that replays every change after a version, and compaction (old versions answer 410 Gone).

* :class:`MemoryStorage`: the embedded, in-process backend.
* ``EtcdStorage``: the same protocol on etcd v3 (:mod:`goprims.storage.etcd`, imported on first
  access of ``goprims.storage.EtcdStorage``).
* :func:`list_watch`: a ``ListerWatcher`` over a storage prefix, to feed an informer.
* Errors: :class:`AlreadyExists`, :class:`NotFound`, :class:`Conflict`, :class:`InvalidObject`,
  :class:`InvalidResourceVersion` (all :class:`StorageError`), and, shared with
  :mod:`goprims.cache`, :class:`ResourceExpired` and :class:`TooLargeResourceVersion`.
"""

from __future__ import annotations

from typing import Any

from goprims.storage.errors import (
    AlreadyExists,
    Conflict,
    InvalidObject,
    InvalidResourceVersion,
    NotFound,
    ResourceExpired,
    StorageError,
    TooLargeResourceVersion,
)
from goprims.storage.interface import Storage
from goprims.storage.listwatch import list_watch
from goprims.storage.memory import MemoryStorage

__all__ = [
    "AlreadyExists",
    "Conflict",
    "InvalidObject",
    "InvalidResourceVersion",
    "MemoryStorage",
    "NotFound",
    "ResourceExpired",
    "Storage",
    "StorageError",
    "TooLargeResourceVersion",
    "list_watch",
]


def __getattr__(name: str) -> Any:
    """``EtcdStorage`` is imported on first use, so importing :mod:`goprims.storage` never
    loads the etcd client."""
    if name == "EtcdStorage":
        from goprims.storage.etcd import EtcdStorage

        return EtcdStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

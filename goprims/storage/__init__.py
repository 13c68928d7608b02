"""Object storage the kube-apiserver way: a :class:`Storage` protocol with explicit keys, one
global revision (an object's ``metadata.resourceVersion``), compare-and-swap updates, a watch
that replays every change after a version, and compaction (old versions answer 410 Gone).

* :class:`MemoryStorage`: the embedded, in-process backend.
* :class:`EtcdStorage`: the same protocol on a real etcd v3 cluster (:mod:`goprims.storage.etcd`,
  a stdlib-only client of etcd's JSON gateway).
* :func:`list_watch`: a ``ListerWatcher`` over a storage prefix, to feed an informer.
* Errors: :class:`AlreadyExists`, :class:`NotFound`, :class:`Conflict`, :class:`InvalidObject`,
  :class:`InvalidResourceVersion`, and for etcd :class:`StorageUnavailable`, :class:`EtcdError`,
  :class:`AuthenticationFailed`, :class:`CorruptObject` (all :class:`StorageError`, all defined
  in :mod:`goprims.storage.errors`),
  and, from the watch protocol (:mod:`goprims.watch`, shared with :mod:`goprims.cache`),
  :class:`ResourceExpired` and :class:`TooLargeResourceVersion`.

``goprims.storage`` imports nothing from :mod:`goprims.cache`: both build on :mod:`goprims.watch`.
"""

from __future__ import annotations

from goprims.storage.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    CorruptObject,
    EtcdError,
    InvalidObject,
    InvalidResourceVersion,
    NotFound,
    ResourceExpired,
    StorageError,
    StorageUnavailable,
    TooLargeResourceVersion,
)
from goprims.storage.etcd import EtcdStorage
from goprims.storage.interface import Storage
from goprims.storage.listwatch import list_watch
from goprims.storage.memory import MemoryStorage

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "Conflict",
    "CorruptObject",
    "EtcdError",
    "EtcdStorage",
    "InvalidObject",
    "InvalidResourceVersion",
    "MemoryStorage",
    "NotFound",
    "ResourceExpired",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "TooLargeResourceVersion",
    "list_watch",
]

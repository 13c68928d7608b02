"""The errors of :mod:`goprims.storage` (kube-apiserver's ``storage`` errors, by name).

:class:`StorageError` is the base of the errors defined here. :class:`ResourceExpired` (410 Gone)
and :class:`TooLargeResourceVersion` are defined in :mod:`goprims.cache.listwatch`, because the
informer layer, which never imports a storage, must recognise them too; they are re-exported here.
"""

from __future__ import annotations

from goprims.cache.listwatch import ResourceExpired, TooLargeResourceVersion

__all__ = [
    "AlreadyExists",
    "Conflict",
    "InvalidObject",
    "InvalidResourceVersion",
    "NotFound",
    "ResourceExpired",
    "StorageError",
    "TooLargeResourceVersion",
]


class StorageError(Exception):
    """Base of the errors raised by a storage for a request it refuses. ``key`` is the key
    concerned ("" when none)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class AlreadyExists(StorageError):
    """``create`` of a key that already holds an object (HTTP 409, reason AlreadyExists)."""


class NotFound(StorageError, LookupError):
    """The key holds no object (HTTP 404). Also a :class:`LookupError`."""


class Conflict(StorageError):
    """A compare-and-swap failed: the caller's ``resourceVersion`` (of the object given to
    ``update``, or the ``resource_version`` precondition of ``delete``) is not the stored one
    (HTTP 409, reason Conflict). Read the object again and retry, or use ``guaranteed_update``.
    ``expected`` is the caller's version, ``actual`` the stored one."""

    def __init__(self, message: str, key: str = "", expected: str = "", actual: str = "") -> None:
        super().__init__(message, key)
        self.expected = expected
        self.actual = actual


class InvalidObject(StorageError, ValueError):
    """The object cannot be stored: it has no ``metadata`` (a dict with a ``"metadata"`` dict,
    or an object with a ``.metadata`` attribute), its resource version cannot be read or set, or
    it carries a ``resourceVersion`` on ``create``. Also a :class:`ValueError`."""


class InvalidResourceVersion(StorageError, ValueError):
    """A resource version that is not a decimal string of a non-negative integer (``""`` is
    accepted where a version is optional). Also a :class:`ValueError`."""

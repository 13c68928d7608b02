"""Every public error of :mod:`goprims.storage` (kube-apiserver's ``storage`` errors, by name),
those of every backend included.

:class:`StorageError` is the base of the errors defined here: :class:`AlreadyExists`,
:class:`NotFound`, :class:`Conflict`, :class:`InvalidObject`, :class:`InvalidResourceVersion`, and
the etcd backend's :class:`StorageUnavailable`, :class:`EtcdError` and :class:`CorruptObject`.
:class:`ResourceExpired` (410 Gone) and :class:`TooLargeResourceVersion` belong to the watch
protocol (:mod:`goprims.watch`), because the informer layer, which never imports a storage, must
recognise them too; they are re-exported here.
"""

from __future__ import annotations

from goprims.watch.errors import ResourceExpired, TooLargeResourceVersion

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "Conflict",
    "CorruptObject",
    "EtcdError",
    "InvalidObject",
    "InvalidResourceVersion",
    "NotFound",
    "ResourceExpired",
    "StorageError",
    "StorageUnavailable",
    "TooLargeResourceVersion",
]

# etcd's error messages for reads at a revision it no longer has, or does not have yet (read by
# EtcdError's properties and by the etcd client).
ETCD_MSG_COMPACTED = "required revision has been compacted"
ETCD_MSG_FUTURE_REV = "required revision is a future revision"


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


class CorruptObject(StorageError, ValueError):
    """The value stored under a key is not a JSON object with a ``metadata`` object, so it cannot
    be returned as an object (something other than goprims wrote it). Also a :class:`ValueError`."""


class StorageUnavailable(StorageError, ConnectionError):
    """No etcd endpoint could serve the request, or a write's outcome is unknown.

    Raised when every endpoint refused the connection, timed out or answered "unavailable", and
    when a write was sent but its answer was lost (the write may or may not have been applied:
    read the key again before retrying). The message names each endpoint and its failure. Also a
    :class:`ConnectionError`; construct it with the message only.
    """


class EtcdError(StorageError):
    """An error answered by etcd that no storage error describes (e.g. a value over etcd's
    ``--max-request-bytes``): ``code`` is the gRPC status code, ``message`` etcd's text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"etcd error {code}: {message}")
        self.code = code
        self.message = message

    @property
    def compacted(self) -> bool:
        """True when the requested revision was compacted away."""
        return ETCD_MSG_COMPACTED in self.message

    @property
    def future_revision(self) -> bool:
        """True when the requested revision is newer than the store's current revision."""
        return ETCD_MSG_FUTURE_REV in self.message


class AuthenticationFailed(StorageError):
    """etcd refused the storage's username and password (etcd's auth is enabled and the
    credentials are wrong, or the user does not exist). Retrying will not help."""

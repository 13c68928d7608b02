"""The two errors of the watch protocol that a reflector answers by relisting (client-go's
``isExpiredError`` and ``isTooLargeResourceVersionError``): :class:`ResourceExpired` (HTTP 410
Gone) and :class:`TooLargeResourceVersion`.

They live here, below both :mod:`goprims.cache` (which must recognise them) and
:mod:`goprims.storage` (which raises them), as apimachinery's errors sit below client-go and the
apiserver. This module imports nothing of goprims.
"""

from __future__ import annotations

__all__ = ["ResourceExpired", "TooLargeResourceVersion", "WatchListUnsupported"]


class ResourceExpired(Exception):
    """HTTP 410 Gone, reason ``Expired``: the requested resource version is older than the
    oldest one the server still remembers (its history was compacted).

    Raised by ``watch(resource_version)`` for a too-old version, by ``list`` for a too-old version
    where the backend checks it, and by the iteration of a running watch whose next event was
    compacted away. A reflector answers it by relisting.

    ``resource_version`` is the version that expired ("" when unknown).
    """

    code = 410
    reason = "Expired"

    def __init__(self, message: str = "resource version expired", resource_version: str = ""):
        super().__init__(message)
        self.resource_version = resource_version


class TooLargeResourceVersion(Exception):
    """The requested resource version is newer than the server's current one (kube-apiserver's
    ``ResourceVersionTooLarge`` cause, a 504 with Retry-After). A reflector answers it, like
    :class:`ResourceExpired`, by relisting at ``""``.

    ``resource_version`` is the version asked for; ``current`` the server's revision at the time.
    """

    def __init__(
        self,
        message: str = "Too large resource version",
        resource_version: str = "",
        current: str = "",
    ) -> None:
        super().__init__(message)
        self.resource_version = resource_version
        self.current = current


class WatchListUnsupported(Exception):
    """The server refuses the watch-list mode (``sendInitialEvents=true``): an API server
    without the WatchList feature answers the request with 422 Invalid. A ListerWatcher's
    optional ``watch_list`` raises it; the reflector then falls back to list+watch."""

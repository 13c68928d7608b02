"""``list_watch(storage, prefix)``: a :class:`~goprims.watch.ListerWatcher` over a
storage prefix, the bridge through which a storage feeds informers."""

from __future__ import annotations

from goprims.storage.interface import Storage
from goprims.watch import ListResult, ListWatch, Watch

__all__ = ["list_watch"]


def list_watch(storage: Storage, prefix: str) -> ListWatch:
    """A :class:`~goprims.watch.ListWatch` over the keys of ``storage`` starting with
    ``prefix``: ``list(rv)`` is ``storage.list(prefix, rv)`` and ``watch(rv)`` is
    ``storage.watch(prefix, rv)``.

    The storage has no cache, so the reflector's three list versions (``"0"``, its last
    version, ``""``) all return the current state; a last version that was compacted raises
    :class:`~goprims.watch.ResourceExpired`, and one newer than the storage raises
    :class:`~goprims.watch.TooLargeResourceVersion`; the reflector then lists at
    ``""``.
    """

    def list_func(resource_version: str) -> ListResult:
        return storage.list(prefix, resource_version)

    def watch_func(resource_version: str) -> Watch:
        return storage.watch(prefix, resource_version)

    return ListWatch(list_func, watch_func)

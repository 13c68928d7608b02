"""What a shared informer queues for each handler: one typed record per notification (client-go's
``addNotification``, ``updateNotification`` and ``deleteNotification``), each of which knows how
to deliver itself to a :class:`~goprims.cache.ResourceEventHandler`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeAlias

from goprims.cache.handlers import ResourceEventHandler

__all__ = ["AddNotification", "DeleteNotification", "Notification", "UpdateNotification"]


class AddNotification(NamedTuple):
    """An object was added; ``is_in_initial_list`` when it comes from the informer's first list
    (or is one of the synthetic adds a late handler gets for the current cache contents)."""

    new: Any
    is_in_initial_list: bool

    def deliver(self, handler: ResourceEventHandler) -> None:
        """Call ``handler.on_add(new, is_in_initial_list)``."""
        handler.on_add(self.new, self.is_in_initial_list)


class UpdateNotification(NamedTuple):
    """An object changed from ``old`` to ``new`` (or was resynced: same resourceVersion)."""

    old: Any
    new: Any

    def deliver(self, handler: ResourceEventHandler) -> None:
        """Call ``handler.on_update(old, new)``."""
        handler.on_update(self.old, self.new)


class DeleteNotification(NamedTuple):
    """An object was deleted; ``old`` is its last known state or a ``DeletedFinalStateUnknown``."""

    old: Any

    def deliver(self, handler: ResourceEventHandler) -> None:
        """Call ``handler.on_delete(old)``."""
        handler.on_delete(self.old)


Notification: TypeAlias = AddNotification | UpdateNotification | DeleteNotification
"""Any of the three records."""

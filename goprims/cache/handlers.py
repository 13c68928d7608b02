"""Event handlers and ``process_deltas`` (client-go ``controller.go``).

A :class:`ResourceEventHandler` receives ``on_add(obj, is_in_initial_list)``,
``on_update(old, new)`` and ``on_delete(obj)``. Handlers must not mutate the objects they get:
they are the cache's own. ``on_update`` may merge several changes into one and is also called on
relists and resyncs with unchanged objects. ``on_delete`` may receive a
:class:`~goprims.cache.keys.DeletedFinalStateUnknown` tombstone when the delete itself was missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from goprims.cache.delta_fifo import Deltas, DeltaType

__all__ = [
    "FilteringResourceEventHandler",
    "ResourceEventHandler",
    "ResourceEventHandlerDetailedFuncs",
    "ResourceEventHandlerFuncs",
    "process_deltas",
]


@runtime_checkable
class ResourceEventHandler(Protocol):
    """The three notifications an informer delivers, per handler sequentially and in order."""

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        """``obj`` appeared (``is_in_initial_list``: it came with the informer's first list)."""

    def on_update(self, old: Any, new: Any) -> None:
        """``old`` changed into ``new`` (or a resync re-delivered an unchanged object)."""

    def on_delete(self, obj: Any) -> None:
        """``obj`` (its last known state, or a tombstone) was deleted."""


class ResourceEventHandlerFuncs:
    """Adapt plain callables, Go's ``ResourceEventHandlerFuncs``: ``on_add(obj)`` takes only the
    object (Go's ``AddFunc``); ``None`` members are skipped; what the callables return is
    ignored."""

    def __init__(
        self,
        on_add: Callable[[Any], object] | None = None,
        on_update: Callable[[Any, Any], object] | None = None,
        on_delete: Callable[[Any], object] | None = None,
    ) -> None:
        self._add = on_add
        self._update = on_update
        self._delete = on_delete

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        """Call ``on_add(obj)`` if given."""
        if self._add is not None:
            self._add(obj)

    def on_update(self, old: Any, new: Any) -> None:
        """Call ``on_update(old, new)`` if given."""
        if self._update is not None:
            self._update(old, new)

    def on_delete(self, obj: Any) -> None:
        """Call ``on_delete(obj)`` if given."""
        if self._delete is not None:
            self._delete(obj)


class ResourceEventHandlerDetailedFuncs(ResourceEventHandlerFuncs):
    """Like :class:`ResourceEventHandlerFuncs`, but ``on_add(obj, is_in_initial_list)``."""

    def __init__(
        self,
        on_add: Callable[[Any, bool], object] | None = None,
        on_update: Callable[[Any, Any], object] | None = None,
        on_delete: Callable[[Any], object] | None = None,
    ) -> None:
        super().__init__(None, on_update, on_delete)
        self._detailed_add = on_add

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        """Call ``on_add(obj, is_in_initial_list)`` if given."""
        if self._detailed_add is not None:
            self._detailed_add(obj, is_in_initial_list)


class FilteringResourceEventHandler:
    """Forward to ``handler`` only objects that pass ``filter_func``.

    An update is forwarded as an update if old and new pass, as an add if only new passes, as a
    delete if only old passes, and not at all otherwise (client-go's rule).
    """

    def __init__(self, filter_func: Callable[[Any], bool], handler: ResourceEventHandler) -> None:
        self.filter_func = filter_func
        self.handler = handler

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        """Forward if ``obj`` passes."""
        if self.filter_func(obj):
            self.handler.on_add(obj, is_in_initial_list)

    def on_update(self, old: Any, new: Any) -> None:
        """Forward as update, add or delete depending on which side passes."""
        new_ok, old_ok = self.filter_func(new), self.filter_func(old)
        if new_ok and old_ok:
            self.handler.on_update(old, new)
        elif new_ok:
            self.handler.on_add(new, False)
        elif old_ok:
            self.handler.on_delete(old)

    def on_delete(self, obj: Any) -> None:
        """Forward if ``obj`` passes."""
        if self.filter_func(obj):
            self.handler.on_delete(obj)


class _ClientState(Protocol):
    def get(self, obj: Any) -> tuple[Any, bool]: ...
    def add(self, obj: Any) -> None: ...
    def update(self, obj: Any) -> None: ...
    def delete(self, obj: Any) -> None: ...


def process_deltas(
    handler: ResourceEventHandler,
    client_state: _ClientState,
    deltas: Deltas,
    is_in_initial_list: bool,
) -> None:
    """Apply ``deltas`` (oldest first) to ``client_state`` and notify ``handler``.

    Sync, Replaced, Added and Updated deltas update the object if the store has it (then
    ``on_update(old, new)``) and add it otherwise (then ``on_add``): an Added for a known key
    becomes an update and a Sync for an unknown key an add. Deleted deletes, then ``on_delete``.
    The first store error propagates.
    """
    for d in deltas:
        obj = d.object
        if d.type == DeltaType.DELETED:
            client_state.delete(obj)
            handler.on_delete(obj)
            continue
        old, exists = client_state.get(obj)
        if exists:
            client_state.update(obj)
            handler.on_update(old, obj)
        else:
            client_state.add(obj)
            handler.on_add(obj, is_in_initial_list)

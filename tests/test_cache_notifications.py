"""The shared informer's per-handler notifications are typed records that deliver themselves, and
a registration whose buffer is closed drops late notifications quietly (a ChanClosed, nothing
else, is what that means)."""

from __future__ import annotations

from typing import Any

import pytest

from goprims.cache import ListWatch, ResourceEventHandlerDetailedFuncs, SharedIndexInformer
from goprims.cache.notifications import AddNotification, DeleteNotification, UpdateNotification
from goprims.cache.shared_informer import _Registration
from goprims.watch import ChanWatch


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self.calls.append(("on_add", obj, is_in_initial_list))

    def on_update(self, old: Any, new: Any) -> None:
        self.calls.append(("on_update", old, new))

    def on_delete(self, obj: Any) -> None:
        self.calls.append(("on_delete", obj))


def test_each_notification_delivers_itself_to_the_matching_handler_method() -> None:
    r = Recorder()
    AddNotification("a", True).deliver(r)
    UpdateNotification("a", "b").deliver(r)
    DeleteNotification("b").deliver(r)
    assert r.calls == [("on_add", "a", True), ("on_update", "a", "b"), ("on_delete", "b")]


def test_notifications_name_their_fields() -> None:
    assert AddNotification("x", False)._asdict() == {"new": "x", "is_in_initial_list": False}
    assert UpdateNotification(1, 2)._asdict() == {"old": 1, "new": 2}
    assert DeleteNotification(3)._asdict() == {"old": 3}


def _registration() -> _Registration:
    inf = SharedIndexInformer(ListWatch(lambda rv: ([], "1"), lambda rv: ChanWatch()))
    return _Registration(inf, ResourceEventHandlerDetailedFuncs(), 0, 0)


def test_a_stopped_registration_drops_late_notifications_and_may_be_stopped_again() -> None:
    reg = _registration()
    reg._stop(drop_pending=True)
    reg._add(UpdateNotification("a", "b"))  # the buffer is closed: dropped, no error
    reg._stop(drop_pending=True)


class BrokenBuffer:
    def send(self, value: Any, timeout: float | None = None) -> None:
        raise MemoryError("not a closed channel")

    def close(self) -> None:
        raise MemoryError("not a closed channel")


def test_a_failure_other_than_a_closed_buffer_is_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = _registration()
    monkeypatch.setattr(reg, "_buf", BrokenBuffer())
    with pytest.raises(MemoryError):
        reg._add(DeleteNotification("a"))
    with pytest.raises(MemoryError):
        reg._stop(drop_pending=True)

""":class:`Group`: one source's set of targets (Prometheus's ``targetgroup.Group``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["Group"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Group:
    """A set of targets found by a provider under one ``source`` name, with shared ``labels``.

    ``source`` identifies the group within its provider: a later group with the same source
    replaces the earlier one, and a group with no ``targets`` deletes the source (the provider
    says "nothing here any more"). ``targets`` is stored as a tuple (each target is typically a
    mapping of label names to values, but any object is accepted); ``labels`` as a read-only
    mapping (``None`` means no labels). Both are copies, so the caller may reuse what it passed.

    Raises :class:`TypeError` if ``source`` is not a string, ``targets`` is a string or not
    iterable, or ``labels`` is not a mapping.
    """

    # No defaults here: the explicit __init__ below takes them (and copies what it is given).
    source: str
    targets: tuple[Any, ...]
    labels: Mapping[str, str]

    def __init__(
        self,
        source: str,
        targets: Iterable[Any] = (),
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(source, str):
            raise TypeError(f"Group source must be a str, not {type(source).__name__}")
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Iterable):
            raise TypeError(
                f"Group targets must be an iterable of targets, not {type(targets).__name__}"
            )
        if labels is None:
            frozen_labels: Mapping[str, str] = _EMPTY
        elif isinstance(labels, Mapping):
            frozen_labels = MappingProxyType(dict(labels))
        else:
            raise TypeError(f"Group labels must be a mapping, not {type(labels).__name__}")
        # frozen: fields are set once, here, through object.__setattr__
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "targets", tuple(targets))
        object.__setattr__(self, "labels", frozen_labels)

    def __repr__(self) -> str:
        labels = f", labels={dict(self.labels)!r}" if self.labels else ""
        return f"Group({self.source!r}, {list(self.targets)!r}{labels})"

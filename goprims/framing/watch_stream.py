"""A Kubernetes watch stream: JSON ``{"type": ..., "object": ...}`` values, one per event."""

from __future__ import annotations

from collections.abc import Iterator

from goprims.framing._io import Readable
from goprims.framing.errors import MalformedStream
from goprims.framing.json_frames import JSONFrameReader
from goprims.framing.reader import EndOfStream
from goprims.framing.stream_decoder import DEFAULT_MAX_BYTES
from goprims.watch import EventType, ResourceExpired, WatchEvent

__all__ = ["watch_events"]


def watch_events(stream: Readable, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[WatchEvent]:
    """The events of a Kubernetes watch stream (the body of ``GET ...?watch=true``): each JSON
    value ``{"type": "ADDED", "object": {...}}`` becomes a :class:`~goprims.watch.WatchEvent`
    whose ``type`` is an :class:`~goprims.watch.EventType` and whose ``object`` is the decoded
    object (a ``dict``).

    * An ``ERROR`` event whose object is a ``Status`` with ``code`` 410 (the watch's resource
      version was compacted away) raises :class:`~goprims.watch.ResourceExpired`, carrying the
      status message; the caller relists. Other ``ERROR`` events are yielded as they are.
    * The iteration ends when the stream ends between events. A stream cut inside an event
      raises :class:`EOFError`; something that is not JSON raises
      :class:`~goprims.framing.JSONSyntaxError`; a value that is not an event (not an object,
      no ``type`` or ``object``, an unknown type) raises
      :class:`~goprims.framing.MalformedStream`; an event longer than ``max_bytes`` raises
      :class:`~goprims.framing.ObjectTooLarge`.
    * Events come out as soon as they are complete on a live stream (reads use ``read1`` when
      the stream has it, as an HTTP response does).
    """
    reader = JSONFrameReader(stream, max_bytes=max_bytes)
    while True:
        try:
            value = reader.read_value()
        except EndOfStream:
            return
        if not isinstance(value, dict) or "type" not in value or "object" not in value:
            raise MalformedStream(f"not a watch event: {str(value)[:200]}")
        try:
            event_type = EventType(value["type"])
        except ValueError:
            raise MalformedStream(f"unknown watch event type {value['type']!r}") from None
        obj = value["object"]
        if event_type is EventType.ERROR and isinstance(obj, dict) and obj.get("code") == 410:
            raise ResourceExpired(str(obj.get("message") or "resource version expired (410)"))
        yield WatchEvent(event_type, obj)

"""The framing package's exceptions (all importable from :mod:`goprims` too)."""

from __future__ import annotations

__all__ = ["JSONSyntaxError", "MalformedStream", "NoMatch", "ObjectTooLarge", "YAMLSyntaxError"]


class MalformedStream(ValueError):
    """The bytes of a stream cannot be split into frames (or a frame is not what it must be).

    The base of :class:`JSONSyntaxError` and :class:`YAMLSyntaxError`; also raised by
    :func:`~goprims.framing.watch_events` for a value that is not a watch event. ``offset`` is
    the byte offset in the stream where the problem was found (-1 when unknown).
    """

    def __init__(self, message: str, offset: int = -1) -> None:
        super().__init__(message)
        self.offset = offset


class JSONSyntaxError(MalformedStream):
    """A JSON stream holds something that is not a JSON value (apimachinery's
    ``JSONSyntaxError``). ``offset`` is the byte offset where the error was found. A JSON frame
    reader that raised it stays broken: every later call raises it again, as Go's
    ``json.Decoder`` does (there is no reliable place to resume)."""


class YAMLSyntaxError(MalformedStream):
    """A YAML document separator line carries something other than spaces or a ``# comment``
    (apimachinery's ``YAMLSyntaxError``, e.g. ``--- x``). The reader continues after that line
    on the next call."""


class ObjectTooLarge(ValueError):
    """A frame is longer than the decoder's ``max_bytes`` (apimachinery's
    ``ErrObjectTooLarge``). Raised once per oversized frame; the next call skips the rest of
    that frame and returns the one after it, so one bad object does not end a stream.

    ``size`` is the frame's length when known (length-delimited frames announce it, and a frame
    already read whole has it), else the number of bytes seen when the limit was crossed;
    ``max_bytes`` the limit.
    """

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(
            f"object to decode was longer than maximum allowed size ({size} > {max_bytes} bytes)"
        )
        self.size = size
        self.max_bytes = max_bytes


class NoMatch(ValueError):
    """No decoder of a :class:`~goprims.framing.RecognizingDecoder` could decode the data
    ("no serialization format matched the provided data"). When a decoder was tried and failed,
    its exception is chained as ``__cause__`` (the last one, as apimachinery reports it)."""

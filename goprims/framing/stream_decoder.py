"""A decoder of a stream of framed objects (apimachinery's ``streaming.Decoder``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

from goprims.framing._io import Readable
from goprims.framing._yaml import require_yaml, safe_load
from goprims.framing.json_frames import JSONFrameReader
from goprims.framing.length_delimited import LengthDelimitedReader
from goprims.framing.reader import EndOfStream, FrameReader, check_max_bytes
from goprims.framing.yaml_frames import YAMLDocumentReader
from goprims.framing.yaml_or_json import YAMLOrJSONReader

__all__ = ["DEFAULT_MAX_BYTES", "Framing", "StreamDecoder"]

Framing = Literal["json", "yaml", "length-delimited", "yaml-or-json"]

DEFAULT_MAX_BYTES = 16 << 20
"""The longest frame a :class:`StreamDecoder` accepts by default: 16 MiB, as apimachinery's."""


class StreamDecoder(Iterator[Any]):
    """Decodes the objects of a framed stream, one per frame.

    ``framing`` picks the frame reader: ``"json"`` (:func:`~goprims.framing.iter_json_frames`),
    ``"yaml"`` (:func:`~goprims.framing.iter_yaml_documents`) or ``"length-delimited"``
    (:func:`~goprims.framing.iter_length_delimited`), or ``"yaml-or-json"``
    (:class:`~goprims.framing.YAMLOrJSONReader`: JSON values if the stream starts with ``{``,
    else YAML documents, with apimachinery's switch to YAML after a JSON error on the first
    object). ``decode(frame: bytes)`` turns a frame into an object; by default ``json.loads`` (for
    JSON the value the framer already parsed, so each value is parsed once), or
    ``yaml.safe_load`` for YAML (PyYAML needed; checked here). With ``"yaml-or-json"`` a custom
    ``decode`` gets JSON frames or YAML documents (a YAML parser reads both).

    :meth:`next` returns the next object and raises :class:`EOFError` at the end of the stream;
    iterating stops there. The too-large rule: a frame longer than ``max_bytes`` raises
    :class:`~goprims.framing.ObjectTooLarge` **once**, and the following call skips what is left
    of that frame and returns the next object, so one oversized object does not end the stream
    (a ``for`` loop ends on the exception; call :meth:`next` again to go on). An exception from
    ``decode`` propagates and the frame counts as read; a framing error (bad JSON, a bad YAML
    separator, a truncated frame) propagates as the frame reader raises it.
    """

    def __init__(
        self,
        stream: Readable,
        *,
        framing: Framing = "json",
        decode: Callable[[bytes], Any] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        limit = check_max_bytes(max_bytes)
        if limit is None:
            raise TypeError("max_bytes must be an int")
        if decode is not None and not callable(decode):
            raise TypeError("decode must be callable")
        self._reader: FrameReader
        # A reader that parses as it frames: with the default decode, take its values.
        values: JSONFrameReader | YAMLOrJSONReader | None = None
        if framing == "json":
            values = JSONFrameReader(stream, max_bytes=limit)
            self._reader = values
            default: Callable[[bytes], Any] = json.loads
        elif framing == "yaml":
            require_yaml()
            self._reader = YAMLDocumentReader(stream, max_bytes=limit)
            default = safe_load
        elif framing == "length-delimited":
            self._reader = LengthDelimitedReader(stream, max_bytes=limit)
            default = json.loads
        elif framing == "yaml-or-json":
            require_yaml()
            values = YAMLOrJSONReader(stream, max_bytes=limit)
            self._reader = values
            default = safe_load
        else:
            raise ValueError(
                "framing must be 'json', 'yaml', 'length-delimited' or 'yaml-or-json', "
                f"not {framing!r}"
            )
        self._decode = default if decode is None else decode
        self._values = values if decode is None else None

    def next(self) -> Any:
        """The next decoded object; :class:`EOFError` at the end of the stream."""
        if self._values is not None:
            return self._values.read_value()
        frame = self._reader.read_frame()
        if frame is None:
            raise EndOfStream("end of the stream")
        return self._decode(frame)

    def __iter__(self) -> StreamDecoder:
        return self

    def __next__(self) -> Any:
        # A clean end stops the iteration; a truncated frame (a plain EOFError) propagates.
        try:
            return self.next()
        except EndOfStream:
            raise StopIteration from None

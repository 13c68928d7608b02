"""A stream that may be JSON values or YAML documents (apimachinery's ``YAMLOrJSONDecoder``,
what ``kubectl apply -f`` reads a manifest with)."""

from __future__ import annotations

from typing import Any

from goprims.framing._io import Readable, chunk_reader
from goprims.framing._yaml import safe_load
from goprims.framing.errors import ObjectTooLarge
from goprims.framing.json_frames import JSONFrameReader
from goprims.framing.reader import EndOfStream, FrameReader
from goprims.framing.yaml_frames import YAMLDocumentReader

__all__ = ["YAMLOrJSONReader"]

_JSON_SPACE = b" \t\r\n"


class _Prefixed:
    """A stream that returns ``prefix`` first, then what ``stream`` returns."""

    def __init__(self, prefix: bytes, stream: Readable) -> None:
        self._prefix = prefix
        self._stream = stream
        read1 = getattr(stream, "read1", None)
        self._read_more = read1 if callable(read1) else stream.read

    def read(self, n: int = -1, /) -> bytes:
        if self._prefix:
            out, self._prefix = self._prefix[:n], self._prefix[n:]
            return out
        return self._stream.read(n)

    def read1(self, n: int = -1, /) -> bytes:
        if self._prefix:
            return self.read(n)
        out: bytes = self._read_more(n)
        return out


class YAMLOrJSONReader(FrameReader):
    """JSON values or YAML documents, decided the way apimachinery's ``YAMLOrJSONDecoder``
    decides:

    * The stream is JSON if its first non-space byte is ``{``, else YAML.
    * While at most one JSON object has been read, a JSON error (bad syntax, or a value cut off
      by the end of the stream) is not final: the reader goes back to just after the last object
      it returned, drops the spaces up to and including the next newline, and reads the rest as
      YAML, for good (``{"a": 1}\\n---\\nb: 2`` is two objects; so is ``{a: 1}\\n---\\n...``,
      which is YAML from the start).
    * After two JSON objects the stream is JSON, and a JSON error is final.
    * When the object that made it switch is not YAML either, the JSON error is raised (with the
      YAML error as its ``__cause__``), as upstream reports it; the next call goes on as YAML.

    :meth:`read_value` decodes (the JSON values as parsed; YAML documents with
    ``yaml.safe_load``); :meth:`read_frame` returns the frame's bytes (a JSON value or a YAML
    document). ``max_bytes`` applies to both framings (an oversized object is never a reason to
    switch). Two differences from upstream: the first non-space byte decides wherever it is
    (upstream looks only at its first ``bufferSize`` bytes), and after a switch the YAML starts at
    the first non-space byte after the last JSON object (upstream keeps the indentation of that
    line, which only matters for an indented YAML line right after a JSON object).
    """

    def __init__(self, stream: Readable, *, max_bytes: int | None = None) -> None:
        self._max_bytes = max_bytes
        # Read until the first non-space byte (or the end): it decides the framing.
        read = chunk_reader(stream)
        prefix = b""
        while not prefix.strip(_JSON_SPACE):
            chunk = read()
            if not chunk:
                break
            prefix += chunk
        head = prefix.lstrip(_JSON_SPACE)
        source = _Prefixed(prefix, stream)
        self._json: JSONFrameReader | None = None
        self._yaml: YAMLDocumentReader | None = None
        if head.startswith(b"{"):
            self._json = JSONFrameReader(source, max_bytes=max_bytes)
        else:
            self._yaml = YAMLDocumentReader(source, max_bytes=max_bytes)
        self._source = source
        self._count = 0  # objects returned so far

    @property
    def is_json(self) -> bool:
        """True while the stream is read as JSON."""
        return self._json is not None

    def read_value(self) -> Any:
        """The next object; :class:`EOFError` at the end."""
        return self._next(decode=True)

    def read_frame(self) -> bytes | None:
        """The next frame's bytes (a JSON value or a YAML document), or ``None`` at the end."""
        try:
            frame: bytes = self._next(decode=False)
        except EndOfStream:
            return None
        return frame

    def _next(self, decode: bool) -> Any:
        json_error: BaseException | None = None
        json_reader = self._json
        if json_reader is not None:
            try:
                out = json_reader.read_value() if decode else json_reader.read_frame()
            except (EndOfStream, ObjectTooLarge):
                raise
            except (ValueError, EOFError) as exc:  # bad JSON, or a value cut off by the end
                if self._count > 1:
                    raise
                json_error = exc
                self._switch_to_yaml(json_reader.unread())
            else:
                if out is None:
                    raise EndOfStream("end of the stream")
                self._count += 1
                return out
        assert self._yaml is not None
        try:
            doc = self._yaml.read_frame()
            if doc is None:
                raise EndOfStream("end of the stream")
            value = safe_load(doc) if decode else doc
        except Exception as exc:
            # Both readings failed on this object: report the JSON error, as upstream does
            # (the stream looked like JSON), with the YAML one as its cause.
            if json_error is not None and not isinstance(exc, EndOfStream):
                raise json_error from exc
            raise
        self._count += 1
        return value

    def _switch_to_yaml(self, unread: bytes) -> None:
        # ``unread`` starts at the value that failed (the JSON reader skipped the spaces before
        # it, so it starts a YAML line as upstream's "consume up to the newline" does).
        self._json = None
        self._yaml = YAMLDocumentReader(_Prefixed(unread, self._source), max_bytes=self._max_bytes)

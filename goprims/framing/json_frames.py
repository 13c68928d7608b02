"""JSON frames: one frame per top-level JSON value of a stream (apimachinery's
``NewJSONFramedReader``, which runs Go's ``json.Decoder`` into a ``RawMessage``).

How the reader finds a value's end without parsing it twice or going quadratic:

* The bytes read are kept as **latin-1 text**, one character per byte, so text positions are
  byte offsets and a frame is ``text[start:end].encode("latin-1")`` (the exact bytes). JSON's
  structure is ASCII, and every byte of a multi-byte UTF-8 character is >= 0x80, so the
  stdlib's C scanner (``json.JSONDecoder.raw_decode``) finds the same value boundaries on this
  text as on the decoded one. The value it returns is right when the frame is ASCII (the usual
  case, checked with ``str.isascii``); otherwise the frame's bytes are decoded again as UTF-8.
* Fast path: ``raw_decode`` at the value's start. A value that is complete in the buffer comes
  out in one C call.
* A value that spans reads (``raw_decode`` fails, the stream is not at its end): an incremental
  scanner that only tracks string/escape state and bracket depth (``_scan``) goes over each new
  chunk once, carrying its state from chunk to chunk, and the chunks are joined once at the end,
  so a large value arriving in small pieces costs linear time (not a re-parse, nor a copy of
  the buffer, per piece); once the end is found, ``raw_decode`` parses the value once (and
  reports a syntax error if it is not valid JSON).
* A top-level scalar is parsed once its token has ended (``12`` at the end of the buffer may be
  the start of ``123``): at a delimiter or at the end of the stream.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from goprims.framing._io import Readable, chunk_reader
from goprims.framing.errors import JSONSyntaxError, ObjectTooLarge
from goprims.framing.reader import EndOfStream, FrameReader, check_max_bytes

__all__ = ["JSONFrameReader", "iter_json_frames"]

_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_SCALAR_TOKEN: Final = re.compile(r"[^ \t\n\r{}\[\],:\"]*")
_STRUCTURE: Final = re.compile(r'["{}\[\]]')
_STRING_STOP: Final = re.compile(r'["\\]')
_SELF_DELIMITING_START: Final = frozenset('{["')
_raw_decode: Final = json.JSONDecoder().raw_decode


class JSONFrameReader(FrameReader):
    """The top-level JSON values of a stream, as frames (:meth:`read_frame`) or decoded
    (:meth:`read_value`). See :func:`iter_json_frames`."""

    def __init__(self, stream: Readable, *, max_bytes: int | None = None) -> None:
        self._read = chunk_reader(stream)
        self._max_bytes = check_max_bytes(max_bytes)
        # Invariant: _buf[_pos:] is every byte read and not yet returned or skipped, as latin-1
        # text; _offset is the stream offset of _buf[0] (for error messages).
        self._buf = ""
        self._pos = 0
        self._offset = 0
        self._eof = False
        # A syntax error is final: the stream has no reliable place to resume.
        self._error: JSONSyntaxError | None = None
        # Scanner state for a value spanning reads, carried from one chunk to the next: the
        # bracket depth, whether inside a string, whether the next character is escaped.
        self._depth = 0
        self._in_string = False
        self._escaped = False
        # True while discarding the rest of a value reported as too large.
        self._skipping = False

    # ---------------------------------------------------------------------------- public

    def read_frame(self) -> bytes | None:
        """The next value's bytes exactly as in the stream (no surrounding whitespace), or
        ``None`` at the end."""
        found = self._next()
        return None if found is None else found[0].encode("latin-1")

    def read_value(self) -> Any:
        """The next value, decoded (``json.loads`` semantics); raises :class:`EOFError` at the
        end of the stream."""
        found = self._next()
        if found is None:
            raise EndOfStream("end of the JSON stream")
        text, value = found
        if text.isascii():
            return value
        try:  # a non-ASCII frame: what raw_decode saw was latin-1, decode the real UTF-8
            return json.loads(text.encode("latin-1"))
        except UnicodeDecodeError as exc:
            raise JSONSyntaxError(f"invalid UTF-8 in a JSON value: {exc}") from exc

    def unread(self) -> bytes:
        """The bytes read from the stream and not yet returned: from the start of the value
        being read (or that failed) to the end of what has been read so far. The stream's
        remaining bytes follow them. Used to switch a stream to another framing after an error
        (the YAML-or-JSON decoder)."""
        return self._buf[self._pos :].encode("latin-1")

    # ---------------------------------------------------------------------------- reading

    def _fill(self) -> bool:
        """Read one more chunk (dropping what was consumed); False at the end of the stream."""
        if self._eof:
            return False
        chunk = self._read()
        if not chunk:
            self._eof = True
            return False
        pos = self._pos
        if pos:
            self._buf = self._buf[pos:]
            self._offset += pos
            self._pos = 0
        self._buf += chunk.decode("latin-1")
        return True

    def _next(self) -> tuple[str, Any] | None:
        """(latin-1 text of the next value, the value as raw_decode saw it), or None at end."""
        if self._error is not None:
            raise self._error
        if self._skipping:
            self._finish_skip()
        # Skip whitespace between values, reading more while that is all there is.
        while True:
            ws = _WHITESPACE.match(self._buf, self._pos)
            assert ws is not None  # a starred pattern always matches
            pos = self._pos = ws.end()
            if pos < len(self._buf):
                break
            if not self._fill():
                return None
        first = self._buf[pos]
        if first not in _SELF_DELIMITING_START:
            # A scalar ends where its token ends; one touching the end of the buffer may go on
            # in the next chunk (``12`` then ``3``; ``-4`` then ``.5``), so wait for its end.
            while True:
                token = _SCALAR_TOKEN.match(self._buf, self._pos)
                assert token is not None  # a starred pattern always matches
                if token.end() < len(self._buf) or not self._fill():
                    break
            pos = self._pos
        try:
            value, end = _raw_decode(self._buf, pos)
        except json.JSONDecodeError as exc:
            if first not in _SELF_DELIMITING_START:
                raise self._fail(exc) from exc
        else:
            return self._take(pos, end, value)
        # An object, array or string that is incomplete (or invalid): find its end, reading
        # as needed, then parse it once.
        self._scan_to_end()
        try:
            value, end = _raw_decode(self._buf, self._pos)
        except json.JSONDecodeError as exc:
            raise self._fail(exc) from exc
        return self._take(self._pos, end, value)

    def _take(self, pos: int, end: int, value: Any) -> tuple[str, Any]:
        """Consume the value at [pos, end) and return it, unless it is too large."""
        self._pos = end
        size = end - pos
        if self._max_bytes is not None and size > self._max_bytes:
            raise ObjectTooLarge(size, self._max_bytes)
        return self._buf[pos:end], value

    def _fail(self, exc: json.JSONDecodeError) -> JSONSyntaxError:
        offset = self._offset + exc.pos
        self._error = JSONSyntaxError(f"json: offset {offset}: {exc.msg}", offset)
        return self._error

    # ---------------------------------------------------------------------------- scanning

    def _scan_to_end(self) -> int:
        """Read until the object, array or string starting at _pos is complete; return its
        end. Raises ObjectTooLarge (and starts skipping) once it exceeds max_bytes, EOFError if
        the stream ends inside it.

        The chunks read meanwhile are scanned one by one and joined once, at the end: a large
        value arriving in many chunks costs linear time, not a copy of the buffer per chunk."""
        self._depth, self._in_string, self._escaped = 0, False, False
        end = self._scan(self._buf, self._pos)
        if end >= 0:
            return end
        # Drop what was consumed before the value; from here _buf[0] is the value's start.
        self._offset += self._pos
        pieces = [self._buf[self._pos :]]
        self._buf, self._pos = "", 0
        size = len(pieces[0])
        while True:
            if self._max_bytes is not None and size > self._max_bytes:
                self._offset += size  # the scanned part is skipped, never kept
                self._skipping = True
                raise ObjectTooLarge(size, self._max_bytes)
            chunk = self._read() if not self._eof else b""
            if not chunk:
                self._eof = True
                self._buf = "".join(pieces)
                raise EOFError(
                    f"stream ended inside a JSON value starting at offset {self._offset}"
                )
            text = chunk.decode("latin-1")
            end = self._scan(text, 0)
            if end >= 0:
                self._buf = "".join(pieces) + text
                return size + end
            pieces.append(text)
            size += len(text)

    def _finish_skip(self) -> None:
        """Discard the rest of a value reported as too large (the scanner state goes on from
        where _scan_to_end stopped; nothing before is kept)."""
        while True:
            chunk = self._read() if not self._eof else b""
            if not chunk:
                self._eof = True
                self._skipping = False
                raise EOFError("stream ended inside an oversized JSON value")
            text = chunk.decode("latin-1")
            end = self._scan(text, 0)
            if end >= 0:
                self._buf, self._pos = text, end
                self._skipping = False
                return
            self._offset += len(text)

    def _scan(self, text: str, i: int) -> int:
        """Advance the scanner state over text[i:]: the end (exclusive) of the value being
        scanned when it is in there, else -1 (the state is kept for the next piece)."""
        n = len(text)
        depth, in_string = self._depth, self._in_string
        if self._escaped:  # the escaped character is the first of this piece
            if i >= n:
                return -1
            i += 1
            self._escaped = False
        while True:
            if in_string:
                m = _STRING_STOP.search(text, i)
                if m is None:
                    break
                if m.group() == "\\":
                    if m.end() >= n:  # the escaped character has not arrived yet
                        self._escaped = True
                        break
                    i = m.end() + 1
                    continue
                in_string = False
                i = m.end()
                if depth == 0:
                    self._depth, self._in_string = 0, False
                    return i
            else:
                m = _STRUCTURE.search(text, i)
                if m is None:
                    break
                ch = m.group()
                i = m.end()
                if ch == '"':
                    in_string = True
                elif ch in "{[":
                    depth += 1
                else:
                    depth -= 1
                    if depth <= 0:  # (below 0 is malformed; raw_decode will say how)
                        self._depth, self._in_string = 0, False
                        return i
        self._depth, self._in_string = depth, in_string
        return -1


def iter_json_frames(stream: Readable, *, max_bytes: int | None = None) -> JSONFrameReader:
    """The top-level JSON values of ``stream`` as ``bytes`` frames, one per value.

    Whitespace between values is ignored and no separator is needed: ``{"a":1}{"b":2}\\n[3]``
    is three frames (Go's ``json.Decoder`` stream rules). A frame is the value's bytes exactly as
    sent. Reads use ``read1`` when the stream has it, so a value on a live stream (a watch)
    comes out as soon as its last byte has arrived. Something that is not JSON raises
    :class:`~goprims.framing.JSONSyntaxError` (final: later calls raise it again); a stream
    that ends inside a value raises :class:`EOFError`. With ``max_bytes``, a longer value raises
    :class:`~goprims.framing.ObjectTooLarge` once and is skipped by the next call (scanned
    past, not kept).
    """
    return JSONFrameReader(stream, max_bytes=max_bytes)

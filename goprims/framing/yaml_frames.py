"""YAML documents (apimachinery's ``YAMLReader`` and YAML framer writer): a stream of documents
separated by lines that start with ``---``.

Splitting is line based and needs no YAML parser; only decoding a document does (PyYAML, an
optional extra, imported on first use by the decoders and :class:`YAMLWriter`).
"""

from __future__ import annotations

from typing import Any

from goprims.framing._io import Readable, Writable, chunk_reader
from goprims.framing._yaml import safe_dump
from goprims.framing.errors import ObjectTooLarge, YAMLSyntaxError
from goprims.framing.reader import FrameReader, check_max_bytes

__all__ = ["YAMLDocumentReader", "YAMLWriter", "iter_yaml_documents"]

_SEPARATOR = b"---"


class YAMLDocumentReader(FrameReader):
    """The documents of a YAML stream (see :func:`iter_yaml_documents`)."""

    def __init__(self, stream: Readable, *, max_bytes: int | None = None) -> None:
        self._read = chunk_reader(stream)
        self._max_bytes = check_max_bytes(max_bytes)
        # Invariant: _buf[_pos:] is read and not yet split into lines.
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._line_no = 0
        # A bad separator that ended a document: reported by the call after the one that
        # returns that document, so the document is neither lost nor reordered.
        self._pending: YAMLSyntaxError | None = None
        self._skipping = False  # discarding the rest of a document reported as too large

    def read_frame(self) -> bytes | None:
        """The next non-empty document's bytes (its lines, each ending in ``\\n``, without the
        separator), or ``None`` at the end."""
        if self._pending is not None:
            err, self._pending = self._pending, None
            raise err
        lines: list[bytes] = []
        size = 0
        has_content = False
        while True:
            line = self._next_line()
            if line is None:
                self._skipping = False
                return b"".join(lines) if has_content else None
            if line.startswith(_SEPARATOR):
                self._skipping = False
                rest = line[3:].strip()
                if rest and not rest.startswith(b"#"):
                    err = YAMLSyntaxError(
                        f"invalid YAML document separator on line {self._line_no}: "
                        f"{rest.decode('utf-8', 'replace')!r}"
                    )
                    if has_content:
                        self._pending = err
                        return b"".join(lines)
                    raise err
                if has_content:
                    return b"".join(lines)
                lines.clear()
                size = 0
                continue
            if self._skipping:
                continue
            lines.append(line)
            size += len(line)
            if not has_content:
                stripped = line.strip()
                has_content = bool(stripped) and not stripped.startswith(b"#")
            if self._max_bytes is not None and size > self._max_bytes:
                self._skipping = True
                raise ObjectTooLarge(size, self._max_bytes)

    def _next_line(self) -> bytes | None:
        """The next line with its ``\\n`` (one is added to a last line without it), or None."""
        while True:
            nl = self._buf.find(b"\n", self._pos)
            if nl >= 0:
                line = self._buf[self._pos : nl + 1]
                self._pos = nl + 1
                self._line_no += 1
                return line
            if self._eof:
                if self._pos >= len(self._buf):
                    return None
                line = self._buf[self._pos :] + b"\n"
                self._pos = len(self._buf)
                self._line_no += 1
                return line
            chunk = self._read()
            if not chunk:
                self._eof = True
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0


def iter_yaml_documents(stream: Readable, *, max_bytes: int | None = None) -> YAMLDocumentReader:
    """The documents of a YAML stream as ``bytes`` frames.

    A line that starts with ``---`` separates documents; after the ``---`` only spaces or a
    ``# comment`` may follow (``--- # next`` is fine), anything else (``--- x``) raises
    :class:`~goprims.framing.YAMLSyntaxError` (the document before that line is returned
    first, the error on the next call, and reading then goes on after the line). A leading
    separator, and a last document without one, are fine. Empty documents (nothing but blank
    and comment lines) are skipped, where apimachinery's reader returns a blank one that
    decodes to null. Lines are returned as they are (a ``\\r\\n`` stays). With ``max_bytes``, a
    longer document raises :class:`~goprims.framing.ObjectTooLarge` once and the next call
    returns the document after it.
    """
    return YAMLDocumentReader(stream, max_bytes=max_bytes)


class YAMLWriter:
    """Writes YAML documents to ``stream``, each prefixed by a ``---`` line (apimachinery's YAML
    framer writer), so that :func:`iter_yaml_documents` reads them back one by one."""

    def __init__(self, stream: Writable) -> None:
        self._stream = stream

    def write(self, doc: Any) -> None:
        """Write ``---\\n`` and ``doc`` in one ``write`` call. ``doc`` is the document's
        ``bytes`` or ``str`` (UTF-8), or any other object, which is dumped with
        ``yaml.safe_dump`` (PyYAML needed). A newline is added when ``doc`` does not end with
        one, so that the next separator starts a line."""
        if isinstance(doc, (bytes, bytearray, memoryview)):
            data = bytes(doc)
        elif isinstance(doc, str):
            data = doc.encode("utf-8")
        else:
            data = safe_dump(doc).encode("utf-8")
        if data and not data.endswith(b"\n"):
            data += b"\n"
        self._stream.write(b"---\n" + data)

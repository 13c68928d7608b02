"""Stream framing and decoding (apimachinery's framers, ``streaming.Decoder`` and recognizer).

A pure module: it imports nothing of goprims beyond the shared watch types (:mod:`goprims.watch`,
itself light). PyYAML is needed only for YAML decoding (``goprims[yaml]``).

* Frame readers over any binary stream with ``read(n)``, each an iterator of ``bytes`` frames:
  :func:`iter_json_frames` (one per top-level JSON value), :func:`iter_yaml_documents`
  (``---``-separated documents), :func:`iter_length_delimited` (4-byte big-endian length, then
  the frame). Writers: :class:`LengthDelimitedWriter`, :class:`YAMLWriter`.
* :class:`StreamDecoder`: the objects of a framed stream, with the too-large-then-continue rule
  (:class:`ObjectTooLarge` once, then the next object); ``framing="yaml-or-json"``
  (:class:`YAMLOrJSONReader`) reads a manifest that may be either, as kubectl does.
* :class:`RecognizingDecoder`: tries decoders that recognize the data, then the unsure ones
  (:class:`NoMatch` when none decodes it); ready formats :class:`JSONFormat`,
  :class:`YAMLFormat`, :class:`PrefixFormat`.
* :func:`watch_events`: a Kubernetes watch stream as :class:`~goprims.watch.WatchEvent` values
  (410 in an ``ERROR`` event raises :class:`~goprims.watch.ResourceExpired`).

See ``docs/framing.md``.
"""

from __future__ import annotations

from goprims.framing.errors import (
    JSONSyntaxError,
    MalformedStream,
    NoMatch,
    ObjectTooLarge,
    YAMLSyntaxError,
)
from goprims.framing.json_frames import JSONFrameReader, iter_json_frames
from goprims.framing.length_delimited import (
    MAX_FRAME,
    LengthDelimitedReader,
    LengthDelimitedWriter,
    iter_length_delimited,
)
from goprims.framing.reader import FrameReader
from goprims.framing.recognizer import (
    Decoder,
    JSONFormat,
    PrefixFormat,
    Recognizer,
    RecognizingDecoder,
    YAMLFormat,
)
from goprims.framing.stream_decoder import DEFAULT_MAX_BYTES, Framing, StreamDecoder
from goprims.framing.watch_stream import watch_events
from goprims.framing.yaml_frames import YAMLDocumentReader, YAMLWriter, iter_yaml_documents
from goprims.framing.yaml_or_json import YAMLOrJSONReader

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_FRAME",
    "Decoder",
    "FrameReader",
    "Framing",
    "JSONFormat",
    "JSONFrameReader",
    "JSONSyntaxError",
    "LengthDelimitedReader",
    "LengthDelimitedWriter",
    "MalformedStream",
    "NoMatch",
    "ObjectTooLarge",
    "PrefixFormat",
    "Recognizer",
    "RecognizingDecoder",
    "StreamDecoder",
    "YAMLDocumentReader",
    "YAMLFormat",
    "YAMLOrJSONReader",
    "YAMLSyntaxError",
    "YAMLWriter",
    "iter_json_frames",
    "iter_length_delimited",
    "iter_yaml_documents",
    "watch_events",
]

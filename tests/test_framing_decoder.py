"""StreamDecoder (apimachinery streaming_test.go) and RecognizingDecoder (recognizer_test.go)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import yaml
from framing_support import Trickle, stream

import goprims
from goprims.framing import (
    JSONFormat,
    LengthDelimitedWriter,
    NoMatch,
    ObjectTooLarge,
    PrefixFormat,
    RecognizingDecoder,
    StreamDecoder,
    YAMLFormat,
    YAMLWriter,
)

# ------------------------------------------------------------------------------- StreamDecoder


def test_empty_stream_raises_eoferror_and_iterates_to_nothing() -> None:
    for framing in ("json", "yaml", "length-delimited"):
        assert list(StreamDecoder(stream(b""), framing=framing)) == []
        with pytest.raises(EOFError):
            StreamDecoder(stream(b""), framing=framing).next()


def test_oversized_frame_raises_once_then_the_next_frame_decodes() -> None:
    # streaming_test.go TestDecoder: 1025 B, 5 KiB, 17 MiB, 1025 B with the 16 MiB default
    frames = [b"\x01" * 1025, b"\x02" * 5 * 1024, b"\x03" * 17 * 1024 * 1024, b"\x04" * 1025]
    buf = io.BytesIO()
    w = LengthDelimitedWriter(buf)
    for f in frames:
        w.write(f)
    buf.seek(0)
    got: list[bytes] = []

    def keep(data: bytes) -> int:
        got.append(data)
        return len(data)

    dec = StreamDecoder(buf, framing="length-delimited", decode=keep)
    assert dec.next() == 1025
    assert dec.next() == 5 * 1024
    with pytest.raises(ObjectTooLarge):
        dec.next()
    assert got == frames[:2]  # the oversized frame never reached decode
    assert dec.next() == 1025
    assert got[-1] == frames[3]
    with pytest.raises(EOFError):
        dec.next()


def test_json_stream_decodes_each_value_once() -> None:
    data = b'{"kind":"A","n":1}\n{"kind":"B","n":2} [3] "s" 4.5 null'
    assert list(StreamDecoder(stream(data))) == [
        {"kind": "A", "n": 1},
        {"kind": "B", "n": 2},
        [3],
        "s",
        4.5,
        None,
    ]


def test_json_oversized_value_is_skipped_once_by_the_decoder() -> None:
    data = b'{"a":1}' + json.dumps({"x": "y" * 5000}).encode() + b'{"b":2}'
    dec = StreamDecoder(Trickle(data, sizes=(100,)), max_bytes=1000)
    assert dec.next() == {"a": 1}
    with pytest.raises(ObjectTooLarge):
        dec.next()
    assert dec.next() == {"b": 2}
    assert list(dec) == []


def test_custom_decode_gets_the_frame_bytes() -> None:
    dec = StreamDecoder(stream(b'{"a": 1}  [2]'), decode=lambda b: b.upper())
    assert list(dec) == [b'{"A": 1}', b"[2]"]


def test_yaml_stream_decodes_documents_with_safe_load() -> None:
    data = b'---\nkind: A\nitems: [1, 2]\n--- # next\n{"kind": "B"}\n---\n'
    assert list(StreamDecoder(stream(data), framing="yaml")) == [
        {"kind": "A", "items": [1, 2]},
        {"kind": "B"},
    ]


@pytest.mark.parametrize("data", [b"foo: bar\n--", b"foo: bar\n-"], ids=repr)
def test_yaml_document_with_a_broken_separator_fails_to_decode(data: bytes) -> None:
    # decoder_test.go TestYAMLOrJSONDecoder: "--" and "-" are content, not separators
    with pytest.raises(yaml.YAMLError):
        list(StreamDecoder(stream(data), framing="yaml"))


def test_yaml_tab_indentation_is_a_yaml_error() -> None:
    # decoder_test.go TestDecodeBrokenYAML
    data = b"---\nstuff: 1\n\t\ttest-foo: 1\n\n---\n  "
    with pytest.raises(yaml.YAMLError, match="line 2"):
        list(StreamDecoder(stream(data), framing="yaml"))


def test_yaml_writer_and_decoder_round_trip_objects() -> None:
    objs: list[Any] = [{"a": 1}, {"b": {"c": [1, "two", None]}}, {"d": "é ☃"}]
    buf = io.BytesIO()
    w = YAMLWriter(buf)
    for o in objs:
        w.write(o)
    buf.seek(0)
    assert list(StreamDecoder(buf, framing="yaml")) == objs


def test_decode_error_propagates_and_the_next_frame_still_decodes() -> None:
    buf = io.BytesIO()
    w = LengthDelimitedWriter(buf)
    for f in (b'{"a":1}', b"not json", b'{"b":2}'):
        w.write(f)
    buf.seek(0)
    dec = StreamDecoder(buf, framing="length-delimited")
    assert dec.next() == {"a": 1}
    with pytest.raises(json.JSONDecodeError):
        dec.next()
    assert dec.next() == {"b": 2}


def test_truncated_frame_ends_an_iteration_with_eoferror() -> None:
    with pytest.raises(EOFError):
        list(StreamDecoder(stream(b'{"a":1} {"b":'), max_bytes=100))


def test_stream_decoder_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="framing"):
        StreamDecoder(stream(b""), framing="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        StreamDecoder(stream(b""), max_bytes=-1)
    with pytest.raises(TypeError, match="callable"):
        StreamDecoder(stream(b""), decode=42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- RecognizingDecoder

PROTO = PrefixFormat(b"k8s\x00", lambda rest: ("proto", rest))


class Unsure:
    """A decoder that cannot tell and decodes everything as its own name."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail

    def recognizes(self, peek: bytes) -> tuple[bool, bool]:
        return False, True

    def decode(self, data: bytes) -> Any:
        if self.fail:
            raise ValueError(f"{self.name} cannot")
        return self.name


class Plain:
    """A decoder without recognizes()."""

    def __init__(self, name: str) -> None:
        self.name = name

    def decode(self, data: bytes) -> Any:
        return self.name


def test_recognizer_routes_by_content() -> None:
    dec = RecognizingDecoder([PROTO, JSONFormat(), YAMLFormat()])
    assert dec.decode(b"k8s\x00payload") == ("proto", b"payload")
    assert dec.decode(b'  {"kind": "A"}') == {"kind": "A"}
    assert dec.decode(b"\nkind: A\napiVersion: v1\n") == {"kind": "A", "apiVersion": "v1"}


def test_recognizer_upstream_json_and_yaml_serializers_decode_both() -> None:
    # recognizer_test.go TestRecognizer: a JSON serializer and a YAML one, YAML text and JSON text
    dec = RecognizingDecoder([JSONFormat(), YAMLFormat()])
    assert dec.decode(b"\nkind: A\napiVersion: v1\n") == {"kind": "A", "apiVersion": "v1"}
    assert dec.decode(b'\n{\n  "kind":"A",\n  "apiVersion":"v1"\n}\n') == {
        "kind": "A",
        "apiVersion": "v1",
    }


def test_recognizer_no_match_raises_nomatch_chained_to_the_last_failure() -> None:
    dec = RecognizingDecoder([PROTO, JSONFormat(), YAMLFormat()])
    with pytest.raises(NoMatch, match="no serialization format matched") as info:
        dec.decode(b"just some words")
    assert isinstance(info.value.__cause__, ValueError)
    assert "not a mapping" in str(info.value.__cause__)
    assert goprims.NoMatch is NoMatch


def test_recognizer_with_no_candidate_raises_nomatch() -> None:
    with pytest.raises(NoMatch):
        RecognizingDecoder([PROTO, JSONFormat()]).decode(b"[1, 2]")
    with pytest.raises(NoMatch):
        RecognizingDecoder([]).decode(b"{}")


def test_first_recognizer_that_says_ok_wins_over_later_ones_and_unknowns() -> None:
    first = PrefixFormat(b"{", lambda rest: "first")
    dec = RecognizingDecoder([Unsure("unsure"), first, JSONFormat()])
    assert dec.decode(b'{"a":1}') == "first"


def test_a_recognized_decoder_failure_is_final() -> None:
    dec = RecognizingDecoder([JSONFormat(), Unsure("fallback")])
    with pytest.raises(json.JSONDecodeError):
        dec.decode(b"{not json")


def test_second_pass_keeps_the_given_order_of_unknown_and_plain_decoders() -> None:
    dec = RecognizingDecoder([Unsure("u1", fail=True), Plain("p1"), Unsure("u2")])
    assert dec.decode(b"anything") == "p1"
    dec = RecognizingDecoder([Plain("p1"), Unsure("u1")])
    assert dec.decode(b"anything") == "p1"


def test_a_recognizer_that_raises_is_passed_over() -> None:
    class Broken:
        def recognizes(self, peek: bytes) -> tuple[bool, bool]:
            raise RuntimeError("cannot peek")

        def decode(self, data: bytes) -> Any:
            return "broken"

    assert RecognizingDecoder([Broken(), Unsure("u")]).decode(b"x") == "u"
    with pytest.raises(NoMatch) as info:
        RecognizingDecoder([Broken()]).decode(b"x")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_recognizing_decoders_nest() -> None:
    inner = RecognizingDecoder([PROTO, JSONFormat()])
    assert inner.recognizes(b"k8s\x00x") == (True, False)
    assert inner.recognizes(b"plain") == (False, False)
    assert RecognizingDecoder([inner, YAMLFormat()]).recognizes(b"plain") == (False, True)
    outer = RecognizingDecoder([inner, YAMLFormat()])
    assert outer.decode(b"k8s\x00x") == ("proto", b"x")
    assert outer.decode(b"a: 1") == {"a": 1}


def test_recognizer_rejects_objects_without_decode() -> None:
    with pytest.raises(TypeError, match="decode"):
        RecognizingDecoder([object()])  # type: ignore[list-item]


def test_yaml_format_can_accept_any_value() -> None:
    assert YAMLFormat(mappings_only=False).decode(b"- 1\n- 2\n") == [1, 2]
    assert JSONFormat().recognizes(b"[1]") == (False, False)

"""The YAML-or-JSON stream (apimachinery decoder_test.go TestYAMLOrJSONDecoder and friends)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import yaml
from framing_support import Trickle

from goprims.framing import JSONSyntaxError, ObjectTooLarge, StreamDecoder, YAMLOrJSONReader


def decode_all(data: bytes, sizes: tuple[int, ...] | None = None) -> tuple[list[Any], bool]:
    stream: Any = io.BytesIO(data) if sizes is None else Trickle(data, sizes)
    reader = YAMLOrJSONReader(stream)
    out = []
    while True:
        try:
            out.append(reader.read_value())
        except EOFError as exc:
            if type(exc) is not EOFError:  # the clean end
                return out, reader.is_json
            raise


CASES: list[tuple[bytes, bool, list[Any]]] = [
    (b' {"1":2}{"3":4}', True, [{"1": 2}, {"3": 4}]),
    (b" \n{}", True, [{}]),
    (b" \na: b", False, [{"a": "b"}]),
    (b' \n{"a": "b"}', True, [{"a": "b"}]),
    (b'   {"a":"b"}', True, [{"a": "b"}]),
    (b"", False, []),
    (b"foo: bar\n---\nbaz: biz", False, [{"foo": "bar"}, {"baz": "biz"}]),
    (b"---\nfoo: bar\n--- # with Comment\nbaz: biz", False, [{"foo": "bar"}, {"baz": "biz"}]),
    (
        b"foo:\n  field: bar\n---\nbaz:\n  field: biz",
        False,
        [{"foo": {"field": "bar"}}, {"baz": {"field": "biz"}}],
    ),
    (b"foo: bar\n---\n", False, [{"foo": "bar"}]),
    (b"foo: bar\n---", False, [{"foo": "bar"}]),
    (b"foo: bar\n", False, [{"foo": "bar"}]),
    # First document is JSON, second is YAML
    (b'{"foo": "bar"}\n---\n{baz: biz}', False, [{"foo": "bar"}, {"baz": "biz"}]),
    (b'{"foo": "bar"}\n---\na: b', False, [{"foo": "bar"}, {"a": "b"}]),
    (b'{"foo": "bar"}    \n---\na: b', False, [{"foo": "bar"}, {"a": "b"}]),
    (
        b'{"foo": "bar"}\n---\n{baz: biz0123456780123456780123456780123456780123456789}',
        False,
        [{"foo": "bar"}, {"baz": "biz0123456780123456780123456780123456780123456789"}],
    ),
    (b'{"foo": "bar"}    \n---\n{baz: biz}', False, [{"foo": "bar"}, {"baz": "biz"}]),
    # First document is YAML (flow style), second is JSON
    (b'{foo: bar}\n---\n{"baz": "biz"}', False, [{"foo": "bar"}, {"baz": "biz"}]),
    # JSON then YAML, indented with spaces, then with tabs
    (b'{\n  "foo": "bar"\n}\n---\n{\n  baz: biz\n}', False, [{"foo": "bar"}, {"baz": "biz"}]),
    (b'{\n\t"foo": "bar"\n}\n---\n{\n\tbaz: biz\n}', False, [{"foo": "bar"}, {"baz": "biz"}]),
]


@pytest.mark.parametrize(("data", "is_json", "want"), CASES, ids=repr)
def test_yaml_or_json_upstream_cases(data: bytes, is_json: bool, want: list[Any]) -> None:
    assert decode_all(data) == (want, is_json)
    assert decode_all(data, sizes=(1, 2, 5)) == (want, is_json)


@pytest.mark.parametrize("data", [b"foo: bar\n--", b"foo: bar\n-"], ids=repr)
def test_yaml_or_json_broken_separator_is_an_error(data: bytes) -> None:
    with pytest.raises(yaml.YAMLError):
        decode_all(data)


def test_after_two_json_objects_a_json_error_is_final() -> None:
    reader = YAMLOrJSONReader(io.BytesIO(b'{"foo": "bar"}\n{"baz": "biz"}\n---\n{qux: zrb}'))
    assert reader.read_value() == {"foo": "bar"}
    assert reader.read_value() == {"baz": "biz"}
    with pytest.raises(JSONSyntaxError):
        reader.read_value()
    assert reader.is_json


def test_broken_json_that_is_not_yaml_either_reports_the_json_error() -> None:
    # decoder_test.go TestDecodeBrokenJSON: valid as neither; the JSON error is what is reported
    data = b'{\n\t"foo": {\n\t\t"stuff": 1\n\t\t"otherStuff": 2\n\t}\n}\n  '
    with pytest.raises(JSONSyntaxError, match="Expecting ',' delimiter") as info:
        decode_all(data)
    assert isinstance(info.value.__cause__, yaml.YAMLError)


def test_broken_yaml_is_reported_as_yaml() -> None:
    # decoder_test.go TestDecodeBrokenYAML: a YAML stream (no leading brace) with a tab indent
    with pytest.raises(yaml.YAMLError, match="tab character"):
        decode_all(b"---\nstuff: 1\n\t\ttest-foo: 1\n\n---\n  ")


def test_a_truncated_first_json_object_is_read_as_yaml() -> None:
    # Go switches on any JSON error with at most one object read, a cut-off value included.
    assert decode_all(b'{"a": 1}\n{b: [1, 2]}') == ([{"a": 1}, {"b": [1, 2]}], False)


def test_stream_decoder_yaml_or_json_and_frames() -> None:
    data = b'{"kind": "A"}\n---\nkind: B\n---\nkind: C\n'
    assert list(StreamDecoder(io.BytesIO(data), framing="yaml-or-json")) == [
        {"kind": "A"},
        {"kind": "B"},
        {"kind": "C"},
    ]
    frames = list(YAMLOrJSONReader(io.BytesIO(data)))
    assert frames == [b'{"kind": "A"}', b"kind: B\n", b"kind: C\n"]


def test_oversized_json_object_is_skipped_not_switched() -> None:
    data = b'{"a": 1} {"big": "' + b"x" * 500 + b'"} {"c": 3}'
    dec = StreamDecoder(io.BytesIO(data), framing="yaml-or-json", max_bytes=100)
    assert dec.next() == {"a": 1}
    with pytest.raises(ObjectTooLarge):
        dec.next()
    assert dec.next() == {"c": 3}

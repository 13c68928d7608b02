"""Frame readers and writers (ports of apimachinery's framer and yaml decoder tests)."""

from __future__ import annotations

import io
import json

import pytest
from framing_support import Trickle, live_pipe, read_in_thread, stream
from hypothesis import given, settings
from hypothesis import strategies as st

from goprims.framing import (
    JSONSyntaxError,
    LengthDelimitedWriter,
    ObjectTooLarge,
    YAMLSyntaxError,
    YAMLWriter,
    iter_json_frames,
    iter_length_delimited,
    iter_yaml_documents,
)

# ---------------------------------------------------------------------------- length-delimited

UPSTREAM_FRAMES = bytes(
    [0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 3, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 1, 8]
)  # framer_test.go TestRead / TestReadLarge


def test_length_delimited_reads_upstream_frames_including_an_empty_one() -> None:
    frames = list(iter_length_delimited(stream(UPSTREAM_FRAMES)))
    assert frames == [b"\x01\x02\x03\x04", b"\x05\x06\x07", b"", b"\x08"]


def test_length_delimited_reads_frames_from_one_byte_reads() -> None:
    frames = list(iter_length_delimited(Trickle(UPSTREAM_FRAMES)))
    assert frames == [b"\x01\x02\x03\x04", b"\x05\x06\x07", b"", b"\x08"]


@pytest.mark.parametrize("size", [0, 1, 1 << 20], ids=["empty", "one-byte", "1MiB"])
def test_length_delimited_round_trips_a_frame(size: int) -> None:
    frame = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    buf = io.BytesIO()
    w = LengthDelimitedWriter(buf)
    w.write(frame)
    w.write(b"after")
    buf.seek(0)
    assert list(iter_length_delimited(buf)) == [frame, b"after"]


def test_length_delimited_writer_writes_a_big_endian_length_prefix() -> None:
    buf = io.BytesIO()
    LengthDelimitedWriter(buf).write(b"abc")
    assert buf.getvalue() == b"\x00\x00\x00\x03abc"


def test_length_delimited_writer_rejects_text() -> None:
    with pytest.raises(TypeError, match="bytes"):
        LengthDelimitedWriter(io.BytesIO()).write("abc")  # type: ignore[arg-type]


def test_truncated_frame_raises_eoferror_then_the_stream_ends() -> None:
    reader = iter_length_delimited(stream(bytes([0, 0, 0, 4, 1, 2])))  # TestReadInvalidFrame
    with pytest.raises(EOFError, match="2 of 4"):
        reader.read_frame()
    assert reader.read_frame() is None


def test_truncated_header_raises_eoferror() -> None:
    reader = iter_length_delimited(stream(b"\x00\x00\x00\x01a\x00\x00"))
    assert reader.read_frame() == b"a"
    with pytest.raises(EOFError, match="header"):
        reader.read_frame()


def test_length_delimited_oversized_frame_is_reported_once_and_skipped() -> None:
    buf = io.BytesIO()
    w = LengthDelimitedWriter(buf)
    for frame in (b"a" * 10, b"b" * 100_000, b"c" * 10):
        w.write(frame)
    buf.seek(0)
    reader = iter_length_delimited(buf, max_bytes=50)
    assert reader.read_frame() == b"a" * 10
    with pytest.raises(ObjectTooLarge) as info:
        reader.read_frame()
    assert (info.value.size, info.value.max_bytes) == (100_000, 50)
    assert reader.read_frame() == b"c" * 10
    assert reader.read_frame() is None


def test_max_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        iter_length_delimited(stream(b""), max_bytes=0)


# ---------------------------------------------------------------------------------------- JSON


def test_json_frames_upstream_stream_of_object_number_array() -> None:
    frames = list(iter_json_frames(stream(b'{"test":true}\n1\n["a"]')))  # TestJSONFrameReader
    assert frames == [b'{"test":true}', b"1", b'["a"]']


def test_json_frames_need_no_separator_between_values() -> None:
    frames = list(iter_json_frames(stream(b'{"a":1} {"b":2}\n[3]')))
    assert frames == [b'{"a":1}', b'{"b":2}', b"[3]"]
    assert list(iter_json_frames(stream(b"{}{}[]"))) == [b"{}", b"{}", b"[]"]


def test_json_frames_keep_the_bytes_as_sent() -> None:
    data = '{ "a" : [ 1 , 2 ] , "é" : "\\u00e9\\"}" }'.encode()
    assert list(iter_json_frames(stream(b"  \n" + data + b"\t\r\n"))) == [data]


@pytest.mark.parametrize("data", [b"", b"   \n\t  "], ids=["empty", "whitespace"])
def test_json_stream_without_values_has_no_frames(data: bytes) -> None:
    assert list(iter_json_frames(stream(data))) == []


def test_json_value_split_across_one_byte_reads() -> None:
    data = b'{"a":"}\\"]","b":[{"c":"\\\\"}]}  "str\\"ing" 123 -4.5e3 true null'
    frames = list(iter_json_frames(Trickle(data)))
    assert frames == [
        b'{"a":"}\\"]","b":[{"c":"\\\\"}]}',
        b'"str\\"ing"',
        b"123",
        b"-4.5e3",
        b"true",
        b"null",
    ]


def test_json_number_at_a_read_boundary_waits_for_its_end() -> None:
    values = [json.loads(f) for f in iter_json_frames(Trickle(b"12 345", sizes=(1, 2, 3)))]
    assert values == [12, 345]


def test_json_non_ascii_value_split_inside_a_utf8_character() -> None:
    data = json.dumps({"name": "naïve ☃ 𝄞"}, ensure_ascii=False).encode()
    reader = iter_json_frames(Trickle(data, sizes=(3, 1)))
    assert reader.read_value() == {"name": "naïve ☃ 𝄞"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(json_values, max_size=6),
    st.lists(st.integers(1, 9), min_size=1, max_size=5),
    st.booleans(),
)
def test_json_frames_of_any_values_and_read_sizes(
    values: list[object], sizes: list[int], ascii_only: bool
) -> None:
    # Values are separated by a space: two adjacent numbers would otherwise be one.
    data = b" ".join(json.dumps(v, ensure_ascii=ascii_only).encode() for v in values)
    frames = list(iter_json_frames(Trickle(data, sizes)))
    assert [json.loads(f) for f in frames] == values
    reader = iter_json_frames(Trickle(data, sizes))
    assert [reader.read_value() for _ in values] == values
    assert reader.read_frame() is None


@pytest.mark.parametrize(
    "data", [b'{"a" 1}', b"xyz", b"[1,]", b"}", b"tru ", b'{"a":1}}'], ids=repr
)
def test_json_syntax_error_is_raised_and_stays(data: bytes) -> None:
    reader = iter_json_frames(stream(data))
    with pytest.raises(JSONSyntaxError) as info:
        list(reader)
    assert info.value.offset >= 0
    with pytest.raises(JSONSyntaxError):
        reader.read_frame()


def test_json_syntax_error_names_its_offset() -> None:
    # decoder_test.go TestDecodeBrokenJSON: a missing comma between pairs
    data = b'{\n\t"foo": {\n\t\t"stuff": 1\n\t\t"otherStuff": 2\n\t}\n}\n  '
    with pytest.raises(JSONSyntaxError, match=r"json: offset \d+: Expecting ',' delimiter"):
        list(iter_json_frames(stream(data)))


def test_json_syntax_error_after_good_values_keeps_them() -> None:
    reader = iter_json_frames(stream(b'{"a":1} [2] {oops}'))
    assert reader.read_frame() == b'{"a":1}'
    assert reader.read_frame() == b"[2]"
    with pytest.raises(JSONSyntaxError) as info:
        reader.read_frame()
    assert info.value.offset == 13  # where the scanner stopped: the "o"


def test_json_invalid_value_spanning_reads_is_a_syntax_error() -> None:
    with pytest.raises(JSONSyntaxError):
        list(iter_json_frames(Trickle(b'{"a": [1, 2 3]}', sizes=(2,))))


@pytest.mark.parametrize("data", [b'{"a":', b'[1, {"b": "x', b'"abc'], ids=repr)
def test_json_stream_ending_inside_a_value_raises_eoferror(data: bytes) -> None:
    with pytest.raises(EOFError, match="inside a JSON value"):
        list(iter_json_frames(Trickle(data, sizes=(2,))))


def test_json_oversized_value_is_reported_once_and_skipped_while_it_streams() -> None:
    big = json.dumps({"blob": ["x" * 100] * 2000}).encode()  # ~200 KB, arrives in pieces
    data = b'{"a":1}' + big + b'{"b":2}'
    reader = iter_json_frames(Trickle(data, sizes=(4096,)), max_bytes=10_000)
    assert reader.read_value() == {"a": 1}
    with pytest.raises(ObjectTooLarge) as info:
        reader.read_value()
    assert info.value.size > 10_000
    assert reader.read_value() == {"b": 2}
    assert reader.read_frame() is None


def test_json_oversized_value_already_buffered_is_reported_once_and_skipped() -> None:
    reader = iter_json_frames(stream(b'[1] "' + b"y" * 200 + b'" [3]'), max_bytes=100)
    assert reader.read_frame() == b"[1]"
    with pytest.raises(ObjectTooLarge) as info:
        reader.read_frame()
    assert info.value.size == 202
    assert reader.read_frame() == b"[3]"


def test_json_frame_on_a_live_stream_comes_out_before_the_stream_ends() -> None:
    with live_pipe() as (r, w):
        reader = iter_json_frames(r)
        w.write(b'{"first": 1}\n')
        t, out, done = read_in_thread(reader.read_frame)
        assert done.wait(10), "a complete value waited for more data"
        assert out == [b'{"first": 1}']
        t.join()
        w.write(b'{"sec')
        t, out, done = read_in_thread(reader.read_frame)
        w.write(b'ond": 2}')
        w.close()
        t.join(10)
        assert out == [b'{"second": 2}']


# ---------------------------------------------------------------------------------------- YAML


def test_yaml_two_documents() -> None:
    assert list(iter_yaml_documents(stream(b"a: 1\n---\nb: 2\n"))) == [b"a: 1\n", b"b: 2\n"]


@pytest.mark.parametrize(
    ("data", "docs"),
    [
        (b"---\nfoo: bar\n--- # with Comment\nbaz: biz", [b"foo: bar\n", b"baz: biz\n"]),
        (b"foo: bar\n---\nbaz: biz", [b"foo: bar\n", b"baz: biz\n"]),
        (b"foo: bar\n---\n", [b"foo: bar\n"]),
        (b"foo: bar\n---", [b"foo: bar\n"]),
        (b"foo: bar\n", [b"foo: bar\n"]),
        (
            b"foo:\n  field: bar\n---\nbaz:\n  field: biz",
            [b"foo:\n  field: bar\n", b"baz:\n  field: biz\n"],
        ),
        (b"---#tight comment\na: 1\n", [b"a: 1\n"]),
        (b"", []),
        (b"---\n---\n# only a comment\n\n---\n   \n---\na: 1\n---\n", [b"a: 1\n"]),
        (b"a: |\n  --- not a separator\n", [b"a: |\n  --- not a separator\n"]),
    ],
    ids=repr,
)
def test_yaml_separators(data: bytes, docs: list[bytes]) -> None:
    assert list(iter_yaml_documents(stream(data))) == docs
    assert list(iter_yaml_documents(Trickle(data, sizes=(1, 3)))) == docs


def test_yaml_separator_with_content_is_a_syntax_error_after_the_document_before_it() -> None:
    # decoder_test.go TestDecodeYAMLSeparatorValidation
    data = (
        b"---\nstuff: 1\n---    # Make sure termination happen with inline comment\n"
        b"stuff: 2\n---\nstuff: 3\n--- Make sure uncommented content results YAMLSyntaxError\n"
        b"\n after: 4\n"
    )
    reader = iter_yaml_documents(stream(data))
    assert reader.read_frame() == b"stuff: 1\n"
    assert reader.read_frame() == b"stuff: 2\n"
    assert reader.read_frame() == b"stuff: 3\n"
    with pytest.raises(YAMLSyntaxError, match=r"line 7.*Make sure uncommented"):
        reader.read_frame()
    assert reader.read_frame() == b"\n after: 4\n"
    assert reader.read_frame() is None


def test_yaml_bad_separator_first_raises_at_once() -> None:
    reader = iter_yaml_documents(stream(b"--- x\na: 1\n"))
    with pytest.raises(YAMLSyntaxError):
        reader.read_frame()
    assert reader.read_frame() == b"a: 1\n"


def test_yaml_oversized_document_is_reported_once_and_skipped() -> None:
    big = b"".join(b"k%d: %s\n" % (i, b"v" * 50) for i in range(100))
    reader = iter_yaml_documents(stream(b"a: 1\n---\n" + big + b"---\nb: 2\n"), max_bytes=1000)
    assert reader.read_frame() == b"a: 1\n"
    with pytest.raises(ObjectTooLarge):
        reader.read_frame()
    assert reader.read_frame() == b"b: 2\n"
    assert reader.read_frame() is None


def test_yaml_writer_prefixes_each_document_with_a_separator() -> None:
    buf = io.BytesIO()
    w = YAMLWriter(buf)
    w.write(b"a: 1\n")
    w.write("b: 2")
    w.write({"c": [1, 2]})
    assert buf.getvalue() == b"---\na: 1\n---\nb: 2\n---\nc:\n- 1\n- 2\n"
    buf.seek(0)
    assert list(iter_yaml_documents(buf)) == [b"a: 1\n", b"b: 2\n", b"c:\n- 1\n- 2\n"]


def test_yaml_document_on_a_live_stream_comes_out_at_its_separator() -> None:
    with live_pipe() as (r, w):
        reader = iter_yaml_documents(r)
        w.write(b"a: 1\n---\n")
        t, out, done = read_in_thread(reader.read_frame)
        assert done.wait(10), "a finished document waited for more data"
        assert out == [b"a: 1\n"]
        t.join()


def test_json_escape_split_exactly_at_a_read_boundary() -> None:
    # The backslash ends one read and the escaped quote starts the next.
    data = b'["a\\\\", "b\\"c", "\\\\"] {"k": "\\"}"}'
    for size in range(1, 8):
        assert [json.loads(f) for f in iter_json_frames(Trickle(data, sizes=(size,)))] == [
            ["a\\", 'b"c', "\\"],
            {"k": '"}'},
        ]

"""The Kubernetes protobuf encoding of the request bodies kubectl's imperative commands send
(``kubectl create configmap``, ``kubectl create secret generic``): the ``k8s\\x00`` magic, a
``runtime.Unknown`` envelope, then the object. Only what those two kinds carry is decoded (to
the API's JSON shape); everything else is refused, so the server answers 415.

Wire format (protocol buffers): each field is a varint key ``field_number << 3 | wire_type``,
then a varint (type 0), 8 bytes (1), a length-prefixed byte string (2) or 4 bytes (5). A
``map<K, V>`` is a repeated message of ``key = 1, value = 2``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

__all__ = ["MAGIC", "ProtobufError", "decode_object"]

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """A body that is not a protobuf object this module can decode."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value: int or bytes) of a message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            n, pos = _varint(data, pos)
            if pos + n > len(data):
                raise ProtobufError("truncated field")
            yield number, wire, data[pos : pos + n]
            pos += n
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise ProtobufError("truncated field")
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")


def _text(v: Any) -> str:
    if not isinstance(v, bytes):
        raise ProtobufError("expected a string field")
    return v.decode("utf-8")


def _map_entry(v: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, x in _fields(v):
        if number == 1:
            key = _text(x)
        elif number == 2:
            value = x if isinstance(x, bytes) else b""
    return key, value


def _object_meta(data: bytes) -> dict[str, Any]:
    """ObjectMeta: name 1, generateName 2, namespace 3, uid 5, resourceVersion 6, generation 7,
    labels 11, annotations 12, finalizers 14 (timestamps are the server's to set)."""
    md: dict[str, Any] = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, _, v in _fields(data):
        # Go writes every string field, empty or not: an empty one means "unset"
        if number in names:
            if text := _text(v):
                md[names[number]] = text
        elif number == 7 and isinstance(v, int):
            if v:
                md["generation"] = v
        elif number in (11, 12):
            k, x = _map_entry(v)
            md.setdefault("labels" if number == 11 else "annotations", {})[k] = x.decode("utf-8")
        elif number == 14:
            md.setdefault("finalizers", []).append(_text(v))
    return md


def _config_map(data: bytes) -> dict[str, Any]:
    """ConfigMap: metadata 1, data 2, binaryData 3 (base64 in JSON), immutable 4."""
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
    for number, _, v in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(v)
        elif number == 2:
            k, x = _map_entry(v)
            obj.setdefault("data", {})[k] = x.decode("utf-8")
        elif number == 3:
            k, x = _map_entry(v)
            obj.setdefault("binaryData", {})[k] = base64.b64encode(x).decode()
        elif number == 4:
            obj["immutable"] = bool(v)
    return obj


def _secret(data: bytes) -> dict[str, Any]:
    """Secret: metadata 1, data 2 (base64 in JSON), type 3, stringData 4, immutable 5."""
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret"}
    for number, _, v in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(v)
        elif number == 2:
            k, x = _map_entry(v)
            obj.setdefault("data", {})[k] = base64.b64encode(x).decode()
        elif number == 3:
            obj["type"] = _text(v)
        elif number == 4:
            k, x = _map_entry(v)
            obj.setdefault("stringData", {})[k] = x.decode("utf-8")
        elif number == 5:
            obj["immutable"] = bool(v)
    return obj


_DECODERS = {("v1", "ConfigMap"): _config_map, ("v1", "Secret"): _secret}


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded ConfigMap or Secret. Raises :class:`ProtobufError`
    for anything else (no magic, another kind, a malformed message)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("no k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    try:
        for number, _, v in _fields(body[len(MAGIC) :]):
            if number == 1:  # runtime.TypeMeta: apiVersion 1, kind 2
                for n2, _, x in _fields(v):
                    if n2 == 1:
                        api_version = _text(x)
                    elif n2 == 2:
                        kind = _text(x)
            elif number == 2:
                raw = v
        decode = _DECODERS.get((api_version, kind))
        if decode is None:
            raise ProtobufError(f"protobuf bodies of {api_version}/{kind} are not supported")
        return decode(raw)
    except UnicodeDecodeError as err:
        raise ProtobufError(f"invalid UTF-8 in a string field: {err}") from None

"""Protobuf request bodies (kubectl's imperative ``create configmap`` / ``create secret``):
decoded for ConfigMaps and Secrets, refused with 415 otherwise."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from kube_support import server
from test_kube_kubectl import Kubectl, needs_kubectl

from goprims.kube._protobuf import MAGIC, ProtobufError, decode_object


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def entry(number: int, key: str, value: bytes) -> bytes:
    return field(number, field(1, key.encode()) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return (
        MAGIC
        + field(1, type_meta)
        + field(2, raw)
        + field(4, b"application/vnd.kubernetes.protobuf")
    )


def test_a_config_map_decodes_to_its_json_form() -> None:
    meta = (
        field(1, b"cm") + field(2, b"") + field(3, b"ns") + entry(11, "app", b"web") + field(7, 0)
    )
    raw = field(1, meta) + entry(2, "k", b"v") + entry(3, "bin", b"\x00\xff") + field(4, 1)
    assert decode_object(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", "labels": {"app": "web"}},
        "data": {"k": "v"},
        "binaryData": {"bin": base64.b64encode(b"\x00\xff").decode()},
        "immutable": True,
    }


def test_a_secret_decodes_with_base64_data() -> None:
    raw = field(1, field(1, b"s")) + entry(2, "pw", b"hunter2") + field(3, b"Opaque")
    obj = decode_object(envelope("v1", "Secret", raw))
    assert obj["data"] == {"pw": base64.b64encode(b"hunter2").decode()}
    assert obj["type"] == "Opaque"
    assert obj["metadata"] == {"name": "s"}


@pytest.mark.parametrize(
    "body",
    [
        b"{}",  # no magic
        envelope("apps/v1", "Deployment", b""),  # a kind it does not decode
        MAGIC + b"\x0a\x05ab",  # truncated
        MAGIC + b"\x0b",  # a wire type it does not know
    ],
)
def test_other_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_object(body)


@needs_kubectl
def test_kubectl_create_configmap_and_secret_imperatively(tmp_path: Path) -> None:
    with server() as srv:
        k = Kubectl(srv, tmp_path)
        assert "created" in k("create", "configmap", "imp", "--from-literal=a=1").stdout
        assert k.json("get", "cm", "imp")["data"] == {"a": "1"}
        assert "labeled" in k("label", "configmap", "imp", "tier=x").stdout
        assert k.json("get", "cm", "imp")["metadata"]["labels"] == {"tier": "x"}

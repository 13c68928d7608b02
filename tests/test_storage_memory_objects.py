"""goprims.storage.objects: the metadata, version and copy rules every storage backend shares."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from goprims.storage import InvalidObject, InvalidResourceVersion
from goprims.storage.objects import (
    check_key,
    copy_object,
    parse_resource_version,
    resource_version_of,
    set_resource_version,
)


@pytest.mark.parametrize(
    ("given", "want"), [("", 0), ("0", 0), ("7", 7), ("0012", 12), (0, 0), (42, 42)]
)
def test_parse_resource_version_accepts_decimal_versions(given: Any, want: int) -> None:
    assert parse_resource_version(given) == want


@pytest.mark.parametrize("bad", ["-1", "1.5", " 3", "abc", "٣", "1e3", -1, True, None, 2.0])
def test_parse_resource_version_rejects_anything_else(bad: Any) -> None:
    with pytest.raises(InvalidResourceVersion):
        parse_resource_version(bad)


def test_resource_version_is_read_from_each_supported_shape() -> None:
    assert resource_version_of({"metadata": {}}) == ""
    assert resource_version_of({"metadata": {"resourceVersion": "5"}}) == "5"
    assert resource_version_of({"metadata": {"resourceVersion": 5}}) == "5"
    assert resource_version_of(SimpleNamespace(metadata={"resourceVersion": "6"})) == "6"
    assert (
        resource_version_of(SimpleNamespace(metadata=SimpleNamespace(resource_version="7"))) == "7"
    )
    assert (
        resource_version_of(SimpleNamespace(metadata=SimpleNamespace(resourceVersion="8"))) == "8"
    )
    assert resource_version_of(SimpleNamespace(metadata=SimpleNamespace())) == ""
    with pytest.raises(InvalidObject):
        resource_version_of({"metadata": {"resourceVersion": 1.5}})


def test_set_resource_version_writes_the_field_the_shape_uses() -> None:
    d: dict[str, Any] = {"metadata": {}}
    set_resource_version(d, "3")
    assert d == {"metadata": {"resourceVersion": "3"}}
    snake = SimpleNamespace(metadata=SimpleNamespace(resource_version=None))
    set_resource_version(snake, "4")
    assert snake.metadata.resource_version == "4"
    camel = SimpleNamespace(metadata=SimpleNamespace(resourceVersion=None))
    set_resource_version(camel, "5")
    assert camel.metadata.resourceVersion == "5"
    assert not hasattr(camel.metadata, "resource_version")

    class Frozen:
        __slots__ = ()

    with pytest.raises(InvalidObject):
        set_resource_version(SimpleNamespace(metadata=Frozen()), "6")


def test_copy_object_is_deep_for_json_data_and_other_values() -> None:
    when = datetime.datetime(2024, 1, 1)
    src: dict[str, Any] = {
        "a": [1, {"b": [2, 3]}],
        "t": (1, [2]),
        "when": when,
        "n": None,
        "s": "x",
    }
    dup = copy_object(src)
    assert dup == src
    dup["a"][1]["b"].append(4)
    dup["t"][1].append(5)
    assert src["a"][1]["b"] == [2, 3]
    assert src["t"] == (1, [2])
    model = SimpleNamespace(metadata=SimpleNamespace(labels={"x": "1"}))
    mdup = copy_object(model)
    mdup.metadata.labels["x"] = "2"
    assert model.metadata.labels == {"x": "1"}
    assert copy_object("s") == "s"
    assert copy_object(3) == 3


def test_check_key_accepts_only_non_empty_strings() -> None:
    assert check_key("/a") == "/a"
    with pytest.raises(ValueError, match="storage key must not be empty"):
        check_key("")
    with pytest.raises(TypeError):
        check_key(b"/a")

"""Key functions, key splitting, the namespace index function and metadata accessors."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from goprims.cache import (
    NAMESPACE_INDEX,
    CacheKeyError,
    DeletedFinalStateUnknown,
    ExplicitKey,
    deletion_handling_meta_namespace_key_func,
    meta_namespace_index_func,
    meta_namespace_key_func,
    object_labels,
    object_namespace_and_name,
    object_resource_version,
    split_meta_namespace_key,
)


def dict_obj(name: Any, ns: Any = None, **extra: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, **extra}
    if ns is not None:
        md["namespace"] = ns
    return {"metadata": md}


def model_obj(name: Any, ns: Any = None, **extra: Any) -> SimpleNamespace:
    """Shaped like the official client's models: snake_case attributes on .metadata."""
    return SimpleNamespace(metadata=SimpleNamespace(name=name, namespace=ns, **extra))


def test_namespaced_dict_is_keyed_namespace_slash_name() -> None:
    assert meta_namespace_key_func(dict_obj("web", "prod")) == "prod/web"


def test_cluster_scoped_dict_is_keyed_by_name_alone() -> None:
    assert meta_namespace_key_func(dict_obj("node-1")) == "node-1"
    assert meta_namespace_key_func(dict_obj("node-1", "")) == "node-1"


def test_attribute_objects_are_keyed_like_dicts() -> None:
    assert meta_namespace_key_func(model_obj("web", "prod")) == "prod/web"
    assert meta_namespace_key_func(model_obj("node-1")) == "node-1"


def test_object_whose_metadata_attribute_is_a_mapping_is_read_like_a_dict() -> None:
    obj = SimpleNamespace(metadata={"name": "web", "namespace": "prod"})
    assert meta_namespace_key_func(obj) == "prod/web"


def test_explicit_key_is_returned_unchanged() -> None:
    key = meta_namespace_key_func(ExplicitKey("anything/at-all"))
    assert key == "anything/at-all"
    assert type(key) is str


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"metadata": None},
        {"spec": {"name": "x"}},
        SimpleNamespace(),
        SimpleNamespace(metadata=None),
        "prod/web",
        42,
        None,
    ],
    ids=[
        "empty-dict",
        "metadata-none",
        "no-metadata-key",
        "no-attr",
        "attr-none",
        "plain-str",
        "int",
        "None",
    ],
)
def test_object_without_metadata_raises_cache_key_error(bad: Any) -> None:
    with pytest.raises(CacheKeyError, match="object has no meta") as exc:
        meta_namespace_key_func(bad)
    assert exc.value.obj is bad
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("name", [None, "", 7])
def test_object_without_a_string_name_raises_cache_key_error(name: Any) -> None:
    with pytest.raises(CacheKeyError, match="no name"):
        meta_namespace_key_func(dict_obj(name, "prod"))
    with pytest.raises(CacheKeyError, match="no name"):
        meta_namespace_key_func(model_obj(name, "prod"))


def test_non_string_namespace_raises_cache_key_error() -> None:
    with pytest.raises(CacheKeyError, match="namespace is not a string"):
        meta_namespace_key_func(dict_obj("web", ["prod"]))


def test_cache_key_error_message_names_object_and_reason() -> None:
    err = CacheKeyError({"spec": 1}, "object has no meta")
    assert str(err) == "couldn't create key for object {'spec': 1}: object has no meta"


def test_deletion_handling_key_func_keys_a_tombstone_by_its_key() -> None:
    tomb = DeletedFinalStateUnknown("prod/gone", None)
    assert deletion_handling_meta_namespace_key_func(tomb) == "prod/gone"
    assert deletion_handling_meta_namespace_key_func(dict_obj("web", "prod")) == "prod/web"
    with pytest.raises(CacheKeyError):
        meta_namespace_key_func(tomb)  # the plain function knows no tombstones


def test_deletion_handling_key_func_still_rejects_objects_without_metadata() -> None:
    with pytest.raises(CacheKeyError):
        deletion_handling_meta_namespace_key_func({"no": "meta"})


@pytest.mark.parametrize(
    ("key", "parts"),
    [("prod/web", ("prod", "web")), ("node-1", ("", "node-1"))],
)
def test_split_meta_namespace_key_inverts_the_key_func(key: str, parts: tuple[str, str]) -> None:
    assert split_meta_namespace_key(key) == parts
    ns, name = parts
    assert meta_namespace_key_func(dict_obj(name, ns)) == key


@pytest.mark.parametrize("key", ["a/b/c", "", "prod/", "/web", "/", "a//b"])
def test_split_meta_namespace_key_rejects_malformed_keys(key: str) -> None:
    with pytest.raises(ValueError, match="unexpected key format"):
        split_meta_namespace_key(key)


def test_split_meta_namespace_key_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        split_meta_namespace_key(None)  # type: ignore[arg-type]


def test_namespace_index_func_files_an_object_under_its_namespace() -> None:
    assert NAMESPACE_INDEX == "namespace"
    assert meta_namespace_index_func(dict_obj("web", "prod")) == ["prod"]
    assert meta_namespace_index_func(model_obj("web", "prod")) == ["prod"]
    assert meta_namespace_index_func(dict_obj("node-1")) == [""]
    with pytest.raises(CacheKeyError):
        meta_namespace_index_func({"kind": "NoMeta"})


def test_resource_version_is_read_from_camel_or_snake_case() -> None:
    assert object_resource_version(dict_obj("a", resourceVersion="12")) == "12"
    assert object_resource_version(model_obj("a", resource_version="13")) == "13"
    camel = SimpleNamespace(metadata=SimpleNamespace(name="a", resourceVersion="14"))
    assert object_resource_version(camel) == "14"
    assert object_resource_version(dict_obj("a")) == ""


def test_labels_default_to_empty_and_must_be_a_mapping() -> None:
    assert object_labels(dict_obj("a")) == {}
    assert object_labels(model_obj("a", labels=None)) == {}
    assert object_labels(dict_obj("a", labels={"app": "web"})) == {"app": "web"}
    with pytest.raises(CacheKeyError, match="labels"):
        object_labels(dict_obj("a", labels=["app"]))


def test_namespace_and_name_accessor() -> None:
    assert object_namespace_and_name(model_obj("web", "prod")) == ("prod", "web")
    assert object_namespace_and_name(dict_obj("node")) == ("", "node")


def test_tombstones_compare_by_value() -> None:
    assert DeletedFinalStateUnknown("k", {"a": 1}) == DeletedFinalStateUnknown("k", {"a": 1})
    assert DeletedFinalStateUnknown("k", None) != DeletedFinalStateUnknown("j", None)

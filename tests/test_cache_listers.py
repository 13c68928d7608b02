"""Listers: list with selectors, get by name, namespace views with and without the index."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from goprims.cache import (
    NAMESPACE_INDEX,
    Indexer,
    Lister,
    ListerNotFound,
    Store,
    meta_namespace_index_func,
    meta_namespace_key_func,
)


def pod(name: str, ns: str = "", **labels: str) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "labels": labels}
    if ns:
        md["namespace"] = ns
    return {"metadata": md}


def names(objs: list[Any]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objs)


@pytest.fixture
def indexer() -> Indexer:
    ix = Indexer(meta_namespace_key_func, {NAMESPACE_INDEX: meta_namespace_index_func})
    for o in [
        pod("web-1", "prod", app="web", tier="fe"),
        pod("web-2", "prod", app="web"),
        pod("db-1", "prod", app="db"),
        pod("web-1", "dev", app="web", tier="fe"),
        pod("node-a"),
    ]:
        ix.add(o)
    return ix


def test_list_without_selector_returns_everything(indexer: Indexer) -> None:
    assert names(Lister(indexer).list()) == ["db-1", "node-a", "web-1", "web-1", "web-2"]
    assert len(Lister(indexer).list({})) == 5


def test_list_with_a_label_mapping_requires_every_label_to_match(indexer: Indexer) -> None:
    lister = Lister(indexer)
    assert names(lister.list({"app": "web"})) == ["web-1", "web-1", "web-2"]
    assert names(lister.list({"app": "web", "tier": "fe"})) == ["web-1", "web-1"]
    assert lister.list({"app": "web", "tier": "be"}) == []
    assert lister.list({"missing": ""}) == []  # an absent label never matches


def test_list_with_a_predicate(indexer: Indexer) -> None:
    got = Lister(indexer).list(lambda o: o["metadata"]["name"].startswith("db"))
    assert names(got) == ["db-1"]


def test_a_selector_of_another_type_is_a_type_error(indexer: Indexer) -> None:
    with pytest.raises(TypeError, match="selector"):
        Lister(indexer).list("app=web")  # type: ignore[arg-type]


def test_get_by_name_finds_cluster_scoped_objects(indexer: Indexer) -> None:
    assert Lister(indexer).get("node-a") == pod("node-a")


def test_get_of_a_missing_name_raises_lister_not_found(indexer: Indexer) -> None:
    with pytest.raises(ListerNotFound) as exc:
        Lister(indexer, resource="nodes").get("node-z")
    assert isinstance(exc.value, KeyError)
    assert str(exc.value) == 'nodes "node-z" not found'
    assert (exc.value.name, exc.value.key, exc.value.resource) == ("node-z", "node-z", "nodes")


def test_namespace_view_lists_through_the_namespace_index(
    indexer: Indexer, caplog: pytest.LogCaptureFixture
) -> None:
    prod = Lister(indexer).by_namespace("prod")
    assert prod.namespace == "prod"
    with caplog.at_level(logging.WARNING):
        assert names(prod.list()) == ["db-1", "web-1", "web-2"]
        assert names(prod.list({"app": "web"})) == ["web-1", "web-2"]
    assert "linear scan" not in caplog.text


def test_namespace_view_gets_by_namespace_and_name(indexer: Indexer) -> None:
    lister = Lister(indexer, resource="pods")
    assert lister.by_namespace("dev").get("web-1") == pod("web-1", "dev", app="web", tier="fe")
    with pytest.raises(ListerNotFound, match='pods "web-2" not found') as exc:
        lister.by_namespace("dev").get("web-2")
    assert exc.value.key == "dev/web-2"


def test_empty_namespace_lists_every_namespace(indexer: Indexer) -> None:
    assert len(Lister(indexer).by_namespace("").list()) == 5


def test_namespace_view_without_the_index_falls_back_to_a_logged_scan(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store()
    store.add(pod("a", "prod", app="web"))
    store.add(pod("b", "dev", app="web"))
    with caplog.at_level(logging.WARNING, logger="goprims.cache.listers"):
        got = Lister(store).by_namespace("prod").list({"app": "web"})
    assert names(got) == ["a"]
    assert "linear scan" in caplog.text


def test_lister_reads_the_live_cache(indexer: Indexer) -> None:
    lister = Lister(indexer)
    indexer.delete(pod("db-1", "prod"))
    indexer.add(pod("db-2", "prod", app="db"))
    assert names(lister.by_namespace("prod").list({"app": "db"})) == ["db-2"]

"""Stateful property test: an Indexer behaves like a dict with every index query done by a scan.

The model is a plain ``{key: object}``; after every step each index query of the Indexer must
equal the linear scan of the model (values, keys, objects, probe unions), and a failing write
(an index function raising) must leave the model, hence the Indexer, unchanged.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from goprims.cache import (
    NAMESPACE_INDEX,
    Indexer,
    IndexerConflict,
    IndexFunc,
    meta_namespace_index_func,
    meta_namespace_key_func,
)

NAMES = ["a", "b", "c", "d", "e"]
NAMESPACES = ["", "ns1", "ns2"]
LABEL_KEYS = ["app", "tier", "boom"]
LABEL_VALUES = ["x", "y", "z"]


class Boom(Exception):
    pass


def label_index(obj: dict[str, Any]) -> list[str]:
    """Multi-valued (possibly empty), and raises for objects labelled ``boom``."""
    labels = obj["metadata"]["labels"]
    if "boom" in labels:
        raise Boom(obj["metadata"]["name"])
    return [f"{k}={v}" for k, v in labels.items()]


def app_index(obj: dict[str, Any]) -> list[str]:
    """Added later with add_indexers: the app label, or nothing."""
    app = obj["metadata"]["labels"].get("app")
    return [] if app is None else [app, app]  # a duplicate value counts once


def make(name: str, ns: str, labels: dict[str, str], rv: int) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "labels": dict(labels), "resourceVersion": str(rv)}
    if ns:
        md["namespace"] = ns
    return {"metadata": md}


objects = st.builds(
    make,
    st.sampled_from(NAMES),
    st.sampled_from(NAMESPACES),
    st.dictionaries(
        st.sampled_from(LABEL_KEYS),
        st.sampled_from(LABEL_VALUES),
        max_size=3,
    ),
    st.integers(0, 1000),
)


def raises(fn: IndexFunc, obj: Any) -> bool:
    try:
        fn(obj)
    except Boom:
        return True
    return False


class IndexerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.indexers: dict[str, IndexFunc] = {
            NAMESPACE_INDEX: meta_namespace_index_func,
            "label": label_index,
        }
        self.ix = Indexer(meta_namespace_key_func, dict(self.indexers))
        self.model: dict[str, Any] = {}

    def fails(self, obj: Any) -> bool:
        return any(raises(fn, obj) for fn in self.indexers.values())

    @rule(obj=objects)
    def add(self, obj: dict[str, Any]) -> None:
        if self.fails(obj):
            try:
                self.ix.add(obj)
            except Boom:
                return
            raise AssertionError("add should have raised")
        self.ix.add(obj)
        self.model[meta_namespace_key_func(obj)] = obj

    @rule(obj=objects)
    def update(self, obj: dict[str, Any]) -> None:
        if self.fails(obj):
            try:
                self.ix.update(obj)
            except Boom:
                return
            raise AssertionError("update should have raised")
        self.ix.update(obj)
        self.model[meta_namespace_key_func(obj)] = obj

    @rule(obj=objects)
    def delete(self, obj: dict[str, Any]) -> None:
        self.ix.delete(obj)  # deletes by key, whatever the labels; a missing key is a no-op
        self.model.pop(meta_namespace_key_func(obj), None)

    @rule(objs=st.lists(objects, max_size=8))
    def replace(self, objs: list[dict[str, Any]]) -> None:
        final = {meta_namespace_key_func(o): o for o in objs}  # a later duplicate wins
        if any(self.fails(o) for o in final.values()):
            try:
                self.ix.replace(objs, "1")
            except Boom:
                return
            raise AssertionError("replace should have raised")
        self.ix.replace(objs, "1")
        self.model = final

    @precondition(lambda self: "app" not in self.indexers)
    @rule()
    def add_app_index(self) -> None:
        self.ix.add_indexers({"app": app_index})
        self.indexers["app"] = app_index

    @rule(name=st.sampled_from(["label", NAMESPACE_INDEX]))
    def add_conflicting_index(self, name: str) -> None:
        try:
            self.ix.add_indexers({name: app_index, "unused": app_index})
        except IndexerConflict:
            return
        raise AssertionError("add_indexers should have raised IndexerConflict")

    # ------------------------------------------------------------------------- invariants

    @invariant()
    def keys_and_objects_match(self) -> None:
        assert sorted(self.ix.list_keys()) == sorted(self.model)
        assert sorted(map(id, self.ix.list())) == sorted(map(id, self.model.values()))
        for key, obj in self.model.items():
            got, exists = self.ix.get_by_key(key)
            assert exists
            assert got is obj

    @invariant()
    def every_index_query_equals_a_linear_scan(self) -> None:
        assert sorted(self.ix.get_indexers()) == sorted(self.indexers)
        for name, fn in self.indexers.items():
            filed = {key: set(fn(obj)) for key, obj in self.model.items()}
            values = set().union(*filed.values()) if filed else set()
            listed = self.ix.list_index_func_values(name)
            assert len(listed) == len(set(listed))
            assert set(listed) == values  # no empty value lingers
            probes = values | {"ns-none", "app=none", ""}
            for value in probes:
                expected = sorted(k for k, vals in filed.items() if value in vals)
                assert sorted(self.ix.index_keys(name, value)) == expected
                objs = self.ix.by_index(name, value)
                assert sorted(map(id, objs)) == sorted(id(self.model[k]) for k in expected)

    @invariant()
    def probe_index_equals_union_scan(self) -> None:
        probe = make("probe", "ns1", {"app": "x", "tier": "y"}, 0)
        for name, fn in self.indexers.items():
            wanted = set(fn(probe))
            expected = sorted(id(o) for o in self.model.values() if wanted & set(fn(o)))
            assert sorted(map(id, self.ix.index(name, probe))) == expected


IndexerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIndexerAgainstModel = IndexerMachine.TestCase

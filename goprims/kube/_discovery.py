"""Discovery and OpenAPI documents of the embedded API server: what kubectl and the clients read
to map kinds to resources."""

from __future__ import annotations

from typing import Any

from goprims.kube._objects import (
    JSON,
)
from goprims.kube.resources import Resource


class Discovery:
    """The discovery documents for ``resources``, served at ``host:port``."""

    def __init__(self, resources: list[Resource], host: str, port: int) -> None:
        self.resources = resources
        self.host = host
        self.port = port

    def group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.resources:
            vs = out.setdefault(r.group, [])
            if r.version not in vs:
                vs.append(r.version)
        return out

    def api_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": self.group_versions().get("", []) or ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
            ],
        }

    def api_group(self, group: str) -> dict[str, Any]:
        versions = self.group_versions()[group]
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": gvs,
            "preferredVersion": gvs[0],
        }

    def api_group_list(self) -> dict[str, Any]:
        groups = [self.api_group(g) for g in self.group_versions() if g]
        for g in groups:
            del g["kind"], g["apiVersion"]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        rs = [r for r in self.resources if r.group == group and r.version == version]
        if not rs:
            return None
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": rs[0].group_version,
            "resources": [
                {
                    "name": r.plural,
                    "singularName": r.singular,
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": verbs,
                    **({"shortNames": list(r.short_names)} if r.short_names else {}),
                }
                for r in rs
            ],
        }

    def openapi_v3_root(self) -> dict[str, Any]:
        paths = {}
        for g, versions in self.group_versions().items():
            for v in versions:
                rel = f"apis/{g}/{v}" if g else f"api/{v}"
                paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}"}
        return {"paths": paths}

    def openapi_v3_doc(self, group: str, version: str) -> dict[str, Any] | None:
        """A minimal OpenAPI v3 document for one group/version: each resource's paths with
        their operations, so clients find the operations and the ``fieldValidation`` query
        parameter; schemas accept any object (``x-kubernetes-preserve-unknown-fields``)."""
        rs = [r for r in self.resources if r.group == group and r.version == version]
        if not rs:
            return None
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {}
        field_validation = {
            "name": "fieldValidation",
            "in": "query",
            "schema": {"type": "string", "uniqueItems": True},
        }
        for r in rs:
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            ref = f"{(r.group or 'core').replace('.', '_')}.{r.version}.{r.kind}"
            schemas[ref] = {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "x-kubernetes-group-version-kind": [gvk],
            }
            body = {"$ref": f"#/components/schemas/{ref}"}

            def op(
                action: str,
                r: Resource = r,
                body: dict[str, Any] = body,
                gvk: dict[str, str] = gvk,
            ) -> dict[str, Any]:
                return {
                    "operationId": f"{action}{r.kind}",
                    "parameters": [field_validation],
                    "responses": {"200": {"content": {JSON: {"schema": body}}}},
                    "x-kubernetes-action": action,
                    "x-kubernetes-group-version-kind": gvk,
                }

            coll = r.collection_path("{namespace}")
            paths[coll] = {"get": op("list"), "post": op("post")}
            paths[coll + "/{name}"] = {
                "get": op("get"),
                "put": op("put"),
                "patch": op("patch"),
                "delete": op("delete"),
            }
        return {
            "openapi": "3.0.0",
            "info": {"title": "goprims", "version": "v1"},
            "paths": paths,
            "components": {"schemas": schemas},
        }

    def openapi_v2(self) -> dict[str, Any]:
        defs: dict[str, Any] = {}
        for r in self.resources:
            ref = f"{(r.group or 'core').replace('.', '_')}.{r.version}.{r.kind}"
            defs[ref] = {
                "type": "object",
                "x-kubernetes-group-version-kind": [
                    {"group": r.group, "version": r.version, "kind": r.kind}
                ],
            }
        return {
            "swagger": "2.0",
            "info": {"title": "goprims", "version": "v1"},
            "paths": {},
            "definitions": defs,
        }

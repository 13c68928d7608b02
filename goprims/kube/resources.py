"""The resources an :class:`~goprims.kube.APIServer` serves and a
:class:`~goprims.kube.KubeListWatch` lists: ``"v1/configmaps"`` or ``"example.com/v1/widgets"``
parsed into a :class:`Resource` (group, version, plural, kind, scope) and its URL paths and
kube-apiserver storage keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Resource", "parse_resource"]

# Kinds whose name is not the capitalised singular of their plural, and cluster-scoped core
# resources. Anything else is derived: "widgets" -> "Widget", namespaced.
_CORE_KINDS = {
    "configmaps": "ConfigMap",
    "secrets": "Secret",
    "pods": "Pod",
    "services": "Service",
    "serviceaccounts": "ServiceAccount",
    "endpoints": "Endpoints",
    "events": "Event",
    "namespaces": "Namespace",
    "nodes": "Node",
    "persistentvolumes": "PersistentVolume",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "replicationcontrollers": "ReplicationController",
    "resourcequotas": "ResourceQuota",
    "limitranges": "LimitRange",
}
_CLUSTER_SCOPED = {"namespaces", "nodes", "persistentvolumes"}
_SHORT_NAMES = {
    "configmaps": ["cm"],
    "pods": ["po"],
    "services": ["svc"],
    "serviceaccounts": ["sa"],
    "namespaces": ["ns"],
    "nodes": ["no"],
    "endpoints": ["ep"],
    "events": ["ev"],
}
_PLURAL = re.compile(r"^[a-z][a-z0-9]*$")
_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION = re.compile(r"^v[0-9]+((alpha|beta)[0-9]+)?$")


def _singular(plural: str) -> str:
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("sses", "xes", "ches", "shes")):
        return plural[:-2]
    if plural.endswith("s") and not plural.endswith("ss"):
        return plural[:-1]
    return plural


@dataclass(frozen=True)
class Resource:
    """One API resource: ``group`` (``""`` for the core group), ``version``, ``plural`` (the
    URL segment, e.g. ``"configmaps"``), ``kind`` (``"ConfigMap"``), ``namespaced``.

    Build it with :meth:`parse` (``"v1/configmaps"``, ``"example.com/v1/widgets"``) or directly
    when the derived kind or scope is wrong (``Resource("example.com", "v1", "clusterwidgets",
    "ClusterWidget", namespaced=False)``).
    """

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.group and not _GROUP.match(self.group):
            raise ValueError(f"invalid API group {self.group!r}")
        if not _VERSION.match(self.version):
            raise ValueError(f"invalid API version {self.version!r} (want v1, v1beta1, ...)")
        if not _PLURAL.match(self.plural):
            raise ValueError(f"invalid resource name {self.plural!r} (want lower-case plural)")
        if not self.kind or not self.kind[0].isupper():
            raise ValueError(f"invalid kind {self.kind!r} (want CamelCase)")

    @classmethod
    def parse(cls, spec: str | Resource) -> Resource:
        """``"v1/configmaps"`` (core group) or ``"<group>/<version>/<plural>"``; a
        :class:`Resource` is returned as it is. Raises :class:`ValueError` for anything else."""
        if isinstance(spec, Resource):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"a resource is a string like 'v1/configmaps', not {spec!r}")
        parts = spec.strip("/").split("/")
        if len(parts) == 2:
            group, (version, plural) = "", parts
        elif len(parts) == 3:
            group, version, plural = parts
        else:
            raise ValueError(
                f"invalid resource {spec!r}: want 'v1/<plural>' or '<group>/<version>/<plural>'"
            )
        if group:
            kind = _singular(plural).capitalize()
        else:
            kind = _CORE_KINDS.get(plural, _singular(plural).capitalize())
        namespaced = not (not group and plural in _CLUSTER_SCOPED)
        short = tuple(_SHORT_NAMES.get(plural, ())) if not group else ()
        return cls(group, version, plural, kind, namespaced, short)

    # ------------------------------------------------------------------ naming

    @property
    def group_version(self) -> str:
        """``"v1"`` or ``"example.com/v1"`` (an object's ``apiVersion``)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        """The lower-case kind (discovery's ``singularName``)."""
        return self.kind.lower()

    def __str__(self) -> str:
        return f"{self.group_version}/{self.plural}"

    # ------------------------------------------------------------------ URLs and keys

    def base_path(self) -> str:
        """``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """The URL of the collection, in ``namespace`` or across all namespaces (``None``)."""
        if self.namespaced and namespace:
            return f"{self.base_path()}/namespaces/{namespace}/{self.plural}"
        return f"{self.base_path()}/{self.plural}"

    def storage_prefix(self, namespace: str | None = None) -> str:
        """kube-apiserver's etcd layout: ``/registry/<plural>/`` for the core group,
        ``/registry/<group>/<plural>/`` otherwise, then ``<namespace>/`` when given (with the
        trailing slash, so namespace ``a`` never lists ``ab``)."""
        if self.group:
            base = f"/registry/{self.group}/{self.plural}/"
        else:
            base = f"/registry/{self.plural}/"
        if self.namespaced and namespace:
            return f"{base}{namespace}/"
        return base

    def storage_key(self, namespace: str | None, name: str) -> str:
        """The key of one object: the prefix of its namespace, then its name."""
        return self.storage_prefix(namespace) + name


def parse_resource(spec: str | Resource) -> Resource:
    """:meth:`Resource.parse`."""
    return Resource.parse(spec)

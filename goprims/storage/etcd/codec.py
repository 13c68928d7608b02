"""How :class:`~goprims.storage.etcd.EtcdStorage` stores an object under an etcd key, the way
kube-apiserver does (``k8s.io/apiserver/pkg/storage/etcd3``): the object's JSON, keys sorted,
**without** ``metadata.resourceVersion``, which is etcd's mod revision of the key and is stamped
back on when the value is read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from goprims.storage.errors import InvalidObject
from goprims.storage.objects import resource_version_of

__all__ = ["decode_object", "encode_object", "warn_skipped"]

log = logging.getLogger("goprims.storage.etcd")


def encode_object(obj: Any) -> bytes:
    """The stored form of ``obj``: JSON with sorted keys, without ``metadata.resourceVersion``.

    Sorted keys make the stored form canonical, so "the update changes nothing" is a byte
    comparison. Raises :class:`InvalidObject` for anything that is not a JSON-serialisable mapping
    with a ``metadata`` mapping (for a kubernetes client model, store ``obj.to_dict()``).
    """
    if not isinstance(obj, Mapping):
        raise InvalidObject(
            f"EtcdStorage stores JSON objects (a dict with a 'metadata' dict), not "
            f"{type(obj).__name__}; for a kubernetes client model store its to_dict()"
        )
    resource_version_of(obj)  # InvalidObject without a metadata mapping or with a bad version
    body = dict(obj)
    meta = dict(body["metadata"])
    meta.pop("resourceVersion", None)
    body["metadata"] = meta
    try:
        return json.dumps(body, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        raise InvalidObject(f"object is not JSON-serialisable: {e}") from e


def decode_object(data: bytes, revision: int) -> dict[str, Any] | None:
    """The object stored as ``data``, stamped with ``revision``; None unless it is a JSON object
    with a ``metadata`` object (that is, unless a storage wrote it)."""
    try:
        obj = json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return None
    meta["resourceVersion"] = str(revision)
    return obj


def warn_skipped(etcd_key: bytes, where: str) -> None:
    """Log that the value under ``etcd_key`` is not an object and was skipped (by ``where``)."""
    log.warning(
        "etcd %s: skipped %r: its value is not a JSON object with metadata",
        where,
        etcd_key.decode(errors="replace"),
    )

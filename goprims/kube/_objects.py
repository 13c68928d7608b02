"""What the embedded API server checks and sets on the objects it stores: ObjectMeta and
ConfigMap validation (422 Invalid), type checks, timestamps."""

from __future__ import annotations

import datetime
import re
from typing import Any

from goprims.kube._errors import (
    bad_request,
    invalid,
)
from goprims.kube.resources import Resource

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver's SimpleNameGenerator
JSON = "application/json"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def validate(res: Resource, obj: Any, name_hint: str = "") -> None:
    """422 for an object the API server would refuse (apimachinery's ObjectMeta validation,
    plus ConfigMap's ``data`` rules)."""
    if not isinstance(obj, dict):
        raise bad_request("the request body is not a JSON object")
    md = obj.get("metadata")
    name = name_hint
    if isinstance(md, dict) and isinstance(md.get("name"), str):
        name = md["name"]
    causes: list[tuple[str, str, str]] = []
    if not isinstance(md, dict):
        raise invalid(res, name, [("FieldValueRequired", "metadata", "Required value")])
    nm = md.get("name")
    if not isinstance(nm, str) or not nm:
        causes.append(
            (
                "FieldValueRequired",
                "metadata.name",
                "Required value: name or generateName is required",
            )
        )
    elif len(nm) > 253 or not DNS_SUBDOMAIN.match(nm):
        causes.append(
            (
                "FieldValueInvalid",
                "metadata.name",
                f'Invalid value: "{nm}": a lowercase RFC 1123 subdomain must consist of lower '
                "case alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
            )
        )
    for field in ("labels", "annotations"):
        v = md.get(field)
        if v is None:
            continue
        if not isinstance(v, dict) or not all(
            isinstance(k, str) and isinstance(x, str) for k, x in v.items()
        ):
            causes.append(
                ("FieldValueInvalid", f"metadata.{field}", "Invalid value: want a map of strings")
            )
    if res.group == "" and res.plural in ("configmaps", "secrets"):
        for field in ("data", "binaryData", "stringData"):
            v = obj.get(field)
            if v is None:
                continue
            if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                causes.append(
                    ("FieldValueInvalid", field, "Invalid value: want a map of string values")
                )
            else:
                for k in v:
                    if not re.match(r"^[-._a-zA-Z0-9]+$", k) or len(k) > 253:
                        causes.append(
                            (
                                "FieldValueInvalid",
                                f"{field}[{k}]",
                                f'Invalid value: "{k}": a valid config key must consist of '
                                "alphanumeric characters, '-', '_' or '.'",
                            )
                        )
    if causes:
        raise invalid(res, name, causes)


def check_type(res: Resource, obj: dict[str, Any]) -> None:
    kind = obj.get("kind")
    if kind not in (None, "", res.kind):
        raise bad_request(f"the kind of the object ({kind}) does not match the URL ({res.kind})")
    av = obj.get("apiVersion")
    if av not in (None, "", res.group_version):
        raise bad_request(
            f"the API version of the object ({av}) does not match the URL ({res.group_version})"
        )

"""The Status errors the embedded API server answers with, one constructor per kind."""

from __future__ import annotations

from typing import Any

from goprims.kube.resources import Resource
from goprims.kube.status import APIError
from goprims.storage.errors import (
    AlreadyExists,
    Conflict,
    InvalidObject,
    InvalidResourceVersion,
    NotFound,
    StorageError,
)
from goprims.watch import (
    ResourceExpired,
    TooLargeResourceVersion,
)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def invalid(res: Resource, name: str, causes: list[tuple[str, str, str]]) -> APIError:
    """422 Invalid with causes ``(reason, field, message)``."""
    text = "; ".join(f"{f}: {m}" for _, f, m in causes)
    return APIError(
        422,
        "Invalid",
        f'{res.kind} "{name}" is invalid: {text}',
        {
            "name": name,
            "group": res.group,
            "kind": res.kind,
            "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes],
        },
    )


def not_found(res: Resource, name: str) -> APIError:
    return APIError(
        404,
        "NotFound",
        f'{res.plural} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural},
    )


def conflict(res: Resource, name: str) -> APIError:
    return APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        {"name": name, "group": res.group, "kind": res.plural},
    )


def expired(message: str) -> APIError:
    return APIError(410, "Expired", message)


def too_large(rv: str) -> APIError:
    return APIError(
        504,
        "Timeout",
        f"Too large resource version: {rv}",
        {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ]
        },
        retry_after=1,
    )


def storage_error(res: Resource, name: str, err: Exception) -> APIError:
    """The HTTP error for a storage error."""
    if isinstance(err, APIError):
        return err
    if isinstance(err, NotFound):
        return not_found(res, name)
    if isinstance(err, AlreadyExists):
        return APIError(
            409,
            "AlreadyExists",
            f'{res.plural} "{name}" already exists',
            {"name": name, "group": res.group, "kind": res.plural},
        )
    if isinstance(err, Conflict):
        return conflict(res, name)
    if isinstance(err, ResourceExpired):
        return expired(f"too old resource version: {err}")
    if isinstance(err, TooLargeResourceVersion):
        return too_large(getattr(err, "resource_version", ""))
    if isinstance(err, InvalidResourceVersion):
        return bad_request(f"invalid resourceVersion: {err}")
    if isinstance(err, InvalidObject):
        return invalid(res, name, [("FieldValueInvalid", "metadata", str(err))])
    if isinstance(err, StorageError):
        return APIError(503, "ServiceUnavailable", f"storage error: {err}")
    return APIError(500, "InternalError", f"Internal error occurred: {err}")


def raise_error(err: Exception) -> Any:
    raise err


def page_not_found() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource")


def method_not_allowed(method: str) -> APIError:
    return APIError(405, "MethodNotAllowed", f"the server does not allow this method ({method})")

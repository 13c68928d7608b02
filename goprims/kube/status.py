"""``Status`` error bodies (apimachinery ``metav1.Status`` and ``errors.StatusError``): the
:class:`APIError` the embedded server raises and renders, and the reverse mapping a client uses
to turn a failed response into the informer layer's errors."""

from __future__ import annotations

from typing import Any

from goprims.watch import ResourceExpired, TooLargeResourceVersion

__all__ = ["APIError", "error_from_status", "status_body"]


def status_body(
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Status`` object with ``status: Failure``."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class APIError(Exception):
    """A request the API server refuses: an HTTP ``code``, a ``reason`` (``NotFound``,
    ``AlreadyExists``, ``Conflict``, ``Invalid``, ``Expired``, ``BadRequest``, ...), a human
    ``message`` and optional ``details`` (name, group, kind, causes). ``status`` is the
    ``Status`` body the server answers with; ``retry_after`` (seconds) becomes a Retry-After
    header."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after

    @property
    def status(self) -> dict[str, Any]:
        """The ``Status`` body."""
        details = dict(self.details or {})
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        return status_body(self.code, self.reason, self.message, details or None)

    @classmethod
    def from_status(cls, status: dict[str, Any], default_code: int = 500) -> APIError:
        """The error a ``Status`` body describes."""
        code = status.get("code") or default_code
        return cls(
            int(code),
            str(status.get("reason") or ""),
            str(status.get("message") or ""),
            status.get("details") or None,
        )


def too_large(status: dict[str, Any]) -> bool:
    details = status.get("details") or {}
    for cause in details.get("causes") or ():
        if isinstance(cause, dict) and cause.get("reason") == "ResourceVersionTooLarge":
            return True
    return "too large resource version" in str(status.get("message", "")).lower()


def error_from_status(status: Any, http_code: int = 0) -> Exception:
    """The exception for a failed response or an ``ERROR`` watch event: 410 (or reason
    ``Expired``/``Gone``) is :class:`~goprims.cache.listwatch.ResourceExpired`, a
    ``ResourceVersionTooLarge`` cause is
    :class:`~goprims.cache.listwatch.TooLargeResourceVersion`, anything else an
    :class:`APIError`."""
    if not isinstance(status, dict):
        status = {"code": http_code, "message": str(status)}
    code = int(status.get("code") or http_code or 500)
    message = str(status.get("message") or f"HTTP {code}")
    if code == 410 or status.get("reason") in ("Expired", "Gone"):
        return ResourceExpired(message)
    if too_large(status):
        return TooLargeResourceVersion(message)
    return APIError.from_status({**status, "code": code})

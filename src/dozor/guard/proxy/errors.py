"""OpenAI-style error bodies, so an OpenAI client library surfaces the proxy's refusals.

Every refusal the proxy makes is ``{"error": {"message", "type", "code", "param"}}``
(the shape the OpenAI API and its SDKs use), plus a ``dozor`` object with the rule ids
and reasons, so a client can tell a policy block from a rate limit or an upstream
failure by status and ``code`` alone.
"""

from __future__ import annotations

from typing import Any

POLICY_BLOCK = 400
BAD_REQUEST = 400
UNAUTHORIZED = 401
NOT_FOUND = 404
TOO_LARGE = 413
RATE_LIMITED = 429
UPSTREAM_ERROR = 502
UPSTREAM_TIMEOUT = 504

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "server_error",
    504: "server_error",
}


def error_body(
    status: int,
    message: str,
    code: str,
    *,
    param: str | None = None,
    rules: tuple[str, ...] | list[str] = (),
    reasons: tuple[str, ...] | list[str] = (),
    request_id: str = "",
) -> dict[str, Any]:
    """The JSON body for a refusal with HTTP `status`; `code` is machine-readable."""
    error: dict[str, Any] = {
        "message": message,
        "type": _TYPES.get(status, "server_error"),
        "code": code,
        "param": param,
    }
    extra: dict[str, Any] = {}
    if rules:
        extra["rules"] = list(rules)
    if reasons:
        extra["reasons"] = list(reasons)
    if request_id:
        extra["request_id"] = request_id
    if extra:
        error["dozor"] = extra
    return {"error": error}

"""RFC 9457 problem+json: every error the gateway answers, with a stable ``code``.

Library errors (:class:`~astrocyte.errors.AstrocyteError`) map to a status by class; request
validation failures are 422 with one entry per invalid field; anything unexpected is a 500 whose
body says nothing about the internals (the traceback goes to the log with the request id).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from astrocyte.errors import (
    AccessDeniedError,
    AstrocyteError,
    CapabilityNotSupportedError,
    CircuitOpenError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ProviderError,
    QuotaExceededError,
    RateLimitedError,
    StoreError,
)

__all__ = [
    "PROBLEM_RESPONSES",
    "PROBLEM_TYPE_BASE",
    "GatewayProblem",
    "Problem",
    "install_problem_handlers",
    "problem_response",
]

PROBLEM_TYPE_BASE = "https://astrocyte.dev/problems/"
_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("astrocyte.gateway")

# Most specific class first: the first isinstance match decides the status.
_STATUS_BY_CLASS: tuple[tuple[type[AstrocyteError], int], ...] = (
    (PayloadTooLargeError, 413),
    (InvalidRequestError, 422),
    (AccessDeniedError, 403),
    (NotFoundError, 404),
    (RateLimitedError, 429),
    (QuotaExceededError, 409),
    (CircuitOpenError, 503),
    (StoreError, 503),
    (ProviderError, 502),
    (CapabilityNotSupportedError, 501),
    (ConfigError, 500),
)
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    501: "Not implemented",
    502: "Bad gateway",
    503: "Service unavailable",
}


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="URI naming the problem class; ends with the code.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code (e.g. access_denied, invalid_request).")
    instance: str | None = Field(default=None, description="The request path.")
    request_id: str | None = None
    errors: list[FieldProblem] | None = Field(default=None, description="Invalid fields (422).")
    retry_after: float | None = Field(default=None, description="Seconds to wait (429, 503).")


#: ``responses=`` for routes, so the OpenAPI document declares the problem bodies.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "content": {_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "description": _TITLES[status],
    }
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


class GatewayProblem(Exception):
    """An error the gateway itself raises (authentication, admin scope...)."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        super().__init__(detail)


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[FieldProblem] | None = None,
    retry_after: float | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        errors=list(errors) if errors is not None else None,
        retry_after=retry_after,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=_MEDIA_TYPE
    )


def status_of(exc: AstrocyteError) -> int:
    """The HTTP status of a library error (an ``http_status`` attribute wins, as on ingest errors)."""
    explicit = getattr(exc, "http_status", None)
    if isinstance(explicit, int):
        return explicit
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 500


async def _astrocyte_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AstrocyteError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    retry_after: float | None = None
    if isinstance(exc, RateLimitedError):
        retry_after = round(exc.retry_after, 3)
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    elif isinstance(exc, CircuitOpenError):
        headers["Retry-After"] = "5"
    if status >= 500:
        logger.error("request failed: %s: %s", type(exc).__name__, exc)
    errors = None
    field = getattr(exc, "field", None)
    if isinstance(exc, InvalidRequestError) and field:
        errors = [FieldProblem(field=field, message=str(exc))]
    detail = str(exc) if status < 500 or not isinstance(exc, ConfigError) else "server misconfigured"
    return problem_response(
        request, status, exc.code, detail, headers=headers, errors=errors, retry_after=retry_after
    )


async def _gateway_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayProblem)
    return problem_response(request, exc.status, exc.code, exc.detail, headers=exc.headers)


def _location(loc: Sequence[int | str]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldProblem(field=_location(error.get("loc", ())), message=str(error.get("msg", "invalid")))
        for error in exc.errors()
    ]
    first = errors[0] if errors else FieldProblem(field="body", message="invalid request")
    detail = f"{first.field}: {first.message}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    return problem_response(request, 422, "invalid_request", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "payload_too_large"}
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "error")
    return problem_response(
        request,
        exc.status_code,
        codes.get(exc.status_code, f"http_{exc.status_code}"),
        detail,
        headers=exc.headers,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception(
        "unhandled error", extra={"request_id": request.scope.get("state", {}).get("request_id")}
    )
    return problem_response(request, 500, "internal_error", "internal error; see the gateway log")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AstrocyteError, _astrocyte_error)
    app.add_exception_handler(GatewayProblem, _gateway_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

"""``JsonBodyRoute``: a FastAPI route that serves well-formed JSON requests without FastAPI's
per-request machinery, and leaves everything else to FastAPI.

For the hot memory routes FastAPI's request handler (content-type parsing through ``email.message``,
dependency solving, query-param and cookie parsing, telemetry hooks) cost more than the rest of the
gateway together. This route's handler takes the short path only when the request is unremarkable:
``Content-Type: application/json`` and a body that decodes and validates as the endpoint's model.
Then it calls the endpoint directly. Any other request (another media type, bad JSON, an invalid
field) goes through FastAPI's own handler with the same buffered body, so every error answer — and
the OpenAPI document, which FastAPI builds from the same route — is exactly what it was.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, get_type_hints

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

__all__ = ["JsonBodyRoute"]

#: What a ``JsonBodyRoute`` endpoint looks like: ``async def f(body: Model, request: Request)``.
JsonEndpoint = Callable[[Any, Request], Awaitable[Response]]


def _body_model(endpoint: Callable[..., Any]) -> type[BaseModel]:
    """The model of ``endpoint``'s ``body`` parameter; refuses any other signature at import time."""
    names = list(inspect.signature(endpoint).parameters)
    hints = get_type_hints(endpoint)
    model = hints.get("body")
    if names != ["body", "request"] or not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{endpoint.__qualname__} must be `async def (body: <BaseModel>, request: Request)`")
    if hints.get("request") is not Request:
        raise TypeError(f"{endpoint.__qualname__}: `request` must be annotated `Request`")
    return model


def _is_plain_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "application/json"


def _parse(model: type[BaseModel], body: bytes) -> BaseModel | None:
    """``body`` as ``model`` — decoded and validated as FastAPI would (``json.loads``, then Python
    mode validation) — or ``None`` when FastAPI must answer instead."""
    try:
        return model.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        return None


class JsonBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        fastapi_handler = super().get_route_handler()
        endpoint: JsonEndpoint = self.endpoint
        model = _body_model(endpoint)

        async def handler(request: Request) -> Response:
            if _is_plain_json(request):
                body = _parse(model, await request.body())
                if body is not None:
                    return await endpoint(body, request)
            return await fastapi_handler(request)  # the body stays buffered on the request

        return handler

"""``POST /v1/retain|recall|reflect|forget``: the portable DTOs in, the portable results out.

These hot routes take the ``Request`` and authenticate inline instead of through FastAPI
dependencies, and are :class:`JsonBodyRoute` s: a well-formed JSON request skips FastAPI's request
handler, which was the largest share of the gateway's own per-request cost."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, TypeAdapter

from astrocyte.types import (
    ForgetRequest,
    ForgetResult,
    RecallRequest,
    RecallResult,
    ReflectRequest,
    ReflectResult,
    RetainRequest,
    RetainResult,
)
from astrocyte_gateway.auth import AUTHENTICATED, authenticate
from astrocyte_gateway.fast_route import JsonBodyRoute
from astrocyte_gateway.problems import PROBLEM_RESPONSES
from astrocyte_gateway.state import get_state

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["memory"], responses=PROBLEM_RESPONSES, route_class=JsonBodyRoute)


@cache
def _serializer(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _json(result: BaseModel) -> Response:
    # The library already returns validated DTOs: serialise once, straight to bytes (pydantic-core),
    # skipping FastAPI's re-validation of the response model and a str round trip.
    return Response(_serializer(type(result)).dump_json(result), media_type="application/json")


@router.post(
    "/retain", response_model=RetainResult, summary="Remember content in a bank", openapi_extra=AUTHENTICATED
)
async def retain(body: RetainRequest, request: Request) -> Response:
    caller = await authenticate(request)
    return _json(await get_state(request).memory.retain(body, context=caller.context))


@router.post(
    "/recall",
    response_model=RecallResult,
    summary="The memories most relevant to a query",
    openapi_extra=AUTHENTICATED,
)
async def recall(body: RecallRequest, request: Request) -> Response:
    caller = await authenticate(request)
    return _json(await get_state(request).memory.recall(body, context=caller.context))


@router.post(
    "/reflect",
    response_model=ReflectResult,
    summary="Answer a query from memory, citing memories",
    openapi_extra=AUTHENTICATED,
)
async def reflect(body: ReflectRequest, request: Request) -> Response:
    caller = await authenticate(request)
    return _json(await get_state(request).memory.reflect(body, context=caller.context))


@router.post(
    "/forget",
    response_model=ForgetResult,
    summary="Forget memories by id, tag, time range or whole bank",
    openapi_extra=AUTHENTICATED,
)
async def forget(body: ForgetRequest, request: Request) -> Response:
    caller = await authenticate(request)
    return _json(await get_state(request).memory.forget(body, context=caller.context))

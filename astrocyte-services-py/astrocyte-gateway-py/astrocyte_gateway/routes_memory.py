"""``POST /v1/retain|recall|reflect|forget``: the portable DTOs in, the portable results out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from astrocyte.identity import AstrocyteContext
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
from astrocyte_gateway.auth import caller_context
from astrocyte_gateway.problems import PROBLEM_RESPONSES
from astrocyte_gateway.state import Memory

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["memory"], responses=PROBLEM_RESPONSES)
Context = Annotated[AstrocyteContext, Depends(caller_context)]


def _json(result: BaseModel) -> Response:
    # The library already returns validated DTOs: serialise once (pydantic-core), skipping FastAPI's
    # re-validation of the response model — the biggest per-request cost for large recall results.
    return Response(result.model_dump_json(), media_type="application/json")


@router.post("/retain", response_model=RetainResult, summary="Remember content in a bank")
async def retain(body: RetainRequest, memory: Memory, context: Context) -> Response:
    return _json(await memory.retain(body, context=context))


@router.post("/recall", response_model=RecallResult, summary="The memories most relevant to a query")
async def recall(body: RecallRequest, memory: Memory, context: Context) -> Response:
    return _json(await memory.recall(body, context=context))


@router.post("/reflect", response_model=ReflectResult, summary="Answer a query from memory, citing memories")
async def reflect(body: ReflectRequest, memory: Memory, context: Context) -> Response:
    return _json(await memory.reflect(body, context=context))


@router.post(
    "/forget", response_model=ForgetResult, summary="Forget memories by id, tag, time range or whole bank"
)
async def forget(body: ForgetRequest, memory: Memory, context: Context) -> Response:
    return _json(await memory.forget(body, context=context))

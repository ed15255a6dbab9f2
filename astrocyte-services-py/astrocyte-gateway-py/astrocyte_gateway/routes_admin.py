"""``GET /v1/admin/sources`` and ``/v1/admin/banks``: operator views (admin scope required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from astrocyte_gateway.auth import Caller, require_admin
from astrocyte_gateway.problems import PROBLEM_RESPONSES
from astrocyte_gateway.state import get_state

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=PROBLEM_RESPONSES)
Admin = Annotated[Caller, Depends(require_admin)]


class SourceInfo(BaseModel):
    source_id: str
    type: str
    driver: str | None
    target_bank: str | None
    target_bank_template: str | None
    healthy: bool | None = None
    message: str | None = None


class SourceList(BaseModel):
    sources: list[SourceInfo]


class BankList(BaseModel):
    banks: list[str]


@router.get("/sources", summary="Configured ingest sources and recall proxies, with health")
async def sources(request: Request, admin: Admin) -> SourceList:
    state = get_state(request)
    health = await state.sources.health()
    for source_id, stats in state.webhook_stats.items():
        health[source_id] = stats.status()
    listed = []
    for source_id, settings in sorted(state.memory.config.sources.items()):
        status = health.get(source_id)
        listed.append(
            SourceInfo(
                source_id=source_id,
                type=settings.type,
                driver=settings.driver,
                target_bank=settings.target_bank,
                target_bank_template=settings.target_bank_template,
                healthy=status.healthy if status else None,
                message=status.message if status else None,
            )
        )
    return SourceList(sources=listed)


@router.get("/banks", summary="Every bank holding at least one memory")
async def banks(request: Request, admin: Admin) -> BankList:
    # Admins see all banks: the listing is the store's, not filtered by the admin's own grants.
    memory = get_state(request).memory
    return BankList(banks=sorted(await memory.stores.vector.list_banks()))

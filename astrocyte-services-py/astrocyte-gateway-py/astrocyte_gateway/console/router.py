"""The console's routes: the static UI at ``/ui/`` and the JSON it needs beyond the API at
``/v1/console/*`` (every one behind the API's auth, bank-scoped like recall)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, RedirectResponse

from astrocyte.errors import NotFoundError
from astrocyte_gateway.auth import Caller, authenticate
from astrocyte_gateway.console.audit_trail import AuditTrail
from astrocyte_gateway.console.banks import banks_overview
from astrocyte_gateway.console.memories import MAX_PAGE, list_memories, memory_detail
from astrocyte_gateway.console.models import BanksOverview, MemoryDetail, MemoryPage, SourcesOverview, WhoAmI
from astrocyte_gateway.console.sources import sources_overview
from astrocyte_gateway.problems import PROBLEM_RESPONSES
from astrocyte_gateway.state import GatewayState, get_state

__all__ = ["router"]

STATIC = Path(__file__).parent / "static"
#: The UI loads only its own files and talks only to its own origin.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_UI_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Listen to the audit log while the app runs (a memory's audit trail comes from it)."""
    state: GatewayState = app.state.gateway
    trail = AuditTrail(state.memory.config.policy.audit.logger)
    app.state.console_trail = trail
    trail.attach()
    try:
        yield
    finally:
        trail.detach()


router = APIRouter(lifespan=_lifespan)
api = APIRouter(prefix="/v1/console", tags=["console"], responses=PROBLEM_RESPONSES)
Authenticated = Annotated[Caller, Depends(authenticate)]


def _is_admin(request: Request, caller: Caller) -> bool:
    return get_state(request).settings.auth.admin_scope in caller.scopes


# --------------------------------------------------------------------------- static UI


@router.get("/ui", include_in_schema=False)
async def ui_root() -> RedirectResponse:
    return RedirectResponse("ui/", status_code=308)


@router.get("/ui/{asset:path}", include_in_schema=False)
async def ui_asset(asset: str) -> FileResponse:
    """A file of the UI (``index.html`` for the bare ``/ui/``); nothing outside the static folder."""
    path = (STATIC / (asset or "index.html")).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        raise NotFoundError(f"no console asset {asset!r}")
    return FileResponse(path, headers=_UI_HEADERS)


# --------------------------------------------------------------------------- JSON


@api.get("/whoami", summary="The authenticated caller")
async def whoami(request: Request, caller: Authenticated) -> WhoAmI:
    return WhoAmI(principal=caller.context.principal, admin=_is_admin(request, caller))


@api.get("/banks", summary="Banks you may read: counts, size, last write; stores and their health")
async def banks(request: Request, caller: Authenticated) -> BanksOverview:
    return await banks_overview(get_state(request).memory, caller.context)


@api.get("/banks/{bank_id}/memories", summary="A bank's memories, newest first")
async def memories(
    request: Request,
    caller: Authenticated,
    bank_id: str,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> MemoryPage:
    return await list_memories(get_state(request).memory, caller.context, bank_id, offset, limit)


@api.get("/banks/{bank_id}/memories/{memory_id}", summary="One memory: entities, neighbours, origin, audit")
async def memory(request: Request, caller: Authenticated, bank_id: str, memory_id: str) -> MemoryDetail:
    trail: AuditTrail = request.app.state.console_trail
    return await memory_detail(get_state(request).memory, caller.context, bank_id, memory_id, trail)


@api.get("/sources", summary="Ingest sources: status, lag, errors, dead letters")
async def sources(request: Request, caller: Authenticated) -> SourcesOverview:
    state = get_state(request)
    health = await state.sources.health()
    health.update({source_id: stats.status() for source_id, stats in state.webhook_stats.items()})
    return sources_overview(state.memory, caller.context, health, admin=_is_admin(request, caller))


router.include_router(api)

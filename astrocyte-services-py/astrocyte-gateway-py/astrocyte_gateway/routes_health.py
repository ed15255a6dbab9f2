"""``GET /health`` (gateway and every store) and ``GET /health/ingest`` (every ingest source).
Both are unauthenticated (load balancers probe them) and reveal only health, never data."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from astrocyte.types import HealthStatus
from astrocyte_gateway.state import get_state

__all__ = ["router"]

router = APIRouter(tags=["health"])


class HealthReport(BaseModel):
    healthy: bool
    components: dict[str, HealthStatus]


async def _probe(name: str, check: object) -> tuple[str, HealthStatus]:
    started = time.perf_counter()
    try:
        assert callable(check)
        status: HealthStatus = await check()
    except Exception as exc:  # a failing check is reported, never raised
        status = HealthStatus(healthy=False, message=f"health check failed: {type(exc).__name__}")
    if status.latency_ms is None:
        status = status.model_copy(update={"latency_ms": round((time.perf_counter() - started) * 1000, 3)})
    return name, status


def _report(components: dict[str, HealthStatus]) -> JSONResponse:
    report = HealthReport(healthy=all(s.healthy for s in components.values()), components=components)
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.healthy else 503)


@router.get(
    "/health",
    response_model=HealthReport,
    summary="Gateway and store health (503 when any is unhealthy)",
    responses={503: {"model": HealthReport}},
)
async def health(request: Request) -> JSONResponse:
    memory = get_state(request).memory
    probes = [_probe(f"{kind}_store", store.health) for kind, store in memory.stores.named()]
    components = dict(await asyncio.gather(*probes))
    components["gateway"] = HealthStatus(healthy=True, message="ok")
    return _report(components)


class Liveness(BaseModel):
    status: str = "ok"


@router.get("/health/live", summary="The process serves requests (liveness; checks no backend)")
async def live() -> Liveness:
    return Liveness()


@router.get(
    "/health/ingest",
    response_model=HealthReport,
    summary="Health of every ingest source (503 when any is degraded)",
    responses={503: {"model": HealthReport}},
)
async def ingest_health(request: Request) -> JSONResponse:
    state = get_state(request)
    components = await state.sources.health()
    for source_id, stats in state.webhook_stats.items():
        components[source_id] = stats.status()
    return _report(components)

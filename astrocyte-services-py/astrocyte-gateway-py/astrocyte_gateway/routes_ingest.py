"""``POST /v1/ingest/webhook/{source_id}``: raw body and headers to the library's webhook handler.

The sender authenticates with the source's HMAC signature (not a gateway credential); the delivery is
retained as ``service:ingest-<source_id>`` (see :func:`astrocyte.ingest.ingest_context`), so the
operator grants that principal ``write`` on the source's target banks. Each webhook error class keeps
its own status: unknown source 404, too large 413, stale timestamp or bad signature 401, not JSON
400, no content or no bank 422.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from astrocyte.errors import AstrocyteError
from astrocyte.ingest import SourceStats, WebhookIngestResult, handle_webhook_ingest
from astrocyte.ingest.handler import Disposition
from astrocyte_gateway.problems import PROBLEM_RESPONSES
from astrocyte_gateway.state import get_state

__all__ = ["router"]

router = APIRouter(prefix="/v1/ingest", tags=["ingest"])


@router.post(
    "/webhook/{source_id}",
    summary="Deliver a signed webhook (HMAC-SHA256 over '<timestamp>.<body>')",
    responses=PROBLEM_RESPONSES,
)
async def webhook(source_id: str, request: Request) -> WebhookIngestResult:
    state = get_state(request)
    body = await request.body()
    configured = state.memory.config.sources.get(source_id)
    stats = state.webhook_stats.get(source_id) if configured is not None else None
    if configured is not None and configured.type == "webhook" and stats is None:
        stats = state.webhook_stats[source_id] = SourceStats(error_threshold=configured.error_threshold)
    try:
        result = await handle_webhook_ingest(source_id, body, request.headers, memory=state.memory)
    except AstrocyteError as exc:
        if stats is not None:
            stats.record_failure(f"{type(exc).__name__}: {exc}", Disposition.DEAD_LETTER)
        raise
    if stats is not None:
        stats.record_success()
    return result

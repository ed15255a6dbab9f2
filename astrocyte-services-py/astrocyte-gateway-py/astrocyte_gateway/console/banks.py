"""Banks page data: each readable bank's count, size and last write; the stores and their health."""

from __future__ import annotations

import time
from datetime import datetime

from astrocyte import Astrocyte, AstrocyteContext
from astrocyte.pipeline.recall import STRATEGIES
from astrocyte.provider import DocumentStore, GraphStore, VectorStore
from astrocyte_gateway.console._scan import retained_at, scan_bank
from astrocyte_gateway.console._scope import permissions_on
from astrocyte_gateway.console.models import BanksOverview, BankSummary, StoreStatus

__all__ = ["bank_summary", "banks_overview", "store_statuses"]


async def bank_summary(memory: Astrocyte, context: AstrocyteContext | None, bank_id: str) -> BankSummary:
    count = size = 0
    last: datetime | None = None
    async for page in scan_bank(memory, bank_id):
        count += len(page)
        size += sum(len(item.text.encode("utf-8")) for item in page)
        stamps = [stamp for item in page if (stamp := retained_at(item)) is not None]
        if stamps:
            last = max([*stamps, *([last] if last else [])])
    return BankSummary(
        bank_id=bank_id,
        memory_count=count,
        size_bytes=size,
        last_write=last,
        permissions=permissions_on(memory, context, bank_id),
    )


async def _status(kind: str, provider: str, store: VectorStore | DocumentStore | GraphStore) -> StoreStatus:
    started = time.perf_counter()
    try:
        health = await store.health()
    except Exception as exc:  # a failing check is reported on the page, never raised
        return StoreStatus.model_validate(
            {"kind": kind, "provider": provider, "healthy": False, "message": f"health check failed: {exc}"}
        )
    took = (time.perf_counter() - started) * 1000
    return StoreStatus.model_validate(
        {
            "kind": kind,
            "provider": provider,
            "healthy": health.healthy,
            "message": health.message,
            "latency_ms": health.latency_ms if health.latency_ms is not None else took,
        }
    )


async def store_statuses(memory: Astrocyte) -> list[StoreStatus]:
    config = memory.config
    providers = {
        "vector": config.vector_store,
        "document": config.document_store,
        "graph": config.graph_store,
    }
    return [await _status(kind, providers[kind] or "?", store) for kind, store in memory.stores.named()]


async def banks_overview(memory: Astrocyte, context: AstrocyteContext | None) -> BanksOverview:
    """Only banks the caller may read (and that hold memories) are listed."""
    banks = await memory.banks(context=context)
    return BanksOverview(
        banks=[await bank_summary(memory, context, bank) for bank in banks],
        stores=await store_statuses(memory),
        recall_strategies=list(STRATEGIES),
    )

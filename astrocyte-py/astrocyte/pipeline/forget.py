"""Forget: remove memories by ids, tags, time range or whole bank from every store."""

from __future__ import annotations

from astrocyte.pipeline.stores import MemoryStores
from astrocyte.stores._filters import matches_filters
from astrocyte.types import ForgetRequest, ForgetResult, VectorFilters

__all__ = ["forget"]

_PAGE = 500


async def _select(stores: MemoryStores, request: ForgetRequest) -> list[str]:
    """Resolve the request to memory ids by scanning the system of record (the vector store)."""
    if request.memory_ids and not (request.all or request.tags or request.time_range):
        return list(dict.fromkeys(request.memory_ids))
    filters = None if request.all else VectorFilters(tags=request.tags, time_range=request.time_range)
    wanted = set(request.memory_ids or [])
    selected: list[str] = []
    offset = 0
    while True:
        page = await stores.vector.list_vectors(request.bank_id, offset=offset, limit=_PAGE)
        for item in page:
            if (
                request.all
                or item.id in wanted
                or (
                    (request.tags or request.time_range)
                    and matches_filters(
                        filters, tags=item.tags, metadata=item.metadata, occurred_at=item.occurred_at
                    )
                )
            ):
                selected.append(item.id)
        if len(page) < _PAGE:
            return selected
        offset += _PAGE


async def forget(stores: MemoryStores, request: ForgetRequest) -> ForgetResult:
    ids = await _select(stores, request)
    per_store: dict[str, int] = {}
    if ids:
        bank = request.bank_id
        for start in range(0, len(ids), _PAGE):
            batch = ids[start : start + _PAGE]
            per_store["vector"] = per_store.get("vector", 0) + await stores.vector.delete(batch, bank)
            if stores.document is not None:
                per_store["document"] = per_store.get("document", 0) + await stores.document.delete(
                    batch, bank
                )
            if stores.graph is not None:
                per_store["graph"] = per_store.get("graph", 0) + await stores.graph.delete_memories(
                    batch, bank
                )
    return ForgetResult(
        bank_id=request.bank_id,
        deleted_count=per_store.get("vector", 0),
        memory_ids=ids if per_store.get("vector") else [],
        per_store=per_store,
    )

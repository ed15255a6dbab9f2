"""Exact look-ups by metadata (a chat session's messages, a key in a namespace), with the caller's
read permission checked first — recall ranks by relevance, these need every matching record."""

from __future__ import annotations

from astrocyte._facade import Astrocyte
from astrocyte.identity import AstrocyteContext
from astrocyte.types import JsonScalar, VectorFilters, VectorHit

__all__ = ["MAX_RECORDS", "find", "find_by_metadata"]

#: Upper bound on records one look-up returns (a chat session, a namespace listing).
MAX_RECORDS = 10_000


async def find(
    memory: Astrocyte,
    bank_id: str,
    context: AstrocyteContext | None,
    filters: VectorFilters,
    *,
    limit: int = MAX_RECORDS,
) -> list[VectorHit]:
    """Every chunk in ``bank_id`` that ``filters`` selects (the probe vector is irrelevant), in no
    particular order."""
    memory.access.check(context, bank_id, "read")
    probe = [0.0] * memory.stores.embedder.dimensions
    return await memory.stores.vector.search_similar(probe, bank_id, limit=limit, filters=filters)


async def find_by_metadata(
    memory: Astrocyte, bank_id: str, context: AstrocyteContext | None, metadata: dict[str, JsonScalar]
) -> list[VectorHit]:
    """Every chunk in ``bank_id`` whose metadata holds each of ``metadata``'s key/value pairs."""
    return await find(memory, bank_id, context, VectorFilters(metadata=metadata))

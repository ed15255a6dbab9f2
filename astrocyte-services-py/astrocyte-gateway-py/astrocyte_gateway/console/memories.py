"""Memory pages: a bank's memories newest first, and one memory with its entities, graph
neighbours, origin and audit trail."""

from __future__ import annotations

from astrocyte import Astrocyte, AstrocyteContext, InvalidRequestError
from astrocyte.config import AstrocyteConfig
from astrocyte.errors import NotFoundError
from astrocyte.pipeline.entities import entity_id, extract_entities_rules
from astrocyte.types import Entity, Metadata
from astrocyte_gateway.console._scan import StoredMemory, find_memories, retained_at, scan_bank
from astrocyte_gateway.console._scope import require_readable
from astrocyte_gateway.console.audit_trail import AuditTrail
from astrocyte_gateway.console.models import (
    EntityView,
    MemoryDetail,
    MemoryPage,
    MemorySource,
    MemorySummary,
    NeighbourView,
)

__all__ = ["MAX_PAGE", "list_memories", "memory_detail"]

MAX_PAGE = 500
_NEIGHBOURS = 20
#: A mention check asks for every memory of an entity; this bounds a pathological hub entity.
_MENTIONS = 100_000
_SNIPPET = 240


def _summary(item: StoredMemory) -> MemorySummary:
    text = item.text if len(item.text) <= _SNIPPET else item.text[: _SNIPPET - 1] + "…"
    return MemorySummary(
        memory_id=item.id,
        text=text,
        tags=item.tags,
        occurred_at=item.occurred_at,
        retained_at=retained_at(item),
    )


async def list_memories(
    memory: Astrocyte, context: AstrocyteContext | None, bank_id: str, offset: int = 0, limit: int = 50
) -> MemoryPage:
    """A page of ``bank_id``'s memories, newest first."""
    if offset < 0:
        raise InvalidRequestError("must not be negative", field="offset")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequestError(f"must be between 1 and {MAX_PAGE}", field="limit")
    require_readable(memory, context, bank_id)
    items = [item async for page in scan_bank(memory, bank_id) for item in page]
    newest_first = items[::-1]
    return MemoryPage(
        bank_id=bank_id,
        memories=[_summary(item) for item in newest_first[offset : offset + limit]],
        total=len(items),
        offset=offset,
        limit=limit,
    )


def _source(config: AstrocyteConfig, metadata: Metadata) -> MemorySource:
    name = metadata.get("_source")
    if not isinstance(name, str):
        return MemorySource(kind="api")
    configured = config.sources.get(name)
    return MemorySource(kind=configured.type if configured is not None else "api", name=name)


async def _entities(memory: Astrocyte, bank_id: str, item: StoredMemory) -> list[Entity]:
    """The graph's entities that this memory is linked to.

    The graph SPI answers "which memories mention these entities", not the reverse, so candidates
    come from the rule extractor over the memory's text and each is confirmed against the stored
    mentions (an entity an LLM extractor found under another name is not listed).
    """
    graph = memory.stores.graph
    if graph is None:
        return []
    confirmed: list[Entity] = []
    for candidate in extract_entities_rules(item.text):
        wanted = entity_id(candidate.name)
        mentions = await graph.query_neighbors([wanted], bank_id, max_depth=0, limit=_MENTIONS)
        if not any(hit.memory_id == item.id for hit in mentions):
            continue
        stored = [e for e in await graph.query_entities(candidate.name, bank_id, limit=20) if e.id == wanted]
        confirmed.append(stored[0] if stored else Entity(id=wanted, name=candidate.name))
    return confirmed


async def _neighbours(
    memory: Astrocyte, bank_id: str, item: StoredMemory, entities: list[Entity]
) -> list[NeighbourView]:
    """Other memories reached from this memory's entities (sharing one, or one link away)."""
    graph = memory.stores.graph
    if graph is None or not entities:
        return []
    names = {entity.id: entity.name for entity in entities}
    hits = await graph.query_neighbors(list(names), bank_id, max_depth=1, limit=_NEIGHBOURS + 1)
    hits = [hit for hit in hits if hit.memory_id != item.id][:_NEIGHBOURS]
    texts = await find_memories(memory, bank_id, [hit.memory_id for hit in hits])
    return [
        NeighbourView(
            memory_id=hit.memory_id,
            text=texts[hit.memory_id].text,
            via_entity=names.get(hit.entity_id, hit.entity_id),  # a linked entity shows by id
            depth=hit.depth,
            score=hit.score,
        )
        for hit in hits
        if hit.memory_id in texts
    ]


async def memory_detail(
    memory: Astrocyte, context: AstrocyteContext | None, bank_id: str, memory_id: str, trail: AuditTrail
) -> MemoryDetail:
    permissions = require_readable(memory, context, bank_id)
    found = await find_memories(memory, bank_id, [memory_id])
    item = found.get(memory_id)
    if item is None:
        raise NotFoundError(f"no memory {memory_id!r} in bank {bank_id!r}")
    entities = await _entities(memory, bank_id, item)
    tier = item.metadata.get("authority_tier")
    content_type = item.metadata.get("_content_type")
    return MemoryDetail(
        memory_id=item.id,
        bank_id=bank_id,
        text=item.text,
        metadata=item.metadata,
        tags=item.tags,
        occurred_at=item.occurred_at,
        retained_at=retained_at(item),
        content_type=content_type if isinstance(content_type, str) else None,
        source=_source(memory.config, item.metadata),
        authority_tier=None if tier is None else str(tier),
        entities=[
            EntityView(id=e.id, name=e.name, entity_type=e.entity_type, aliases=e.aliases) for e in entities
        ],
        neighbours=await _neighbours(memory, bank_id, item, entities),
        audit=trail.of_memory(bank_id, memory_id),
        permissions=permissions,
    )

"""Memory pages: a bank's memories newest first, and one memory with its entities, graph
neighbours, origin and audit trail."""

from __future__ import annotations

from astrocyte import Astrocyte, AstrocyteContext, InvalidRequestError
from astrocyte.config import AstrocyteConfig
from astrocyte.errors import NotFoundError
from astrocyte.pipeline.entities import entity_id, extract_entities_rules
from astrocyte.types import Entity, Metadata
from astrocyte_gateway.console._scan import StoredMemory, find_memories, retained_at
from astrocyte_gateway.console._scope import require_readable
from astrocyte_gateway.console.audit_trail import AuditTrail
from astrocyte_gateway.console.bank_index import BankIndex
from astrocyte_gateway.console.models import (
    EntityView,
    MemoryDetail,
    MemoryPage,
    MemorySource,
    NeighbourView,
)

__all__ = ["MAX_PAGE", "list_memories", "memory_detail"]

MAX_PAGE = 500
_NEIGHBOURS = 20
#: How many reached memories the graph query returns: enough to find the memory itself among them.
_REACH = 100_000


async def list_memories(
    memory: Astrocyte,
    context: AstrocyteContext | None,
    bank_id: str,
    index: BankIndex,
    offset: int = 0,
    limit: int = 50,
) -> MemoryPage:
    """A page of ``bank_id``'s memories, newest first."""
    if offset < 0:
        raise InvalidRequestError("must not be negative", field="offset")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequestError(f"must be between 1 and {MAX_PAGE}", field="limit")
    require_readable(memory, context, bank_id)
    snapshot = await index.snapshot(bank_id)
    newest_first = snapshot.memories[::-1]
    return MemoryPage(
        bank_id=bank_id,
        memories=newest_first[offset : offset + limit],
        total=len(snapshot.memories),
        offset=offset,
        limit=limit,
    )


def _source(config: AstrocyteConfig, metadata: Metadata) -> MemorySource:
    name = metadata.get("_source")
    if not isinstance(name, str):
        return MemorySource(kind="api")
    configured = config.sources.get(name)
    return MemorySource(kind=configured.type if configured is not None else "api", name=name)


async def _graph(
    memory: Astrocyte, bank_id: str, item: StoredMemory
) -> tuple[list[Entity], list[NeighbourView]]:
    """The graph's entities of this memory, and other memories reached from them.

    The graph SPI answers "which memories do these entities reach", not "which entities does this
    memory mention": candidates are what the rule extractor finds in the text and the graph holds;
    one query from all of them both confirms the memory is linked to them (it reaches itself) and
    finds its neighbours — one query, since a hub entity (a user's own name) may reach thousands.
    """
    graph = memory.stores.graph
    if graph is None:
        return [], []
    candidates: list[Entity] = []
    for extracted in extract_entities_rules(item.text):
        wanted = entity_id(extracted.name)
        stored = [e for e in await graph.query_entities(extracted.name, bank_id, limit=20) if e.id == wanted]
        candidates.extend(stored[:1])
    if not candidates:
        return [], []
    names = {entity.id: entity.name for entity in candidates}
    hits = await graph.query_neighbors(list(names), bank_id, max_depth=1, limit=_REACH)
    if not any(hit.memory_id == item.id for hit in hits):
        return [], []  # retained without entity extraction: its words match entities of other memories
    others = [hit for hit in hits if hit.memory_id != item.id][:_NEIGHBOURS]
    texts = await find_memories(memory, bank_id, [hit.memory_id for hit in others])
    neighbours = [
        NeighbourView(
            memory_id=hit.memory_id,
            text=texts[hit.memory_id].text,
            via_entity=names.get(hit.entity_id, hit.entity_id),  # a linked entity shows by id
            depth=hit.depth,
            score=hit.score,
        )
        for hit in others
        if hit.memory_id in texts
    ]
    return candidates, neighbours


async def memory_detail(
    memory: Astrocyte, context: AstrocyteContext | None, bank_id: str, memory_id: str, trail: AuditTrail
) -> MemoryDetail:
    permissions = require_readable(memory, context, bank_id)
    found = await find_memories(memory, bank_id, [memory_id])
    item = found.get(memory_id)
    if item is None:
        raise NotFoundError(f"no memory {memory_id!r} in bank {bank_id!r}")
    entities, neighbours = await _graph(memory, bank_id, item)
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
        neighbours=neighbours,
        audit=trail.of_memory(bank_id, memory_id),
        permissions=permissions,
    )

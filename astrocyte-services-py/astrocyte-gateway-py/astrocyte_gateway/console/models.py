"""What the console's JSON endpoints return (the API's own DTOs — recall, forget — are reused as is)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from astrocyte.identity import Permission
from astrocyte.policy.audit import AuditEvent
from astrocyte.types import Metadata

__all__ = [
    "BankSummary",
    "BanksOverview",
    "EntityView",
    "MemoryDetail",
    "MemoryPage",
    "MemorySource",
    "MemorySummary",
    "NeighbourView",
    "SourceStatus",
    "SourcesOverview",
    "StoreStatus",
    "WhoAmI",
]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WhoAmI(_View):
    principal: str | None
    admin: bool = False


class StoreStatus(_View):
    kind: Literal["vector", "document", "graph"]
    provider: str = Field(description="The provider name from the config (sqlite, postgres, ...).")
    healthy: bool
    message: str = ""
    latency_ms: float | None = None


class BankSummary(_View):
    bank_id: str
    memory_count: int
    size_bytes: int = Field(description="UTF-8 bytes of memory text (what quotas count).")
    last_write: datetime | None = Field(
        description="Newest retain into the bank (None: written before stamping)."
    )
    permissions: list[Permission]


class BanksOverview(_View):
    banks: list[BankSummary]
    stores: list[StoreStatus]
    recall_strategies: list[str]


class MemorySummary(_View):
    memory_id: str
    text: str
    tags: list[str]
    occurred_at: datetime | None
    retained_at: datetime | None


class MemoryPage(_View):
    bank_id: str
    memories: list[MemorySummary]
    total: int
    offset: int
    limit: int


class EntityView(_View):
    id: str
    name: str
    entity_type: str
    aliases: list[str] = Field(default_factory=list)


class NeighbourView(_View):
    memory_id: str
    text: str
    via_entity: str = Field(description="Name of the entity through which the neighbour is reached.")
    depth: int
    score: float


class MemorySource(_View):
    """Where a memory came from: an ingest source (webhook/stream/poll) or a direct API call."""

    kind: Literal["webhook", "stream", "poll", "proxy", "api"]
    name: str | None = None


class MemoryDetail(_View):
    memory_id: str
    bank_id: str
    text: str
    metadata: Metadata
    tags: list[str]
    occurred_at: datetime | None
    retained_at: datetime | None
    content_type: str | None
    source: MemorySource
    authority_tier: str | None
    entities: list[EntityView]
    neighbours: list[NeighbourView]
    audit: list[AuditEvent] = Field(description="Audited operations on this memory, oldest first.")
    permissions: list[Permission]


class SourceStatus(_View):
    source_id: str
    type: str
    driver: str | None
    bank: str | None = Field(description="The fixed target bank; None when chosen per message.")
    healthy: bool
    running: bool | None = Field(description="Whether the consumer runs (None: webhooks and proxies).")
    message: str = ""
    lag: int | None = Field(default=None, description="Messages waiting, when the driver reports it.")
    retained: int | None = None
    retried: int | None = None
    consecutive_failures: int | None = None
    dead_lettered: int | None = Field(default=None, description="Messages this process dead-lettered.")
    dead_letter_size: int | None = Field(
        default=None, description="Entries in the dead letter, when reported."
    )
    last_error: str | None = None
    last_success_at: datetime | None = None


class SourcesOverview(_View):
    sources: list[SourceStatus]

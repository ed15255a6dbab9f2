"""Portable DTOs: the data that crosses every boundary (library API, SPI, gateway, other languages).

Rules (see DESIGN.md): fields hold only JSON-representable values — str/int/float/bool/None, lists,
string-keyed dicts of those, datetimes (ISO 8601 on the wire) and nested models. No ``Any``, no
callables. ``astrocyte schema`` exports the JSON Schema of every model in :data:`PORTABLE_MODELS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "PORTABLE_MODELS",
    "AuthorityContext",
    "AuthorityTierGroup",
    "ContentType",
    "Document",
    "DocumentFilters",
    "DocumentHit",
    "Entity",
    "EntityLink",
    "ExternalContextItem",
    "ForgetRequest",
    "ForgetResult",
    "GraphHit",
    "HealthStatus",
    "LLMCapabilities",
    "LLMCompletion",
    "LLMMessage",
    "MemoryEntityAssociation",
    "MemoryHit",
    "MetadataValue",
    "NeighborDocument",
    "RecallRequest",
    "RecallResult",
    "RecallTrace",
    "ReflectRequest",
    "ReflectResult",
    "RetainCopy",
    "RetainRequest",
    "RetainResult",
    "StrategyTrace",
    "TierTrace",
    "TimeRange",
    "VectorFilters",
    "VectorHit",
    "VectorItem",
]

JsonScalar = str | int | float | bool | None
#: A metadata value: a JSON scalar or a flat list of scalars.
MetadataValue = str | int | float | bool | None | list[str | int | float | bool | None]
Metadata = dict[str, MetadataValue]

ContentType = Literal["text", "conversation", "transcript", "email", "document", "event"]


class _Portable(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_timedelta="iso8601")


class TimeRange(_Portable):
    """A half-open interval ``[start, end)`` on ``occurred_at``; either side may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("time_range.start must not be after time_range.end")
        return self


def _check_bank_id(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("bank_id must be a non-empty string")
    if len(value) > 256:
        raise ValueError("bank_id must be at most 256 characters")
    return value


# --------------------------------------------------------------------------- storage DTOs


class VectorItem(_Portable):
    """One vector with the memory text it represents, written through ``VectorStore.store_vectors``."""

    id: str = Field(min_length=1)
    bank_id: str
    vector: list[float]
    text: str
    metadata: Metadata = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime | None = None

    _bank = field_validator("bank_id")(_check_bank_id)


class VectorFilters(_Portable):
    """Filters shared by vector search and full-text search.

    ``tags`` matches memories carrying *any* of the tags (``tag_mode="all"``: every tag);
    ``time_range`` bounds ``occurred_at`` (memories without a date are excluded when it is set);
    ``metadata`` requires equality on each given key.
    """

    tags: list[str] | None = None
    tag_mode: Literal["any", "all"] = "any"
    time_range: TimeRange | None = None
    metadata: dict[str, JsonScalar] | None = None


DocumentFilters = VectorFilters


class VectorHit(_Portable):
    id: str
    text: str
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity mapped to [0, 1]; 1 = identical.")
    metadata: Metadata = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime | None = None


class Document(_Portable):
    """A memory's text as indexed for full-text search by a ``DocumentStore``."""

    id: str = Field(min_length=1)
    text: str
    metadata: Metadata = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime | None = None


class NeighborDocument(_Portable):
    """A document retained next to another one in its bank: ``offset`` turns before (< 0) or after (> 0)."""

    offset: int
    document: Document


class DocumentHit(_Portable):
    id: str
    text: str
    score: float = Field(ge=0.0, description="BM25-like relevance; higher is better.")
    metadata: Metadata = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime | None = None


class Entity(_Portable):
    """A named thing (person, place, organisation, date...) mentioned by memories."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    entity_type: str = "unknown"
    aliases: list[str] = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)


class EntityLink(_Portable):
    """A directed, typed relation between two entities of one bank."""

    source_id: str
    target_id: str
    relation: str = "related_to"
    weight: float = 1.0
    metadata: Metadata = Field(default_factory=dict)


class MemoryEntityAssociation(_Portable):
    """Memory ``memory_id`` mentions entity ``entity_id``."""

    memory_id: str
    entity_id: str


class GraphHit(_Portable):
    """A memory reached from the query entities through the graph."""

    memory_id: str
    entity_id: str = Field(description="The entity through which the memory was reached.")
    depth: int = Field(ge=0, description="0 = the memory mentions a query entity directly.")
    score: float = Field(ge=0.0, le=1.0)


class HealthStatus(_Portable):
    healthy: bool
    message: str = ""
    latency_ms: float | None = None
    details: dict[str, JsonScalar] = Field(default_factory=dict)


# --------------------------------------------------------------------------- LLM DTOs


class LLMMessage(_Portable):
    role: Literal["system", "user", "assistant"]
    content: str


class LLMCompletion(_Portable):
    text: str
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


class LLMCapabilities(_Portable):
    chat: bool = True
    embeddings: bool = False
    max_context_tokens: int | None = None


# --------------------------------------------------------------------------- memory API DTOs


class RetainRequest(_Portable):
    content: str = Field(min_length=1)
    bank_id: str
    content_type: ContentType = "text"
    metadata: Metadata = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime | None = None
    source: str | None = None
    extraction_profile: str | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=512)
    deduplicate: bool = Field(
        default=True,
        description="Skip chunks that repeat a stored memory (retain.dedup_threshold); false keeps "
        "every chunk, for verbatim records such as chat transcripts.",
    )

    _bank = field_validator("bank_id")(_check_bank_id)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value


class RetainCopy(_Portable):
    """What one retain wrote into one bank."""

    memory_ids: list[str] = Field(description="Ids of the memories written (one per chunk).")
    bank_id: str
    chunk_count: int = 0
    duplicate_of: dict[str, str] = Field(
        default_factory=dict,
        description="Chunks skipped as near-duplicates: chunk index (as str) -> existing memory id.",
    )
    entities: list[str] = Field(default_factory=list, description="Names of entities extracted.")
    idempotent_replay: bool = Field(
        default=False, description="True when the idempotency key was seen before and nothing was written."
    )


class RetainResult(RetainCopy):
    fanout: list[RetainCopy] = Field(
        default_factory=list, description="The same content retained into further banks by a mip rule."
    )


class ExternalContextItem(_Portable):
    """A caller-supplied hit fused into recall (e.g. from the agent's own tools)."""

    text: str = Field(min_length=1)
    id: str | None = None
    source: str = "external"
    score: float | None = None
    metadata: Metadata = Field(default_factory=dict)


class _BankScoped(_Portable):
    bank_id: str | None = None
    bank_ids: list[str] | None = None

    @model_validator(mode="after")
    def _one_bank_selector(self) -> _BankScoped:
        if self.bank_id is not None and self.bank_ids is not None:
            raise ValueError("give either bank_id or bank_ids, not both")
        for bank in [self.bank_id, *(self.bank_ids or [])]:
            if bank is not None:
                _check_bank_id(bank)
        if self.bank_ids is not None and not self.bank_ids:
            raise ValueError("bank_ids must not be empty")
        return self

    def banks(self) -> list[str]:
        """The banks this request targets (empty when the context must resolve one)."""
        if self.bank_ids:
            return list(dict.fromkeys(self.bank_ids))
        return [self.bank_id] if self.bank_id else []


class RecallRequest(_BankScoped):
    query: str = Field(min_length=1)
    max_results: int = Field(default=10, ge=1, le=1000)
    max_tokens: int | None = Field(default=None, ge=1)
    tags: list[str] | None = None
    time_range: TimeRange | None = None
    external_context: list[ExternalContextItem] | None = None
    strategies: list[str] | None = Field(
        default=None, description="Restrict recall to these strategies (vector, fulltext, graph, temporal)."
    )


class MemoryHit(_Portable):
    memory_id: str
    bank_id: str
    text: str
    score: float = Field(description="Fused relevance; higher is better (not comparable across queries).")
    metadata: Metadata = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    occurred_at: datetime | None = None
    strategies: list[str] = Field(
        default_factory=list,
        description="Strategies that returned this memory; 'neighbor' when it was lifted as the turn next to a top hit.",
    )


class StrategyTrace(_Portable):
    name: str
    bank_id: str | None = None
    hit_ids: list[str] = Field(default_factory=list, description="Memory ids in this strategy's rank order.")
    duration_ms: float = 0.0
    weight: float = 1.0
    skipped: bool = False
    error: str | None = None


class TierTrace(_Portable):
    """One tier of tiered retrieval that ran, and what it cost."""

    tier: int = Field(ge=0, le=3, description="0 cache, 1 vector+fulltext, 2 graph+proxies, 3 LLM.")
    name: str
    duration_ms: float = 0.0
    embedding_ms: float = Field(default=0.0, description="Part of duration_ms spent embedding the query.")
    hits: int = 0
    sufficient: bool = False
    store_calls: int = Field(default=0, description="Strategy searches run (one per strategy and bank).")
    llm_calls: int = 0
    note: str = ""


class RecallTrace(_Portable):
    strategies: list[StrategyTrace] = Field(default_factory=list)
    fusion: str = "rrf"
    total_ms: float = 0.0
    embedding_ms: float = Field(default=0.0, description="Part of total_ms spent embedding the query.")
    tokens_used: int = 0
    truncated: bool = Field(default=False, description="True when the token budget dropped hits.")
    notes: list[str] = Field(default_factory=list)
    tiers: list[TierTrace] = Field(
        default_factory=list, description="Tiers that ran (tiered_retrieval only), cheapest first."
    )


class AuthorityTierGroup(_Portable):
    """The hits of one authority tier (``tier`` None: memories without a tier, trusted least)."""

    tier: str | None
    rank: int = Field(ge=1, description="1 = most authoritative.")
    description: str = ""
    memory_ids: list[str] = Field(default_factory=list)


class AuthorityContext(_Portable):
    """Fused hits grouped by authority tier, with the precedence rules (``recall_authority``)."""

    tiers: list[AuthorityTierGroup] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    text: str = Field(default="", description="The block as handed to a model; [n] = the n-th hit.")


class RecallResult(_Portable):
    hits: list[MemoryHit]
    trace: RecallTrace = Field(default_factory=RecallTrace)
    authority_context: AuthorityContext | None = Field(
        default=None, description="Set when recall_authority is enabled."
    )


class ReflectRequest(_BankScoped):
    query: str = Field(min_length=1)
    max_results: int = Field(default=10, ge=1, le=200)
    max_tokens: int | None = Field(default=None, ge=1)
    tags: list[str] | None = None
    time_range: TimeRange | None = None


class ReflectResult(_Portable):
    answer: str
    cited_memory_ids: list[str] = Field(default_factory=list)
    sources: list[MemoryHit] = Field(default_factory=list)
    synthesis: Literal["llm", "extractive"] = "extractive"


class ForgetRequest(_Portable):
    bank_id: str
    memory_ids: list[str] | None = None
    tags: list[str] | None = None
    time_range: TimeRange | None = None
    all: bool = Field(default=False, description="Forget the whole bank.")

    _bank = field_validator("bank_id")(_check_bank_id)

    @model_validator(mode="after")
    def _has_selector(self) -> ForgetRequest:
        if not (self.all or self.memory_ids or self.tags or self.time_range):
            raise ValueError("name what to forget: memory_ids, tags, time_range, or all=true")
        return self


class ForgetResult(_Portable):
    bank_id: str
    deleted_count: int = 0
    memory_ids: list[str] = Field(default_factory=list)
    per_store: dict[str, int] = Field(default_factory=dict, description="Rows removed per store kind.")


#: Every model whose JSON Schema ``astrocyte schema`` exports, keyed by name.
PORTABLE_MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        RetainRequest,
        RetainResult,
        RetainCopy,
        RecallRequest,
        RecallResult,
        RecallTrace,
        StrategyTrace,
        TierTrace,
        AuthorityContext,
        AuthorityTierGroup,
        MemoryHit,
        ExternalContextItem,
        ReflectRequest,
        ReflectResult,
        ForgetRequest,
        ForgetResult,
        TimeRange,
        VectorItem,
        VectorHit,
        VectorFilters,
        Document,
        DocumentHit,
        NeighborDocument,
        Entity,
        EntityLink,
        MemoryEntityAssociation,
        GraphHit,
        HealthStatus,
        LLMMessage,
        LLMCompletion,
        LLMCapabilities,
    )
}

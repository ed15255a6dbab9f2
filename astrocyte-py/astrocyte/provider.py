"""SPI Protocols: what a backend implements to plug into Astrocyte.

Every storage method is async and bank-scoped: an id written in bank B is never read, changed or
deleted through bank A. Every implementation declares ``SPI_VERSION: ClassVar[int]``; discovery
refuses a provider whose version this core does not support (:data:`SUPPORTED_SPI_VERSIONS`).

Each Protocol is ``runtime_checkable`` so discovery can verify an implementation has the methods;
the contract suites in :mod:`astrocyte.testing` verify the behaviour.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

from astrocyte.types import (
    Document,
    DocumentHit,
    Entity,
    EntityLink,
    ForgetRequest,
    ForgetResult,
    GraphHit,
    HealthStatus,
    LLMCapabilities,
    LLMCompletion,
    LLMMessage,
    MemoryEntityAssociation,
    MemoryHit,
    NeighborDocument,
    RecallRequest,
    RecallResult,
    ReflectRequest,
    ReflectResult,
    RetainRequest,
    RetainResult,
    VectorFilters,
    VectorHit,
    VectorItem,
)

if TYPE_CHECKING:
    from astrocyte.http import OutboundContext, OutboundTransportCapabilities

__all__ = [
    "SUPPORTED_SPI_VERSIONS",
    "BatchSimilaritySearch",
    "BulkLoad",
    "DocumentBatchLookup",
    "DocumentStore",
    "EmbeddingProvider",
    "EngineProvider",
    "GraphStore",
    "IngestSource",
    "LLMProvider",
    "Migratable",
    "NeighborLookup",
    "OutboundTransportProvider",
    "Reranker",
    "SourceType",
    "VectorStore",
]

#: SPI versions of each family this core can drive.
SUPPORTED_SPI_VERSIONS: frozenset[int] = frozenset({1})


@runtime_checkable
class VectorStore(Protocol):
    """Dense-vector storage and similarity search."""

    SPI_VERSION: ClassVar[int]

    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        """Upsert ``items`` (by ``(bank_id, id)``); return their ids. Empty list: no-op.

        A vector whose dimension differs from the bank's raises ``DimensionMismatchError`` and writes
        nothing of the batch.
        """
        ...

    async def search_similar(
        self,
        query_vector: list[float],
        bank_id: str,
        limit: int = 10,
        filters: VectorFilters | None = None,
    ) -> list[VectorHit]:
        """Nearest ``limit`` items by cosine, score in [0, 1] (1 = identical), sorted descending.

        An unknown bank yields ``[]``.
        """
        ...

    async def delete(self, ids: list[str], bank_id: str) -> int:
        """Delete ``ids`` within ``bank_id``; return how many existed."""
        ...

    async def list_vectors(self, bank_id: str, offset: int = 0, limit: int = 100) -> list[VectorItem]:
        """Page through a bank in a stable order (for consolidation and forget scans)."""
        ...

    async def list_banks(self) -> list[str]:
        """Every bank holding at least one vector, sorted."""
        ...

    async def health(self) -> HealthStatus: ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


@runtime_checkable
class BatchSimilaritySearch(Protocol):
    """Optional VectorStore capability: the nearest neighbours of many query vectors in one call.

    Retain probes every new chunk for a stored near-duplicate; one call per batch spares a round trip
    (and a scan) per chunk. Stores without it are probed with ``search_similar`` once per vector.
    """

    async def search_similar_many(
        self,
        query_vectors: list[list[float]],
        bank_id: str,
        limit: int = 10,
        min_score: float | None = None,
    ) -> list[list[VectorHit]]:
        """One result list per query vector, in order, each what ``search_similar(vector, bank_id,
        limit)`` returns (an unknown bank: ``[]`` each). No vectors: ``[]``.

        ``min_score`` leaves out hits scoring below it. Near neighbours are the easy ones for an
        approximate index, so a store may search less exhaustively when ``min_score`` is high (the
        retain near-duplicate probe passes the dedup threshold)."""
        ...


@runtime_checkable
class BulkLoad(Protocol):
    """Optional store capability: defer index upkeep through a bulk import.

    Inside ``bulk_load()`` writes stay atomic and every search stays correct, though it may be slower;
    the store brings its indexes up to date once, in bulk, when the block exits (with an error too).
    Bulk index builds cost a fraction of row-by-row upkeep, so imports should run inside one.
    """

    def bulk_load(self) -> AbstractAsyncContextManager[None]: ...


@runtime_checkable
class GraphStore(Protocol):
    """Entities, their relations, and which memories mention them."""

    SPI_VERSION: ClassVar[int]

    async def store_entities(self, entities: list[Entity], bank_id: str) -> list[str]:
        """Upsert entities by id (a re-stored entity merges its aliases); return their ids."""
        ...

    async def store_links(self, links: list[EntityLink], bank_id: str) -> int:
        """Upsert relations keyed by (source, target, relation); return how many were written."""
        ...

    async def link_memories_to_entities(
        self, associations: list[MemoryEntityAssociation], bank_id: str
    ) -> int:
        """Record that memories mention entities; return how many new associations were written."""
        ...

    async def query_neighbors(
        self, entity_ids: list[str], bank_id: str, max_depth: int = 2, limit: int = 20
    ) -> list[GraphHit]:
        """Memories mentioning ``entity_ids`` (depth 0) or entities linked within ``max_depth`` hops.

        Sorted by score descending (nearer and more-connected memories first).
        """
        ...

    async def query_entities(self, query: str, bank_id: str, limit: int = 10) -> list[Entity]:
        """Entities whose name or alias matches ``query`` (case-insensitive), best match first."""
        ...

    async def delete_memories(self, memory_ids: list[str], bank_id: str) -> int:
        """Forget memories from the graph: drop their associations and entities left orphaned."""
        ...

    async def health(self) -> HealthStatus: ...

    async def close(self) -> None: ...


@runtime_checkable
class DocumentStore(Protocol):
    """Full-text (BM25-like) storage of memory texts."""

    SPI_VERSION: ClassVar[int]

    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        """Upsert documents by id; return their ids. Empty list: no-op."""
        ...

    async def search_fulltext(
        self, query: str, bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[DocumentHit]:
        """Best ``limit`` documents for ``query``, score descending. Any query text is accepted
        (operators and punctuation are treated as plain words); an unknown bank yields ``[]``."""
        ...

    async def get_document(self, document_id: str, bank_id: str) -> Document | None: ...

    async def delete(self, ids: list[str], bank_id: str) -> int: ...

    async def health(self) -> HealthStatus: ...

    async def close(self) -> None: ...


@runtime_checkable
class DocumentBatchLookup(Protocol):
    """Optional DocumentStore capability: read many documents in one round trip."""

    async def get_documents(self, ids: list[str], bank_id: str) -> list[Document]:
        """The documents of ``ids`` that exist in ``bank_id``, in the order of ``ids`` (unknown ids skipped)."""
        ...


@runtime_checkable
class NeighborLookup(Protocol):
    """Optional DocumentStore capability: the documents retained just before and after others.

    Recall spreads part of a hit's score to its neighbours (the evidence for a question often sits
    in the turn next to the one that matched). Stores without it simply skip that step.
    """

    async def get_neighbors(
        self, ids: list[str], bank_id: str, window: int = 1
    ) -> dict[str, list[NeighborDocument]]:
        """For each id of ``ids`` in ``bank_id``: up to ``window`` documents before and after it in
        retain order, sorted by offset (-window..-1, 1..window; upserts keep their place). Unknown ids
        are absent."""
        ...


@runtime_checkable
class Migratable(Protocol):
    """Optional capability of a store with a versioned schema (``astrocyte migrate`` calls it).

    ``migrate()`` applies the pending forward-only migrations and returns one line per migration
    applied (``[]`` when the schema is current). It is idempotent and safe to run concurrently.
    """

    async def migrate(self) -> list[str]: ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    """Turns texts into fixed-size vectors."""

    SPI_VERSION: ClassVar[int]

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order, each of length ``dimensions``. Empty list → ``[]``."""
        ...


@runtime_checkable
class LLMProvider(Protocol):
    """A chat model (and optionally embeddings) behind one interface."""

    SPI_VERSION: ClassVar[int]

    async def complete(
        self,
        messages: list[LLMMessage],
        model: str | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> LLMCompletion: ...

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        """Raise ``CapabilityNotSupportedError`` when ``capabilities().embeddings`` is False."""
        ...

    def capabilities(self) -> LLMCapabilities: ...


@runtime_checkable
class Reranker(Protocol):
    """Optional recall step that reorders fused hits (cross-encoder, LLM, heuristics)."""

    SPI_VERSION: ClassVar[int]

    async def rerank(self, query: str, hits: list[MemoryHit]) -> list[MemoryHit]: ...


@runtime_checkable
class EngineProvider(Protocol):
    """Tier 2: a whole memory engine behind the four verbs. The policy layer still wraps each call."""

    SPI_VERSION: ClassVar[int]

    def capabilities(self) -> dict[str, bool]: ...

    async def health(self) -> HealthStatus: ...

    async def retain(self, request: RetainRequest) -> RetainResult: ...

    async def recall(self, request: RecallRequest) -> RecallResult: ...

    async def reflect(self, request: ReflectRequest) -> ReflectResult: ...

    async def forget(self, request: ForgetRequest) -> ForgetResult: ...


@runtime_checkable
class OutboundTransportProvider(Protocol):
    """Decides how outbound HTTP leaves the process (proxy, CA bundle, injected headers). Sync.

    :mod:`astrocyte.http` builds every client's :class:`~astrocyte.http.OutboundContext` from the
    environment, then hands it to ``apply``; a transport returns a changed copy and lists any secret
    it added in ``secrets`` so logs and errors mask it.
    """

    SPI_VERSION: ClassVar[int]

    def apply(self, ctx: OutboundContext) -> OutboundContext: ...

    def subprocess_env(self) -> dict[str, str]:
        """Environment variables a child process needs to follow the same policy (``HTTPS_PROXY``...)."""
        ...

    def capabilities(self) -> OutboundTransportCapabilities: ...


#: How an ingest source receives data: pushed to us (webhook), consumed from a log (stream),
#: fetched on a schedule (poll), or queried at recall time (proxy).
SourceType = Literal["webhook", "stream", "poll", "proxy"]


@runtime_checkable
class IngestSource(Protocol):
    """An inbound connector that turns external messages into memories through ``Astrocyte.retain``.

    ``start()`` connects and returns once consuming runs in the background (it raises when the
    backend cannot be reached); ``stop()`` finishes the message in flight, acknowledges what was
    retained and releases connections. A message is acknowledged only after its retain succeeded.
    """

    SPI_VERSION: ClassVar[int]
    source_id: str
    source_type: SourceType

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health_check(self) -> HealthStatus: ...

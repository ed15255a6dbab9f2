"""``QdrantVectorStore``: the VectorStore SPI on qdrant-client's ``AsyncQdrantClient``.

All banks share one collection (``collection``, created on first write with the first vector's size
— or ``dimensions`` — and cosine distance); every point carries ``bank_id`` in its payload, every
query filters on it, and point ids are derived from ``(bank_id, id)``, so banks never see each other.
On a Qdrant server the collection gets keyword payload indexes on ``bank_id``, ``tags`` and
``meta_kv`` and an integer index on ``occurred_us``; the embedded mode (``url=":memory:"`` or
``path=``) ignores payload indexes, so none are requested there.

Cosine collections store unit-normalised vectors: :meth:`list_vectors` returns the direction of each
vector, not its original length.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ApiException, ResponseHandlingException, UnexpectedResponse

from astrocyte.errors import ConfigError, InvalidRequestError, StoreError
from astrocyte.stores import validate_vector
from astrocyte.types import HealthStatus, VectorFilters, VectorHit, VectorItem
from astrocyte_qdrant._payload import from_payload, hit_from_payload, point_id, to_payload
from astrocyte_qdrant._query import bank_filter

__all__ = ["QdrantVectorStore"]

_MEMORY = ":memory:"
_KEYWORD_FIELDS = ("bank_id", "tags", "meta_kv")
# Largest number of distinct banks list_banks reports in one facet call.
_MAX_BANKS = 1_000_000
_CLIENT_ERRORS = (ApiException, ResponseHandlingException, UnexpectedResponse, OSError, TimeoutError)


def _vector_of(raw: object) -> list[float]:
    """The default (unnamed) vector of a returned point."""
    if isinstance(raw, list):
        return [float(x) for x in raw]
    raise StoreError("qdrant returned a point without its vector (is the collection using named vectors?)")


class QdrantVectorStore:
    """Vector store on Qdrant (server via ``url``, embedded via ``url=":memory:"`` or ``path``).

    ``url``: ``http(s)://host:6333`` of a Qdrant server, or ``":memory:"`` (the default when neither
    ``url`` nor ``path`` is given) for an in-process store that lives as long as this object.
    ``path``: a directory for an embedded, persistent store. ``collection``: the collection that
    holds every bank. ``dimensions``: the vector size; when omitted, the first write fixes it.
    ``upsert_batch_size``: points per upsert request for large writes. ``check_compatibility``: let
    qdrant-client compare its version with the server's in the background and warn on a mismatch.
    """

    SPI_VERSION: ClassVar[int] = 1

    def __init__(
        self,
        url: str | None = None,
        path: str | None = None,
        api_key: str | None = None,
        collection: str = "astrocyte_memories",
        dimensions: int | None = None,
        upsert_batch_size: int = 512,
        timeout_s: float = 10.0,
        check_compatibility: bool = True,
    ) -> None:
        if url is not None and path is not None:
            raise ConfigError("give either url or path, not both", key_path="vector_store_config")
        if not collection.strip():
            raise ConfigError("collection must not be empty", key_path="vector_store_config.collection")
        if dimensions is not None and dimensions < 1:
            raise ConfigError("dimensions must be positive", key_path="vector_store_config.dimensions")
        if upsert_batch_size < 1:
            raise ConfigError(
                "upsert_batch_size must be positive", key_path="vector_store_config.upsert_batch_size"
            )
        self._embedded = path is not None or url in (None, _MEMORY)
        if path is not None:
            self._client = AsyncQdrantClient(path=path)
        elif self._embedded:
            self._client = AsyncQdrantClient(location=_MEMORY)
        else:
            self._client = AsyncQdrantClient(
                url=url, api_key=api_key, timeout=int(timeout_s), check_compatibility=check_compatibility
            )
        self._where = path or url or _MEMORY
        self._collection = collection
        self._configured_dim = dimensions
        self._dim: int | None = None
        self._batch = upsert_batch_size
        self._create_lock = asyncio.Lock()

    # ----------------------------------------------------------------- collection

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """Turn client failures into :class:`StoreError` naming the action and the server."""
        try:
            yield
        except _CLIENT_ERRORS as exc:
            raise StoreError(f"qdrant {action} failed at {self._where}: {exc}") from exc

    async def _existing_dim(self) -> int | None:
        """The collection's vector size, or ``None`` when the collection does not exist yet."""
        if self._dim is not None:
            return self._dim
        async with self._errors("collection lookup"):
            if not await self._client.collection_exists(self._collection):
                return None
            info = await self._client.get_collection(self._collection)
        params = info.config.params.vectors
        if not isinstance(params, models.VectorParams):
            raise ConfigError(
                f"qdrant collection {self._collection!r} uses named vectors; astrocyte needs one unnamed vector",
                key_path="vector_store_config.collection",
                hint="point `collection` at a collection astrocyte created",
            )
        if params.distance != models.Distance.COSINE:
            raise ConfigError(
                f"qdrant collection {self._collection!r} uses {params.distance.value} distance, not Cosine",
                key_path="vector_store_config.collection",
                hint="use a new collection name; astrocyte scores are cosine similarities",
            )
        self._dim = params.size
        return self._dim

    async def _ensure_collection(self, dim: int) -> int:
        """Create the collection of size ``dim`` unless it exists; return its actual size."""
        async with self._create_lock:
            existing = await self._existing_dim()
            if existing is not None:
                return existing
            async with self._errors("collection creation"):
                try:
                    await self._client.create_collection(
                        self._collection,
                        vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
                    )
                except (UnexpectedResponse, ValueError):
                    # Another process created it between our check and our create.
                    if not await self._client.collection_exists(self._collection):
                        raise
                if not self._embedded:
                    await self._create_indexes()
            self._dim = None
            created = await self._existing_dim()
            assert created is not None
            return created

    async def _create_indexes(self) -> None:
        for field in _KEYWORD_FIELDS:
            await self._client.create_payload_index(
                self._collection, field, field_schema=models.PayloadSchemaType.KEYWORD, wait=True
            )
        await self._client.create_payload_index(
            self._collection, "occurred_us", field_schema=models.PayloadSchemaType.INTEGER, wait=True
        )

    # ----------------------------------------------------------------- writes

    def _checked_dim(self, items: Sequence[VectorItem], existing: int | None) -> int:
        """The batch's common dimension; raises before anything is written when one differs."""
        expected = existing if existing is not None else self._configured_dim or len(items[0].vector)
        for index, item in enumerate(items):
            validate_vector(item.vector, expected, field=f"items[{index}].vector")
        return expected

    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        if not items:
            return []
        dim = self._checked_dim(items, await self._existing_dim())
        dim = await self._ensure_collection(dim)
        self._checked_dim(items, dim)
        points = [
            models.PointStruct(
                id=point_id(item.bank_id, item.id), vector=list(item.vector), payload=to_payload(item)
            )
            for item in items
        ]
        async with self._errors("upsert"):
            for start in range(0, len(points), self._batch):
                await self._client.upsert(
                    self._collection, points=points[start : start + self._batch], wait=True
                )
        return [item.id for item in items]

    async def delete(self, ids: list[str], bank_id: str) -> int:
        if not ids or await self._existing_dim() is None:
            return 0
        wanted = list(dict.fromkeys(point_id(bank_id, item_id) for item_id in ids))
        async with self._errors("delete"):
            found = await self._client.retrieve(
                self._collection, ids=wanted, with_payload=["bank_id"], with_vectors=False
            )
            existing = [p.id for p in found if (p.payload or {}).get("bank_id") == bank_id]
            if existing:
                await self._client.delete(
                    self._collection, points_selector=models.PointIdsList(points=existing), wait=True
                )
        return len(existing)

    # ----------------------------------------------------------------- reads

    async def search_similar(
        self,
        query_vector: list[float],
        bank_id: str,
        limit: int = 10,
        filters: VectorFilters | None = None,
    ) -> list[VectorHit]:
        if limit < 1:
            raise InvalidRequestError("limit must be at least 1", field="limit")
        dim = await self._existing_dim()
        if dim is None:
            validate_vector(query_vector, self._configured_dim, field="query_vector")
            return []
        validate_vector(query_vector, dim, field="query_vector")
        async with self._errors("search"):
            response = await self._client.query_points(
                self._collection,
                query=list(query_vector),
                query_filter=bank_filter(bank_id, filters),
                limit=limit,
                with_payload=True,
                with_vectors=False,
            )
        return [hit_from_payload(p.payload or {}, p.score) for p in response.points]

    async def search_similar_many(
        self,
        query_vectors: list[list[float]],
        bank_id: str,
        limit: int = 10,
        min_score: float | None = None,
    ) -> list[list[VectorHit]]:
        """``search_similar`` of each vector in one ``query_batch_points`` call."""
        if limit < 1:
            raise InvalidRequestError("limit must be at least 1", field="limit")
        dim = await self._existing_dim()
        for vector in query_vectors:
            validate_vector(vector, dim if dim is not None else self._configured_dim, field="query_vectors")
        if dim is None or not query_vectors:
            return [[] for _ in query_vectors]
        only_bank = bank_filter(bank_id)
        requests = [
            models.QueryRequest(
                query=list(vector), filter=only_bank, limit=limit, with_payload=True, with_vector=False
            )
            for vector in query_vectors
        ]
        async with self._errors("search"):
            responses = await self._client.query_batch_points(self._collection, requests=requests)
        found = [[hit_from_payload(p.payload or {}, p.score) for p in r.points] for r in responses]
        if min_score is None:
            return found
        return [[hit for hit in hits if hit.score >= min_score] for hits in found]

    async def list_vectors(self, bank_id: str, offset: int = 0, limit: int = 100) -> list[VectorItem]:
        """A page of the bank in point-id order (stable while the bank is not written)."""
        if offset < 0 or limit < 1:
            raise InvalidRequestError("offset must be >= 0 and limit >= 1", field="offset/limit")
        if await self._existing_dim() is None:
            return []
        in_bank = bank_filter(bank_id)
        start: Any = None
        async with self._errors("scroll"):
            if offset:
                # Walk past `offset` ids without payloads; the next page starts at the id after them.
                _, start = await self._client.scroll(
                    self._collection,
                    scroll_filter=in_bank,
                    limit=offset,
                    with_payload=False,
                    with_vectors=False,
                )
                if start is None:
                    return []
            records, _ = await self._client.scroll(
                self._collection,
                scroll_filter=in_bank,
                limit=limit,
                offset=start,
                with_payload=True,
                with_vectors=True,
            )
        return [from_payload(r.payload or {}, _vector_of(r.vector)) for r in records]

    async def list_banks(self) -> list[str]:
        if await self._existing_dim() is None:
            return []
        async with self._errors("facet"):
            response = await self._client.facet(self._collection, key="bank_id", limit=_MAX_BANKS, exact=True)
        return sorted(str(hit.value) for hit in response.hits if hit.count > 0)

    # ----------------------------------------------------------------- lifecycle

    async def health(self) -> HealthStatus:
        started = time.perf_counter()
        try:
            await self._client.get_collections()
        except _CLIENT_ERRORS as exc:
            return HealthStatus(healthy=False, message=f"qdrant unreachable at {self._where}: {exc}")
        latency_ms = (time.perf_counter() - started) * 1000
        return HealthStatus(
            healthy=True,
            message=f"qdrant at {self._where}",
            latency_ms=latency_ms,
            details={"collection": self._collection, "embedded": self._embedded, "dimensions": self._dim},
        )

    async def close(self) -> None:
        await self._client.close()

"""Retain path: normalise → PII barrier → chunk → extract entities → embed → dedup → write every store.

A write is all-or-nothing across stores: when a store fails, what earlier stores took is deleted
again (compensation) and a :class:`StoreError` names the store. With an ``idempotency_key`` memory
ids are derived from the key, so a repeated (or concurrent) retain rewrites the same rows and
a replay is reported instead of writing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from astrocyte.config import EntityExtraction, PiiSettings, RetainSettings
from astrocyte.errors import AstrocyteError, InvalidRequestError, StoreError
from astrocyte.ingest.mapping import apply_profile
from astrocyte.ingest.settings import ExtractionProfile, effective_profiles
from astrocyte.pipeline.chunking import Chunk, chunk_content
from astrocyte.pipeline.entities import ExtractedEntity, LLMEntityExtractor, entity_id, extract_entities_rules
from astrocyte.pipeline.normalize import normalize_text
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.policy.pii import PiiBarrier
from astrocyte.provider import BatchSimilaritySearch
from astrocyte.types import (
    Document,
    Entity,
    MemoryEntityAssociation,
    Metadata,
    RetainRequest,
    RetainResult,
    VectorFilters,
    VectorHit,
    VectorItem,
)

__all__ = ["IDEMPOTENCY_KEY", "RETAINED_AT", "RetainPipeline", "stored_duplicates_unprobed"]

logger = logging.getLogger("astrocyte.retain")

#: Reserved metadata keys the pipeline writes on every memory.
IDEMPOTENCY_KEY = "_idempotency_key"
RETAINED_AT = "_retained_at"
#: How many dedup probes are in flight at once (stores without batched search).
_PROBE_GROUP = 64
_ID_NAMESPACE = uuid.UUID("6f1c1f0e-7d1a-4a53-9a57-6a1f3c2b8e11")
_UNPROBED: ContextVar[bool] = ContextVar("astrocyte_stored_duplicates_unprobed", default=False)


@contextlib.contextmanager
def stored_duplicates_unprobed() -> Iterator[None]:
    """Retains in this context (task) skip the near-duplicate probe of stored memories; repeats within
    a batch are still dropped. A bulk import uses it: with indexes deferred a probe scans the bank."""
    token = _UNPROBED.set(True)
    try:
        yield
    finally:
        _UNPROBED.reset(token)


@dataclass(slots=True)
class _Prepared:
    chunk: Chunk
    memory_id: str
    vector: list[float]
    entities: list[ExtractedEntity]
    chunk_index: int


class RetainPipeline:
    def __init__(
        self,
        stores: MemoryStores,
        settings: RetainSettings,
        pii: PiiSettings,
        profiles: Mapping[str, ExtractionProfile] | None = None,
    ) -> None:
        self._stores = stores
        self._settings = settings
        self._profiles = effective_profiles(profiles or {})
        self._pii = PiiBarrier(pii)
        self._llm_extractor = LLMEntityExtractor(stores.llm) if stores.llm is not None else None

    async def retain(self, request: RetainRequest) -> RetainResult:
        return (await self.retain_many([request]))[0]

    async def retain_many(self, requests: list[RetainRequest]) -> list[RetainResult]:
        """Retain a batch with one embedding call and one write per store and bank.

        The batch is all-or-nothing: a store failure undoes every memory of the batch.
        """
        planned: list[tuple[RetainRequest, list[Chunk], EntityExtraction]] = []
        results: dict[int, RetainResult] = {}
        prepared_requests = [(self._profiled(original), index) for index, original in enumerate(requests)]
        chunked = [
            (request, profile, self._chunk(request, profile)) for (request, profile), _ in prepared_requests
        ]
        replays = await self._find_replays([request for request, _, _ in chunked])
        for index, (request, profile, chunks) in enumerate(chunked):
            replay = replays.get((request.bank_id, request.idempotency_key or ""))
            if replay is not None:
                results[index] = replay
            else:
                mode = (profile.entity_extraction if profile else None) or self._settings.entity_extraction
                planned.append((request, chunks, mode))
        texts = [chunk.text for _, chunks, _ in planned for chunk in chunks]
        vectors = iter(await self._stores.embedder.embed(texts) if texts else [])
        batch: list[tuple[RetainRequest, list[_Prepared], dict[str, str], int]] = []
        pending: dict[str, dict[str, str]] = {}  # bank → chunk text → first memory id kept in the batch
        prepared_all: list[list[_Prepared]] = []
        for request, chunks, mode in planned:
            prepared_all.append(
                [
                    _Prepared(
                        chunk,
                        self._memory_id(request, i),
                        next(vectors),
                        await self._entities(chunk.text, mode),
                        i,
                    )
                    for i, chunk in enumerate(chunks)
                ]
            )
        nearest = await self._nearest([r for r, _, _ in planned], prepared_all)
        for (request, chunks, _), prepared, hits in zip(planned, prepared_all, nearest, strict=True):
            if request.deduplicate:
                kept, duplicate_of = self._deduplicate(
                    prepared, hits, pending.setdefault(request.bank_id, {})
                )
            else:
                kept, duplicate_of = prepared, {}
            texts_kept = pending.setdefault(request.bank_id, {})
            for item in kept:
                texts_kept.setdefault(item.chunk.text, item.memory_id)
            batch.append((request, kept, duplicate_of, len(chunks)))
        await self._write(batch)
        planned_results = iter(
            RetainResult(
                memory_ids=[p.memory_id for p in kept],
                bank_id=request.bank_id,
                chunk_count=count,
                duplicate_of=duplicate_of,
                entities=list(dict.fromkeys(e.name for p in kept for e in p.entities)),
            )
            for request, kept, duplicate_of, count in batch
        )
        return [results[i] if i in results else next(planned_results) for i in range(len(requests))]

    def _profiled(self, request: RetainRequest) -> tuple[RetainRequest, ExtractionProfile | None]:
        """The request with its extraction profile applied (none named: unchanged)."""
        if request.extraction_profile is None:
            return request, None
        profile = self._profiles.get(request.extraction_profile)
        if profile is None:
            raise InvalidRequestError(
                f"unknown extraction profile {request.extraction_profile!r} "
                f"(configured: {', '.join(sorted(self._profiles))})",
                field="extraction_profile",
            )
        return apply_profile(request, profile), profile

    def _chunk(self, request: RetainRequest, profile: ExtractionProfile | None = None) -> list[Chunk]:
        content = self._pii.scrub(
            normalize_text(request.content), request.bank_id, request.extraction_profile
        )
        if not content:
            raise InvalidRequestError("content is empty after normalisation", field="content")
        settings = self._settings
        if profile is not None:
            overrides = {
                "chunk_strategy": profile.chunk_strategy,
                "max_chunk_size": profile.max_chunk_size,
                "chunk_overlap": profile.chunk_overlap,
            }
            merged = {**settings.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
            try:
                settings = RetainSettings.model_validate(merged)
            except ValueError as exc:
                raise InvalidRequestError(
                    f"extraction profile {request.extraction_profile!r} does not fit retain settings: {exc}",
                    field="extraction_profile",
                ) from exc
        return chunk_content(
            content,
            request.content_type,
            strategy=settings.chunk_strategy,
            max_size=settings.max_chunk_size,
            overlap=settings.chunk_overlap,
        )

    # ------------------------------------------------------------------ steps

    def _memory_id(self, request: RetainRequest, index: int) -> str:
        if request.idempotency_key:
            name = f"{request.bank_id}\x1f{request.idempotency_key}\x1f{index}"
            return "mem_" + uuid.uuid5(_ID_NAMESPACE, name).hex
        return "mem_" + uuid.uuid4().hex

    async def _find_replays(self, requests: list[RetainRequest]) -> dict[tuple[str, str], RetainResult]:
        """Replays by ``(bank, idempotency key)``: one concurrent lookup per distinct key of the batch."""
        keys = list(dict.fromkeys((r.bank_id, r.idempotency_key) for r in requests if r.idempotency_key))
        found = await asyncio.gather(
            *(
                self._find_replay(RetainRequest(content="-", bank_id=bank, idempotency_key=key))
                for bank, key in keys
            )
        )
        return {(bank, key or ""): replay for (bank, key), replay in zip(keys, found, strict=True) if replay}

    async def _find_replay(self, request: RetainRequest) -> RetainResult | None:
        """Memories already written under this idempotency key (found by metadata filter alone)."""
        assert request.idempotency_key is not None
        probe = [0.0] * self._stores.embedder.dimensions  # the filter selects; the vector is irrelevant
        hits = await self._stores.vector.search_similar(
            probe,
            request.bank_id,
            limit=1000,
            filters=VectorFilters(metadata={IDEMPOTENCY_KEY: request.idempotency_key}),
        )
        if not hits:
            return None
        ids = sorted(hits, key=lambda h: int(str(h.metadata.get("_chunk_index", 0))))
        return RetainResult(
            memory_ids=[h.id for h in ids],
            bank_id=request.bank_id,
            chunk_count=len(ids),
            idempotent_replay=True,
        )

    async def _entities(self, text: str, mode: EntityExtraction) -> list[ExtractedEntity]:
        if mode == "none" or self._stores.graph is None:
            return []
        if mode == "llm" and self._llm_extractor is not None:
            return await self._llm_extractor.extract(text)
        return extract_entities_rules(text)

    async def _nearest(
        self, requests: list[RetainRequest], prepared: list[list[_Prepared]]
    ) -> list[list[list[VectorHit]]]:
        """The stored nearest neighbour of every chunk of the batch (``[]`` each when dedup is off)."""
        if _UNPROBED.get():
            return [[[] for _ in items] for items in prepared]
        by_bank: dict[str, list[list[float]]] = {}
        for request, items in zip(requests, prepared, strict=True):
            if request.deduplicate:
                by_bank.setdefault(request.bank_id, []).extend(item.vector for item in items)
        answers = {bank: iter(await self._probe(bank, vectors)) for bank, vectors in by_bank.items()}
        return [
            [next(answers[r.bank_id]) for _ in items] if r.deduplicate else [[] for _ in items]
            for r, items in zip(requests, prepared, strict=True)
        ]

    async def _probe(self, bank: str, vectors: list[list[float]]) -> list[list[VectorHit]]:
        """Nearest stored memory of each vector: one batched call when the store offers it (told that
        only hits at the dedup threshold matter, so an index may search less), else concurrent single
        searches in groups (a pooled store runs them in parallel)."""
        store = self._stores.vector
        if isinstance(store, BatchSimilaritySearch):
            return await store.search_similar_many(vectors, bank, limit=1, min_score=self._dedup_score())
        found: list[list[VectorHit]] = []
        for start in range(0, len(vectors), _PROBE_GROUP):
            group = vectors[start : start + _PROBE_GROUP]
            found.extend(await asyncio.gather(*(store.search_similar(v, bank, limit=1) for v in group)))
        return found

    def _deduplicate(
        self, prepared: list[_Prepared], nearest: list[list[VectorHit]], pending: Mapping[str, str]
    ) -> tuple[list[_Prepared], dict[str, str]]:
        """Drop chunks whose cosine to a stored memory (``nearest``) reaches the threshold, and exact
        repeats of chunks earlier in the same batch (``pending``: text → memory id)."""
        threshold = self._dedup_score()
        kept: list[_Prepared] = []
        kept_texts: dict[str, str] = {}
        duplicate_of: dict[str, str] = {}
        for index, (item, hits) in enumerate(zip(prepared, nearest, strict=True)):
            if hits and hits[0].score >= threshold and hits[0].id != item.memory_id:
                duplicate_of[str(index)] = hits[0].id
                continue
            twin = pending.get(item.chunk.text) or kept_texts.get(item.chunk.text)
            if twin is not None:
                duplicate_of[str(index)] = twin
                continue
            kept.append(item)
            kept_texts.setdefault(item.chunk.text, item.memory_id)
        return kept, duplicate_of

    def _dedup_score(self) -> float:
        """The dedup threshold as a store score (stores map cosine to (cos + 1) / 2)."""
        return (self._settings.dedup_threshold + 1.0) / 2.0

    def _metadata(self, request: RetainRequest, item: _Prepared) -> Metadata:
        metadata: Metadata = {
            key: self._pii.scrub(value, request.bank_id, request.extraction_profile, field=f"metadata.{key}")
            if isinstance(value, str)
            else value
            for key, value in request.metadata.items()
        }
        metadata["_content_type"] = request.content_type
        metadata["_chunk_index"] = item.chunk_index
        metadata[RETAINED_AT] = datetime.now(UTC).isoformat()  # when it was written (last write, audit)
        if request.source:
            metadata["_source"] = request.source
        if request.idempotency_key:
            metadata[IDEMPOTENCY_KEY] = request.idempotency_key
        if item.chunk.speakers:
            metadata["_speakers"] = list(item.chunk.speakers)
        return metadata

    async def _write(self, batch: list[tuple[RetainRequest, list[_Prepared], dict[str, str], int]]) -> None:
        """Write the batch bank by bank, the stores of one bank concurrently (each store has its own
        connections, so the vector insert overlaps the document and graph writes).

        All or nothing: once every write of the bank has settled (a write still in flight is never
        compensated), what any store took, in this bank and the banks before, is deleted again. When
        several stores fail at once, the first in write order (vector, document, graph) is raised and
        the others are logged.
        """
        written: list[tuple[str, str, list[str]]] = []  # (store kind, bank, ids) to undo on failure
        for bank, entries in self._vector_items(batch).items():
            writes = self._store_writes(bank, entries)
            outcomes = await asyncio.gather(*(write for _, write in writes), return_exceptions=True)
            ids = [v.id for v, _ in entries]
            failures: list[tuple[str, BaseException]] = []
            for (kind, _), outcome in zip(writes, outcomes, strict=True):
                if outcome is None or kind == "graph":  # a failed graph write may have upserted entities
                    written.append((kind, bank, ids))
                if outcome is not None:
                    failures.append((kind, outcome))
            if failures:
                await self._compensate(written)
                self._raise_first(bank, failures)

    def _vector_items(
        self, batch: list[tuple[RetainRequest, list[_Prepared], dict[str, str], int]]
    ) -> dict[str, list[tuple[VectorItem, _Prepared]]]:
        """The kept chunks of the batch as vector items, grouped by bank."""
        by_bank: dict[str, list[tuple[VectorItem, _Prepared]]] = {}
        for request, kept, _, _ in batch:
            for item in kept:
                vector_item = VectorItem(
                    id=item.memory_id,
                    bank_id=request.bank_id,
                    vector=item.vector,
                    text=item.chunk.text,
                    metadata=self._metadata(request, item),
                    tags=list(request.tags),
                    occurred_at=request.occurred_at,
                )
                by_bank.setdefault(request.bank_id, []).append((vector_item, item))
        return by_bank

    def _store_writes(
        self, bank: str, entries: list[tuple[VectorItem, _Prepared]]
    ) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """The bank's write to each configured store, in write order (vector, document, graph)."""
        items = [v for v, _ in entries]
        writes = [("vector", self._write_vectors(items))]
        if self._stores.document is not None:
            writes.append(("document", self._write_documents(bank, items)))
        if self._stores.graph is not None and any(p.entities for _, p in entries):
            writes.append(("graph", self._write_graph(bank, [p for _, p in entries])))
        return writes

    async def _write_vectors(self, items: list[VectorItem]) -> None:
        await self._stores.vector.store_vectors(items)

    async def _write_documents(self, bank: str, items: list[VectorItem]) -> None:
        assert self._stores.document is not None
        docs = [
            Document(id=v.id, text=v.text, metadata=v.metadata, tags=v.tags, occurred_at=v.occurred_at)
            for v in items
        ]
        await self._stores.document.store_documents(docs, bank)

    async def _write_graph(self, bank: str, kept: list[_Prepared]) -> None:
        assert self._stores.graph is not None
        entities: dict[str, Entity] = {}
        associations: list[MemoryEntityAssociation] = []
        for item in kept:
            for extracted in item.entities:
                eid = entity_id(extracted.name)
                entities.setdefault(
                    eid, Entity(id=eid, name=extracted.name, entity_type=extracted.entity_type)
                )
                associations.append(MemoryEntityAssociation(memory_id=item.memory_id, entity_id=eid))
        await self._stores.graph.store_entities(list(entities.values()), bank)
        await self._stores.graph.link_memories_to_entities(associations, bank)

    async def _compensate(self, written: list[tuple[str, str, list[str]]]) -> None:
        """Undo a partial write, every store at once."""
        await asyncio.gather(*(self._undo(kind, bank, ids) for kind, bank, ids in written))

    async def _undo(self, kind: str, bank: str, ids: list[str]) -> None:
        """Delete what one store took; log (never mask the original error) when that fails too."""
        try:
            if kind == "vector":
                await self._stores.vector.delete(ids, bank)
            elif kind == "document" and self._stores.document is not None:
                await self._stores.document.delete(ids, bank)
            elif kind == "graph" and self._stores.graph is not None:
                await self._stores.graph.delete_memories(ids, bank)
        except Exception:
            logger.exception("retain compensation failed", extra={"store": kind, "bank_id": bank})

    @staticmethod
    def _raise_first(bank: str, failures: list[tuple[str, BaseException]]) -> NoReturn:
        """Raise the failure of the first store in write order: an AstrocyteError other than a
        StoreError (a dimension mismatch, say) as it is, anything else as a StoreError naming the
        store. The other stores' failures are logged."""
        (kind, error), *others = failures
        for other_kind, other in others:
            logger.error(
                "retain: the %s store failed too",
                other_kind,
                exc_info=other,
                extra={"store": other_kind, "bank_id": bank},
            )
        if not isinstance(error, Exception) or (
            isinstance(error, AstrocyteError) and not isinstance(error, StoreError)
        ):
            raise error
        raise StoreError(f"retain failed writing the {kind} store; nothing was kept: {error}") from error

"""CrewAI: a memory ``StorageBackend`` over Astrocyte (``pip install "astrocyte[crewai]"``).

>>> storage = AstrocyteStorage(SyncAstrocyte.from_config(), bank_id="crew")          # doctest: +SKIP
>>> memory = Memory(storage=storage, embedder=storage.embedder, llm="gpt-5.4-mini")  # doctest: +SKIP
>>> crew = Crew(agents=[...], tasks=[...], memory=memory)                            # doctest: +SKIP

CrewAI embeds records itself and searches by query vector, so its ``Memory`` must use this storage's
``embedder`` (Astrocyte's own embedding provider): the vectors then live in one space and each
record is retained through Astrocyte's pipeline (PII barrier, full text, entity graph), findable by
Astrocyte recall as well. CrewAI consolidates similar records itself, so Astrocyte's
de-duplication is off for these writes. Scores are cosine similarities in [0, 1].
CrewAI's ``Memory`` calls storage from worker threads: build it over ``SyncAstrocyte``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from crewai.memory.types import MemoryRecord, ScopeInfo

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.errors import DimensionMismatchError
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations._bridge import MemoryBridge
from astrocyte.integrations._records import find
from astrocyte.types import RetainRequest, VectorFilters, VectorHit

__all__ = ["AstrocyteStorage"]

_ALL = "crewai:record"
_RECORD = "crewai_record"  # the MemoryRecord as JSON (without its embedding)


def _scope(path: str | None) -> str:
    """``/a/b`` form: leading slash, no trailing slash, ``/`` for the root."""
    parts = [p for p in (path or "/").split("/") if p]
    return "/" + "/".join(parts)


def _scope_tag(path: str | None) -> str:
    return f"crewai:scope:{_scope(path)}"


def _record_tag(record_id: str) -> str:
    return f"crewai:id:{record_id}"


def _ancestors(scope: str) -> list[str]:
    parts = [p for p in scope.split("/") if p]
    return ["/", *("/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1))]


def _record(hit: VectorHit) -> MemoryRecord:
    return MemoryRecord.model_validate_json(str(hit.metadata[_RECORD]))


def _records(hits: Iterable[VectorHit]) -> dict[str, tuple[MemoryRecord, list[str], float]]:
    """Record id → (record, its chunk ids, best score); a long record is stored as several chunks."""
    found: dict[str, tuple[MemoryRecord, list[str], float]] = {}
    for hit in hits:
        record = _record(hit)
        _, chunks, score = found.get(record.id, (record, [], 0.0))
        found[record.id] = (record, [*chunks, hit.id], max(score, hit.score))
    return found


def _selected(
    record: MemoryRecord,
    categories: list[str] | None,
    metadata_filter: dict[str, Any] | None,
    older_than: datetime | None = None,
) -> bool:
    if categories and not set(categories).intersection(record.categories):
        return False
    if metadata_filter and any(record.metadata.get(k) != v for k, v in metadata_filter.items()):
        return False
    return older_than is None or record.created_at < older_than


class AstrocyteStorage:
    """CrewAI's ``StorageBackend`` protocol (sync and async) over one Astrocyte bank."""

    def __init__(
        self,
        memory: Astrocyte | SyncAstrocyte,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
    ) -> None:
        self._bridge = MemoryBridge(memory, bank_id=bank_id, context=context)

    # ------------------------------------------------------------------ embedder for CrewAI's Memory

    def embedder(self, input: list[str]) -> list[list[float]]:
        """Astrocyte's embedding provider as the callable CrewAI's ``Memory(embedder=...)`` takes."""
        texts = list(input)
        return self._bridge.run(lambda m: m.stores.embedder.embed(texts), hook="embedder")

    # ------------------------------------------------------------------ writes

    def save(self, records: list[MemoryRecord]) -> None:
        self._bridge.run(lambda m: self._save(m, records), hook="save")

    async def asave(self, records: list[MemoryRecord]) -> None:
        await self._bridge.arun(lambda m: self._save(m, records))

    def update(self, record: MemoryRecord) -> None:
        self._bridge.run(lambda m: self._update(m, record), hook="update")

    def delete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        return self._bridge.run(
            lambda m: self._delete(m, scope_prefix, categories, record_ids, older_than, metadata_filter),
            hook="delete",
        )

    async def adelete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        return await self._bridge.arun(
            lambda m: self._delete(m, scope_prefix, categories, record_ids, older_than, metadata_filter)
        )

    def reset(self, scope_prefix: str | None = None) -> None:
        self._bridge.forget(tags=[_scope_tag(scope_prefix)], hook="reset")

    async def _save(self, memory: Astrocyte, records: list[MemoryRecord]) -> None:
        if not records:
            return
        requests = [
            RetainRequest(
                content=record.content,
                bank_id=self._bridge.bank_id,
                occurred_at=record.created_at,
                source=record.source,
                tags=[
                    _ALL,
                    _record_tag(record.id),
                    *(_scope_tag(s) for s in _ancestors(_scope(record.scope))),
                    *(f"crewai:category:{c}" for c in record.categories),
                ],
                metadata={_RECORD: record.model_dump_json(), "crewai_id": record.id},
                deduplicate=False,  # CrewAI consolidates similar records itself
            )
            for record in records
        ]
        await memory.retain_many(requests, context=self._bridge.context)

    async def _update(self, memory: Astrocyte, record: MemoryRecord) -> None:
        """Write the new version, then forget the old chunks (a failure keeps the old record)."""
        old = await self._find(memory, VectorFilters(tags=[_record_tag(record.id)]))
        await self._save(memory, [record])
        if old:
            await self._forget_chunks(memory, [h.id for h in old])

    async def _delete(
        self,
        memory: Astrocyte,
        scope_prefix: str | None,
        categories: list[str] | None,
        record_ids: list[str] | None,
        older_than: datetime | None,
        metadata_filter: dict[str, Any] | None,
    ) -> int:
        tags = [_record_tag(i) for i in record_ids] if record_ids else [_scope_tag(scope_prefix)]
        found = _records(await self._find(memory, VectorFilters(tags=tags)))
        doomed = {
            rid: chunks
            for rid, (record, chunks, _) in found.items()
            if _selected(record, categories, metadata_filter, older_than)
            and (scope_prefix is None or _scope_tag(scope_prefix) in _scope_tags(record))
        }
        await self._forget_chunks(memory, [c for chunks in doomed.values() for c in chunks])
        return len(doomed)

    async def _forget_chunks(self, memory: Astrocyte, chunk_ids: list[str]) -> None:
        if chunk_ids:
            await memory.forget(
                bank_id=self._bridge.bank_id, context=self._bridge.context, memory_ids=chunk_ids
            )

    # ------------------------------------------------------------------ reads

    def search(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        return self._bridge.run(
            lambda m: self._search(
                m, query_embedding, scope_prefix, categories, metadata_filter, limit, min_score
            ),
            hook="search",
        )

    async def asearch(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        return await self._bridge.arun(
            lambda m: self._search(
                m, query_embedding, scope_prefix, categories, metadata_filter, limit, min_score
            )
        )

    def get_record(self, record_id: str) -> MemoryRecord | None:
        return self._bridge.run(lambda m: self._get(m, record_id), hook="get_record")

    def list_records(
        self, scope_prefix: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        records = self._bridge.run(lambda m: self._in_scope(m, scope_prefix), hook="list_records")
        return sorted(records, key=lambda r: r.created_at, reverse=True)[offset : offset + limit]

    def get_scope_info(self, scope: str) -> ScopeInfo:
        path = _scope(scope)
        records = self._bridge.run(lambda m: self._in_scope(m, path), hook="get_scope_info")
        created = [r.created_at for r in records]
        return ScopeInfo(
            path=path,
            record_count=len(records),
            categories=sorted({c for r in records for c in r.categories}),
            oldest_record=min(created, default=None),
            newest_record=max(created, default=None),
            child_scopes=_children(path, records),
        )

    def list_scopes(self, parent: str = "/") -> list[str]:
        path = _scope(parent)
        return _children(path, self._bridge.run(lambda m: self._in_scope(m, path), hook="list_scopes"))

    def list_categories(self, scope_prefix: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self._bridge.run(lambda m: self._in_scope(m, scope_prefix), hook="list_categories"):
            for category in record.categories:
                counts[category] = counts.get(category, 0) + 1
        return counts

    def count(self, scope_prefix: str | None = None) -> int:
        return len(self._bridge.run(lambda m: self._in_scope(m, scope_prefix), hook="count"))

    async def _find(self, memory: Astrocyte, filters: VectorFilters) -> list[VectorHit]:
        return await find(memory, self._bridge.bank_id, self._bridge.context, filters)

    async def _in_scope(self, memory: Astrocyte, scope_prefix: str | None) -> list[MemoryRecord]:
        hits = await self._find(memory, VectorFilters(tags=[_scope_tag(scope_prefix)]))
        return [record for record, _, _ in _records(hits).values()]

    async def _get(self, memory: Astrocyte, record_id: str) -> MemoryRecord | None:
        hits = await self._find(memory, VectorFilters(tags=[_record_tag(record_id)]))
        return _record(hits[0]) if hits else None

    async def _search(
        self,
        memory: Astrocyte,
        query_embedding: list[float],
        scope_prefix: str | None,
        categories: list[str] | None,
        metadata_filter: dict[str, Any] | None,
        limit: int,
        min_score: float,
    ) -> list[tuple[MemoryRecord, float]]:
        dimensions = memory.stores.embedder.dimensions
        if len(query_embedding) != dimensions:
            raise DimensionMismatchError(
                f"query vector has {len(query_embedding)} dimensions, Astrocyte's embedder {dimensions}; "
                "build CrewAI's Memory with embedder=storage.embedder",
                field="query_embedding",
            )
        memory.access.check(self._bridge.context, self._bridge.bank_id, "read")
        # fetch extra: categories and metadata are filtered after the vector search
        pool = limit * 4 if categories or metadata_filter else limit
        hits = await memory.stores.vector.search_similar(
            query_embedding,
            self._bridge.bank_id,
            limit=pool,
            filters=VectorFilters(tags=[_scope_tag(scope_prefix)]),
        )
        ranked = [
            (record, max(0.0, 2.0 * score - 1.0))  # the store's (cos + 1) / 2 back to cosine
            for record, _, score in _records(hits).values()
            if _selected(record, categories, metadata_filter)
        ]
        ranked.sort(key=lambda pair: pair[1], reverse=True)
        return [(r, s) for r, s in ranked if s >= min_score][:limit]


def _scope_tags(record: MemoryRecord) -> set[str]:
    return {_scope_tag(s) for s in _ancestors(_scope(record.scope))}


def _children(parent: str, records: list[MemoryRecord]) -> list[str]:
    depth = len([p for p in parent.split("/") if p])
    children = set()
    for record in records:
        parts = [p for p in _scope(record.scope).split("/") if p]
        if len(parts) > depth:
            children.add("/" + "/".join(parts[: depth + 1]))
    return sorted(children)

"""``Neo4jGraphStore``: the GraphStore SPI on the official async ``neo4j`` driver.

Entities and memories are nodes keyed by ``(bank_id, id)`` (one ``uid`` property) under uniqueness constraints (created on
first use), so every write is a ``MERGE`` upsert and every query is pinned to one bank. Neighbourhoods
are a breadth-first walk, one Cypher query per hop up to ``max_depth`` inside one read transaction,
scored exactly like the built-in stores (:func:`astrocyte.stores.rank_graph_hits`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Concatenate, LiteralString, ParamSpec, TypeVar
from urllib.parse import urlsplit

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import DriverError, Neo4jError

from astrocyte.errors import ConfigError, StoreError
from astrocyte.stores import entity_match_rank, rank_graph_hits
from astrocyte.types import Entity, EntityLink, GraphHit, HealthStatus, MemoryEntityAssociation
from astrocyte_neo4j import _cypher as cypher

__all__ = ["Neo4jGraphStore"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: Bolt URL schemes (the driver's HTTP mode is a preview and lacks transactions we rely on).
_BOLT_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
#: Rows per UNWIND statement in large batches (one transaction still holds the whole batch).
_CHUNK = 1000


def _node_uid(bank_id: str, item_id: str) -> str:
    """The ``uid`` property of an entity or memory node: unique across banks, unambiguous."""
    return json.dumps([bank_id, item_id], ensure_ascii=False)


def _chunks(rows: Sequence[dict[str, Any]]) -> list[Sequence[dict[str, Any]]]:
    return [rows[start : start + _CHUNK] for start in range(0, len(rows), _CHUNK)]


def _entity(record: dict[str, Any]) -> Entity:
    metadata = json.loads(record["metadata"]) if isinstance(record.get("metadata"), str) else {}
    return Entity(
        id=str(record["id"]),
        name=str(record["name"]),
        entity_type=str(record.get("entity_type") or "unknown"),
        aliases=[str(a) for a in record.get("aliases") or []],
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def _merge(old: Entity | None, new: Entity) -> Entity:
    """A re-stored entity: new name/type/metadata win, aliases accumulate; type "unknown" keeps the old."""
    if old is None:
        return new
    aliases = [alias for alias in dict.fromkeys([*old.aliases, *new.aliases]) if alias != new.name]
    return new.model_copy(
        update={
            "aliases": aliases,
            "entity_type": old.entity_type if new.entity_type == "unknown" else new.entity_type,
            "metadata": {**old.metadata, **new.metadata},
        }
    )


def _entity_row(bank: str, entity: Entity) -> dict[str, Any]:
    return {
        "uid": _node_uid(bank, entity.id),
        "id": entity.id,
        "name": entity.name,
        "entity_type": entity.entity_type,
        "aliases": list(entity.aliases),
        "metadata": json.dumps(entity.metadata, ensure_ascii=False),
        "search_terms": [term.casefold() for term in [entity.name, *entity.aliases]],
    }


async def _store_entities_tx(tx: AsyncManagedTransaction, bank: str, entities: list[Entity]) -> None:
    latest: dict[str, Entity] = {}
    for entity in entities:  # a batch may name one entity twice: merge in order
        latest[entity.id] = _merge(latest.get(entity.id), entity)
    keys = [{"uid": _node_uid(bank, entity.id), "id": entity_id} for entity_id in latest]
    result = await tx.run(cypher.LOCK_ENTITIES, bank=bank, rows=keys)
    stored = {str(r["id"]): _entity(r) for r in await result.data() if r["name"] is not None}
    rows = [_entity_row(bank, _merge(stored.get(entity_id), entity)) for entity_id, entity in latest.items()]
    await (await tx.run(cypher.WRITE_ENTITIES, bank=bank, rows=rows)).consume()


async def _write_rows(
    tx: AsyncManagedTransaction, query: LiteralString, bank: str, rows: list[dict[str, Any]]
) -> int:
    """Run an ``UNWIND $rows`` statement in chunks; return the relationships it created."""
    created = 0
    for chunk in _chunks(rows):
        summary = await (await tx.run(query, bank=bank, rows=list(chunk))).consume()
        created += summary.counters.relationships_created
    return created


async def _neighbourhood(
    tx: AsyncManagedTransaction, bank: str, entity_ids: list[str], max_depth: int
) -> tuple[list[tuple[str, str]], dict[str, int], dict[str, float]]:
    """Breadth-first: each entity's depth and best path strength (product of weights clamped to 1)."""
    depths = dict.fromkeys(entity_ids, 0)
    strengths = dict.fromkeys(entity_ids, 1.0)
    frontier = dict(strengths)
    for depth in range(1, max(0, max_depth) + 1):
        result = await tx.run(cypher.NEIGHBOURS, bank=bank, keys=[_node_uid(bank, e) for e in frontier])
        reached: dict[str, float] = {}
        for row in await result.data():
            strength = frontier[str(row["origin"])] * min(1.0, float(row["weight"]))
            other = str(row["other"])
            if strength > reached.get(other, 0.0):
                reached[other] = strength
        frontier = {e: s for e, s in reached.items() if e not in depths}
        if not frontier:
            break
        depths.update(dict.fromkeys(frontier, depth))
        strengths.update(frontier)
    result = await tx.run(cypher.MENTIONS_OF, bank=bank, keys=[_node_uid(bank, e) for e in depths])
    mentions = [(str(r["memory_id"]), str(r["entity_id"])) for r in await result.data()]
    return mentions, depths, strengths


async def _delete_memories_tx(tx: AsyncManagedTransaction, bank: str, ids: list[str]) -> int:
    keys = [_node_uid(bank, memory_id) for memory_id in ids]
    record = await (await tx.run(cypher.FORGET_TOUCHED, keys=keys)).single(strict=True)
    removed, touched = int(record["removed"]), [str(k) for k in record["touched"]]
    await (await tx.run(cypher.DELETE_MEMORIES, keys=keys)).consume()
    if touched:
        await (await tx.run(cypher.DELETE_ORPHANS, keys=touched)).consume()
    return removed


class Neo4jGraphStore:
    """Graph store on Neo4j 5+ (``url``: ``neo4j://`` or ``bolt://host:7687``).

    ``username``/``password``: basic auth (omit ``password`` for a server with auth disabled).
    ``database``: the database to use (default: the server's default database).
    """

    SPI_VERSION: ClassVar[int] = 1

    def __init__(
        self,
        url: str = "neo4j://127.0.0.1:7687",
        username: str = "neo4j",
        password: str | None = None,
        database: str | None = None,
        connection_timeout_s: float = 10.0,
    ) -> None:
        if not url.strip():
            raise ConfigError("url must not be empty", key_path="graph_store_config.url")
        if urlsplit(url).scheme not in _BOLT_SCHEMES:
            raise ConfigError(
                f"cannot use neo4j url {url!r}: the scheme must be one of {', '.join(_BOLT_SCHEMES)}",
                key_path="graph_store_config.url",
                hint="use neo4j://host:7687 or bolt://host:7687",
            )
        try:
            self._driver: AsyncDriver = AsyncGraphDatabase.driver(
                url,
                auth=(username, password) if password is not None else None,
                connection_timeout=connection_timeout_s,
            )
        except (DriverError, ValueError) as exc:
            raise ConfigError(
                f"cannot use neo4j url {url!r}: {exc}",
                key_path="graph_store_config.url",
                hint="use neo4j://host:7687 or bolt://host:7687",
            ) from exc
        self._url = url
        self._database = database
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    # ----------------------------------------------------------------- plumbing

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        try:
            yield
        except (Neo4jError, DriverError, OSError) as exc:
            raise StoreError(f"neo4j {action} failed at {self._url}: {exc}") from exc

    async def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        async with self._schema_lock:
            if self._schema_ready:
                return
            async with self._driver.session(database=self._database) as session:
                for statement in cypher.SCHEMA:
                    await (await session.run(statement)).consume()
            self._schema_ready = True

    async def _write(
        self,
        action: str,
        work: Callable[Concatenate[AsyncManagedTransaction, _P], Awaitable[_R]],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _R:
        async with self._errors(action):
            await self._ensure_schema()
            async with self._driver.session(database=self._database) as session:
                return await session.execute_write(work, *args, **kwargs)

    async def _read(
        self,
        action: str,
        work: Callable[Concatenate[AsyncManagedTransaction, _P], Awaitable[_R]],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _R:
        async with self._errors(action), self._driver.session(database=self._database) as session:
            return await session.execute_read(work, *args, **kwargs)

    # ----------------------------------------------------------------- writes

    async def store_entities(self, entities: list[Entity], bank_id: str) -> list[str]:
        if not entities:
            return []
        await self._write("store_entities", _store_entities_tx, bank_id, entities)
        return [entity.id for entity in entities]

    async def store_links(self, links: list[EntityLink], bank_id: str) -> int:
        if not links:
            return 0
        latest = {(link.source_id, link.target_id, link.relation): link for link in links}
        rows = [
            {
                "source_key": _node_uid(bank_id, source),
                "source_id": source,
                "target_key": _node_uid(bank_id, target),
                "target_id": target,
                "relation": relation,
                "weight": link.weight,
                "metadata": json.dumps(link.metadata, ensure_ascii=False),
            }
            for (source, target, relation), link in latest.items()
        ]
        await self._write("store_links", _write_rows, cypher.UPSERT_LINKS, bank_id, rows)
        return len(rows)

    async def link_memories_to_entities(
        self, associations: list[MemoryEntityAssociation], bank_id: str
    ) -> int:
        if not associations:
            return 0
        pairs = dict.fromkeys((a.memory_id, a.entity_id) for a in associations)
        rows = [
            {
                "memory_key": _node_uid(bank_id, memory_id),
                "memory_id": memory_id,
                "entity_key": _node_uid(bank_id, entity_id),
                "entity_id": entity_id,
            }
            for memory_id, entity_id in pairs
        ]
        return await self._write(
            "link_memories_to_entities", _write_rows, cypher.LINK_MEMORIES, bank_id, rows
        )

    async def delete_memories(self, memory_ids: list[str], bank_id: str) -> int:
        if not memory_ids:
            return 0
        return await self._write(
            "delete_memories", _delete_memories_tx, bank_id, list(dict.fromkeys(memory_ids))
        )

    # ----------------------------------------------------------------- reads

    async def query_neighbors(
        self, entity_ids: list[str], bank_id: str, max_depth: int = 2, limit: int = 20
    ) -> list[GraphHit]:
        if not entity_ids or limit < 1:
            return []
        unique = list(dict.fromkeys(entity_ids))
        mentions, depths, strengths = await self._read(
            "query_neighbors", _neighbourhood, bank_id, unique, max_depth
        )
        return rank_graph_hits(mentions, depths, strengths, limit)

    async def query_entities(self, query: str, bank_id: str, limit: int = 10) -> list[Entity]:
        needle = query.strip().casefold()
        if not needle or limit < 1:
            return []

        async def find(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            return await (await tx.run(cypher.FIND_ENTITIES, bank=bank_id, needle=needle)).data()

        records = await self._read("query_entities", find)
        ranked: list[tuple[tuple[int, int, str, str], Entity]] = []
        for record in records:
            entity = _entity(record)
            rank = entity_match_rank(needle, entity)
            if rank is not None:
                ranked.append(((rank, len(entity.name), entity.name.casefold(), entity.id), entity))
        ranked.sort(key=lambda pair: pair[0])
        return [entity for _, entity in ranked[:limit]]

    # ----------------------------------------------------------------- lifecycle

    async def health(self) -> HealthStatus:
        started = time.perf_counter()
        try:
            await self._driver.verify_connectivity()
        except (Neo4jError, DriverError, OSError) as exc:
            return HealthStatus(healthy=False, message=f"neo4j unreachable at {self._url}: {exc}")
        return HealthStatus(
            healthy=True,
            message=f"neo4j at {self._url}",
            latency_ms=(time.perf_counter() - started) * 1000,
            details={"database": self._database},
        )

    async def close(self) -> None:
        await self._driver.close()

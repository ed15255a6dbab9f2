"""SQLite graph store: entities, typed links between them, and which memories mention which entity.

Tables: ``graph_entities`` (bank, id, name, type, aliases JSON, metadata JSON, a case-folded search key),
``graph_links`` (unique per bank/source/target/relation) and ``graph_mentions`` (memory ↔ entity).
Traversal is a breadth-first search over links in both directions, one SQL query per depth level.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable

from astrocyte.stores._sqlite_db import DEFAULT_BUSY_TIMEOUT_MS, Migration, SqliteStoreBase, dumps, ids_json
from astrocyte.types import Entity, EntityLink, GraphHit, MemoryEntityAssociation

__all__ = ["SqliteGraphStore", "entity_match_rank", "rank_graph_hits"]

_Conn = sqlite3.Connection

_GRAPH_MIGRATIONS: tuple[Migration, ...] = (
    (
        "CREATE TABLE graph_entities (bank_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,"
        " entity_type TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]', metadata TEXT NOT NULL DEFAULT '{}',"
        " search_key TEXT NOT NULL, PRIMARY KEY (bank_id, id))",
        "CREATE TABLE graph_links (bank_id TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,"
        " relation TEXT NOT NULL, weight REAL NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',"
        " PRIMARY KEY (bank_id, source_id, target_id, relation))",
        "CREATE INDEX graph_links_target ON graph_links (bank_id, target_id)",
        "CREATE TABLE graph_mentions (bank_id TEXT NOT NULL, memory_id TEXT NOT NULL,"
        " entity_id TEXT NOT NULL, PRIMARY KEY (bank_id, memory_id, entity_id))",
        "CREATE INDEX graph_mentions_entity ON graph_mentions (bank_id, entity_id)",
    ),
)

_UPSERT_ENTITY = (
    "INSERT INTO graph_entities (bank_id, id, name, entity_type, aliases, metadata, search_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (bank_id, id) DO UPDATE SET name = excluded.name, entity_type = excluded.entity_type,"
    " aliases = excluded.aliases, metadata = excluded.metadata, search_key = excluded.search_key"
)
_UPSERT_LINK = (
    "INSERT INTO graph_links (bank_id, source_id, target_id, relation, weight, metadata)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (bank_id, source_id, target_id, relation)"
    " DO UPDATE SET weight = excluded.weight, metadata = excluded.metadata"
)
_ENTITY_COLUMNS = "id, name, entity_type, aliases, metadata"


def entity_match_rank(needle: str, entity: Entity) -> int | None:
    """How well case-folded ``needle`` names ``entity``: 0 exact name, 1 exact alias, 2 name prefix,
    3 alias prefix, 4 substring of the name, 5 substring of an alias; None when it does not match."""
    name = entity.name.casefold()
    aliases = [alias.casefold() for alias in entity.aliases]
    checks = (
        name == needle,
        needle in aliases,
        name.startswith(needle),
        any(alias.startswith(needle) for alias in aliases),
        needle in name,
        any(needle in alias for alias in aliases),
    )
    return next((rank for rank, hit in enumerate(checks) if hit), None)


def rank_graph_hits(
    mentions: list[tuple[str, str]], depths: dict[str, int], strengths: dict[str, float], limit: int
) -> list[GraphHit]:
    """Score memories reached through entities at known depths.

    Each reached entity a memory mentions is independent evidence of strength ``0.5 * path_strength / (1 + depth)`` (path strength: product of link weights);
    they combine as a noisy-OR, ``score = 1 - prod(1 - strength)``: nearer entities count more, more
    entities count more, and the score stays in [0, 1). A memory's ``depth``/``entity_id`` are those of
    its nearest entity. Ties: depth, then memory id.
    """
    best: dict[str, tuple[int, str]] = {}
    miss: dict[str, float] = {}
    for memory_id, entity_id in sorted(mentions):
        depth = depths[entity_id]
        evidence = 0.5 * strengths.get(entity_id, 1.0) / (1 + depth)
        miss[memory_id] = miss.get(memory_id, 1.0) * (1.0 - evidence)
        if memory_id not in best or depth < best[memory_id][0]:
            best[memory_id] = (depth, entity_id)
    hits = [
        GraphHit(memory_id=memory_id, entity_id=entity_id, depth=depth, score=1.0 - miss[memory_id])
        for memory_id, (depth, entity_id) in best.items()
    ]
    hits.sort(key=lambda hit: (-hit.score, hit.depth, hit.memory_id))
    return hits[:limit]


def _merge(old: Entity, new: Entity) -> Entity:
    """A re-stored entity: new name/type/metadata win, aliases accumulate; type "unknown" keeps the old."""
    aliases = [alias for alias in dict.fromkeys([*old.aliases, *new.aliases]) if alias != new.name]
    return new.model_copy(
        update={
            "aliases": aliases,
            "entity_type": old.entity_type if new.entity_type == "unknown" else new.entity_type,
            "metadata": {**old.metadata, **new.metadata},
        }
    )


def _search_key(entity: Entity) -> str:
    return "\n".join(name.casefold() for name in [entity.name, *entity.aliases])


def _entity(row: tuple[str, str, str, str, str]) -> Entity:
    entity_id, name, entity_type, aliases, metadata = row
    return Entity(
        id=entity_id,
        name=name,
        entity_type=entity_type,
        aliases=json.loads(aliases),
        metadata=json.loads(metadata),
    )


def _load_entities(conn: _Conn, bank_id: str, ids: Iterable[str]) -> dict[str, Entity]:
    rows = conn.execute(
        f"SELECT {_ENTITY_COLUMNS} FROM graph_entities"
        " WHERE bank_id = ? AND id IN (SELECT value FROM json_each(?))",
        (bank_id, ids_json(ids)),
    )
    return {row[0]: _entity(row) for row in rows}


def _neighbours(conn: _Conn, bank_id: str, frontier: dict[str, float]) -> dict[str, float]:
    """Entities linked to any of ``frontier`` (either direction) with their best path strength:
    the frontier entity's strength times the link weight clamped to (0, 1]; links of weight <= 0
    are not followed."""
    rows = conn.execute(
        "SELECT source_id, target_id, weight FROM graph_links"
        " WHERE bank_id = ?1 AND weight > 0 AND source_id IN (SELECT value FROM json_each(?2))"
        " UNION ALL SELECT target_id, source_id, weight FROM graph_links"
        " WHERE bank_id = ?1 AND weight > 0 AND target_id IN (SELECT value FROM json_each(?2))",
        (bank_id, ids_json(frontier)),
    )
    reached: dict[str, float] = {}
    for origin, other, weight in rows:
        strength = frontier[str(origin)] * min(1.0, float(weight))
        if strength > reached.get(str(other), 0.0):
            reached[str(other)] = strength
    return reached


class SqliteGraphStore(SqliteStoreBase):
    """Entity graph in SQLite (scoring: :func:`rank_graph_hits`, :func:`entity_match_rank`).

    ``delete_memories`` removes the memories' associations, then every entity those memories mentioned
    that no remaining memory mentions, together with all links touching such an entity (forget must
    not leave names behind). Entities that were never associated with a memory are left alone.
    """

    _component = "graph"
    _migrations = _GRAPH_MIGRATIONS

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        super().__init__(path=path, busy_timeout_ms=busy_timeout_ms)

    async def store_entities(self, entities: list[Entity], bank_id: str) -> list[str]:
        if not entities:
            return []

        def run(conn: _Conn) -> None:
            merged = _load_entities(conn, bank_id, (entity.id for entity in entities))
            for entity in entities:
                previous = merged.get(entity.id)
                merged[entity.id] = entity if previous is None else _merge(previous, entity)
            conn.executemany(
                _UPSERT_ENTITY,
                (
                    (
                        bank_id,
                        e.id,
                        e.name,
                        e.entity_type,
                        dumps(e.aliases),
                        dumps(e.metadata),
                        _search_key(e),
                    )
                    for e in merged.values()
                ),
            )

        await self._db.awrite(run)
        return [entity.id for entity in entities]

    async def store_links(self, links: list[EntityLink], bank_id: str) -> int:
        if not links:
            return 0
        latest = {(link.source_id, link.target_id, link.relation): link for link in links}
        rows = [
            (bank_id, source, target, relation, link.weight, dumps(link.metadata))
            for (source, target, relation), link in latest.items()
        ]
        await self._db.awrite(lambda conn: conn.executemany(_UPSERT_LINK, rows).close())
        return len(rows)

    async def link_memories_to_entities(
        self, associations: list[MemoryEntityAssociation], bank_id: str
    ) -> int:
        if not associations:
            return 0
        rows = list(dict.fromkeys((bank_id, a.memory_id, a.entity_id) for a in associations))
        return await self._db.awrite(
            lambda conn: int(
                conn.executemany(
                    "INSERT INTO graph_mentions (bank_id, memory_id, entity_id) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    rows,
                ).rowcount
            )
        )

    async def query_neighbors(
        self, entity_ids: list[str], bank_id: str, max_depth: int = 2, limit: int = 20
    ) -> list[GraphHit]:
        if not entity_ids or limit < 1:
            return []

        def run(conn: _Conn) -> list[GraphHit]:
            depths = {entity_id: 0 for entity_id in entity_ids}
            strengths = dict.fromkeys(entity_ids, 1.0)
            frontier = dict(strengths)
            for depth in range(1, max(0, max_depth) + 1):
                reached = _neighbours(conn, bank_id, frontier)
                frontier = {e: w for e, w in reached.items() if e not in depths}
                if not frontier:
                    break
                depths.update(dict.fromkeys(frontier, depth))
                strengths.update(frontier)
            mentions = conn.execute(
                "SELECT memory_id, entity_id FROM graph_mentions"
                " WHERE bank_id = ? AND entity_id IN (SELECT value FROM json_each(?))",
                (bank_id, ids_json(depths)),
            ).fetchall()
            return rank_graph_hits([(str(m), str(e)) for m, e in mentions], depths, strengths, limit)

        return await self._db.aread(run)

    async def query_entities(self, query: str, bank_id: str, limit: int = 10) -> list[Entity]:
        needle = query.strip().casefold()
        if not needle or limit < 1:
            return []
        rows = await self._db.aread(
            lambda conn: conn.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM graph_entities"
                " WHERE bank_id = ? AND instr(search_key, ?) > 0",
                (bank_id, needle),
            ).fetchall()
        )
        ranked: list[tuple[tuple[int, int, str, str], Entity]] = []
        for row in rows:
            entity = _entity(row)
            rank = entity_match_rank(needle, entity)
            if rank is not None:
                ranked.append(((rank, len(entity.name), entity.name.casefold(), entity.id), entity))
        ranked.sort(key=lambda pair: pair[0])
        return [entity for _, entity in ranked[:limit]]

    async def delete_memories(self, memory_ids: list[str], bank_id: str) -> int:
        if not memory_ids:
            return 0

        def run(conn: _Conn) -> int:
            params = (bank_id, ids_json(memory_ids))
            touched = [
                str(row[0])
                for row in conn.execute(
                    "SELECT DISTINCT entity_id FROM graph_mentions"
                    " WHERE bank_id = ? AND memory_id IN (SELECT value FROM json_each(?))",
                    params,
                )
            ]
            removed = conn.execute(
                "SELECT count(DISTINCT memory_id) FROM graph_mentions"
                " WHERE bank_id = ? AND memory_id IN (SELECT value FROM json_each(?))",
                params,
            ).fetchone()[0]
            conn.execute(
                "DELETE FROM graph_mentions"
                " WHERE bank_id = ? AND memory_id IN (SELECT value FROM json_each(?))",
                params,
            )
            orphans = ids_json(
                entity_id
                for entity_id in touched
                if conn.execute(
                    "SELECT 1 FROM graph_mentions WHERE bank_id = ? AND entity_id = ? LIMIT 1",
                    (bank_id, entity_id),
                ).fetchone()
                is None
            )
            in_orphans = "IN (SELECT value FROM json_each(?))"
            conn.execute(
                f"DELETE FROM graph_entities WHERE bank_id = ? AND id {in_orphans}", (bank_id, orphans)
            )
            conn.execute(
                "DELETE FROM graph_links"
                f" WHERE bank_id = ? AND (source_id {in_orphans} OR target_id {in_orphans})",
                (bank_id, orphans, orphans),
            )
            return int(removed)

        return await self._db.awrite(run)

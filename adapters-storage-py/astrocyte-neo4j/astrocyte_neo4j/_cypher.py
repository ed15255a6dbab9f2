"""The Cypher statements of :class:`~astrocyte_neo4j.Neo4jGraphStore` (constants only).

Graph shape, every node carrying its ``bank_id`` and a ``uid`` unique across banks (the JSON pair
``[bank_id, id]``, computed in Python; a single-property uniqueness constraint works on every Neo4j 5
edition): ``(:AstrocyteEntity {uid, bank_id, id, name, entity_type, aliases, metadata, search_terms})``,
``(:AstrocyteMemory {uid, bank_id, id})``, ``(entity)-[:ASTROCYTE_LINK {relation, weight, metadata}]->(entity)``
and ``(memory)-[:MENTIONS]->(entity)``. Relationship types cannot be parameters in Cypher, so the
relation name is a property of one relationship type. Metadata is stored as a JSON string (Neo4j
properties cannot hold maps).
"""

from __future__ import annotations

from typing import LiteralString

__all__ = [
    "DELETE_MEMORIES",
    "DELETE_ORPHANS",
    "FIND_ENTITIES",
    "FORGET_TOUCHED",
    "LINK_MEMORIES",
    "LOCK_ENTITIES",
    "MENTIONS_OF",
    "NEIGHBOURS",
    "SCHEMA",
    "UPSERT_LINKS",
    "WRITE_ENTITIES",
]

#: Idempotent schema: ``uid`` unique per label (backs every MERGE), plus a bank index for name search.
SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT astrocyte_entity_key IF NOT EXISTS FOR (e:AstrocyteEntity) REQUIRE e.uid IS UNIQUE",
    "CREATE CONSTRAINT astrocyte_memory_key IF NOT EXISTS FOR (m:AstrocyteMemory) REQUIRE m.uid IS UNIQUE",
    "CREATE INDEX astrocyte_entity_bank IF NOT EXISTS FOR (e:AstrocyteEntity) ON (e.bank_id)",
)

# MERGE then SET takes each entity's write lock, so concurrent re-stores of one entity serialise and
# the alias merge done in Python between these two statements never loses an alias.
LOCK_ENTITIES: LiteralString = (
    "UNWIND $rows AS row"
    " MERGE (e:AstrocyteEntity {uid: row.uid})"
    " ON CREATE SET e.bank_id = $bank, e.id = row.id"
    " SET e.updated_at = timestamp()"
    " RETURN e.id AS id, e.name AS name, e.entity_type AS entity_type,"
    " e.aliases AS aliases, e.metadata AS metadata"
)

WRITE_ENTITIES: LiteralString = (
    "UNWIND $rows AS row"
    " MATCH (e:AstrocyteEntity {uid: row.uid})"
    " SET e.name = row.name, e.entity_type = row.entity_type, e.aliases = row.aliases,"
    " e.metadata = row.metadata, e.search_terms = row.search_terms"
)

# Endpoints are MERGEd: a link may name an entity not stored yet (it stays unnamed, so unsearchable).
UPSERT_LINKS: LiteralString = (
    "UNWIND $rows AS row"
    " MERGE (s:AstrocyteEntity {uid: row.source_key})"
    " ON CREATE SET s.bank_id = $bank, s.id = row.source_id"
    " MERGE (t:AstrocyteEntity {uid: row.target_key})"
    " ON CREATE SET t.bank_id = $bank, t.id = row.target_id"
    " MERGE (s)-[r:ASTROCYTE_LINK {relation: row.relation}]->(t)"
    " SET r.weight = row.weight, r.metadata = row.metadata"
)

LINK_MEMORIES: LiteralString = (
    "UNWIND $rows AS row"
    " MERGE (e:AstrocyteEntity {uid: row.entity_key})"
    " ON CREATE SET e.bank_id = $bank, e.id = row.entity_id"
    " MERGE (m:AstrocyteMemory {uid: row.memory_key})"
    " ON CREATE SET m.bank_id = $bank, m.id = row.memory_id"
    " MERGE (m)-[:MENTIONS]->(e)"
)

# One hop of the breadth-first traversal, both directions; links of weight <= 0 are not followed.
NEIGHBOURS: LiteralString = (
    "UNWIND $keys AS k"
    " MATCH (a:AstrocyteEntity {uid: k})-[r:ASTROCYTE_LINK]-(b:AstrocyteEntity)"
    " WHERE b.bank_id = $bank AND r.weight > 0"
    " RETURN a.id AS origin, b.id AS other, r.weight AS weight"
)

MENTIONS_OF: LiteralString = (
    "UNWIND $keys AS k"
    " MATCH (m:AstrocyteMemory)-[:MENTIONS]->(e:AstrocyteEntity {uid: k})"
    " WHERE m.bank_id = $bank"
    " RETURN m.id AS memory_id, e.id AS entity_id"
)

# Candidates only: the Python side ranks them (exact name, alias, prefix, substring).
FIND_ENTITIES: LiteralString = (
    "MATCH (e:AstrocyteEntity {bank_id: $bank})"
    " WHERE e.name IS NOT NULL AND any(term IN e.search_terms WHERE term CONTAINS $needle)"
    " RETURN e.id AS id, e.name AS name, e.entity_type AS entity_type,"
    " e.aliases AS aliases, e.metadata AS metadata"
)

FORGET_TOUCHED: LiteralString = (
    "UNWIND $keys AS k"
    " MATCH (m:AstrocyteMemory {uid: k})"
    " OPTIONAL MATCH (m)-[:MENTIONS]->(e:AstrocyteEntity)"
    " RETURN count(DISTINCT m) AS removed, collect(DISTINCT e.uid) AS touched"
)

DELETE_MEMORIES: LiteralString = "UNWIND $keys AS k MATCH (m:AstrocyteMemory {uid: k}) DETACH DELETE m"

# Forget must not leave names behind: an entity no remaining memory mentions goes, with its links.
DELETE_ORPHANS: LiteralString = (
    "UNWIND $keys AS k"
    " MATCH (e:AstrocyteEntity {uid: k})"
    " WHERE NOT EXISTS { MATCH (e)<-[:MENTIONS]-(:AstrocyteMemory) }"
    " DETACH DELETE e"
)

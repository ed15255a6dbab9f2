"""Forward-only, versioned migrations of the Postgres stores' tables.

Each component (``vector``, ``document``, ``graph``) has its own ordered list of migrations and its
own row in ``astrocyte_schema_version``, so stores sharing a schema migrate independently. Migrations
run in one transaction under a database-wide advisory lock: concurrent starters wait, then find the
schema current. A schema written by a newer adapter (a version above the known ones) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from psycopg import AsyncConnection, sql

from astrocyte.errors import ConfigError, StoreError

__all__ = ["MIGRATIONS", "Component", "apply_migrations", "check_schema_name"]

Component = Literal["vector", "document", "graph"]

#: Arbitrary constant: the advisory lock every migrating connection takes.
_LOCK_KEY = 0x61737472  # "astr"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Identifiers are compared byte-wise (COLLATE "C") so ordering matches Python's str ordering.
MIGRATIONS: dict[Component, tuple[Sequence[str], ...]] = {
    "vector": (
        (
            "CREATE EXTENSION IF NOT EXISTS vector SCHEMA public",
            'CREATE TABLE astrocyte_vector_banks (bank_id text COLLATE "C" PRIMARY KEY,'
            " dimensions integer NOT NULL, item_count bigint NOT NULL DEFAULT 0)",
            'CREATE TABLE astrocyte_vectors (bank_id text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,'
            " dimensions integer NOT NULL, embedding public.vector NOT NULL, text text NOT NULL,"
            " metadata jsonb NOT NULL DEFAULT '{}', tags text[] NOT NULL DEFAULT '{}',"
            " occurred_at timestamptz, PRIMARY KEY (bank_id, id))",
        ),
    ),
    "document": (
        (
            'CREATE TABLE astrocyte_document_banks (bank_id text COLLATE "C" PRIMARY KEY,'
            " document_count bigint NOT NULL DEFAULT 0)",
            'CREATE TABLE astrocyte_documents (bank_id text COLLATE "C" NOT NULL,'
            " id text COLLATE \"C\" NOT NULL, text text NOT NULL, metadata jsonb NOT NULL DEFAULT '{}',"
            " tags text[] NOT NULL DEFAULT '{}', occurred_at timestamptz, search tsvector NOT NULL,"
            " PRIMARY KEY (bank_id, id))",
            "CREATE INDEX astrocyte_documents_search ON astrocyte_documents USING gin (search)",
        ),
    ),
    "graph": (
        (
            'CREATE TABLE astrocyte_graph_entities (bank_id text COLLATE "C" NOT NULL,'
            ' id text COLLATE "C" NOT NULL, name text NOT NULL, entity_type text NOT NULL,'
            " aliases text[] NOT NULL DEFAULT '{}', metadata jsonb NOT NULL DEFAULT '{}',"
            " search_keys text[] NOT NULL DEFAULT '{}', PRIMARY KEY (bank_id, id))",
            'CREATE TABLE astrocyte_graph_links (bank_id text COLLATE "C" NOT NULL,'
            ' source_id text COLLATE "C" NOT NULL, target_id text COLLATE "C" NOT NULL,'
            " relation text NOT NULL, weight double precision NOT NULL, metadata jsonb NOT NULL DEFAULT '{}',"
            " PRIMARY KEY (bank_id, source_id, target_id, relation))",
            "CREATE INDEX astrocyte_graph_links_target ON astrocyte_graph_links (bank_id, target_id)",
            'CREATE TABLE astrocyte_graph_mentions (bank_id text COLLATE "C" NOT NULL,'
            ' memory_id text COLLATE "C" NOT NULL, entity_id text COLLATE "C" NOT NULL,'
            " PRIMARY KEY (bank_id, memory_id, entity_id))",
            "CREATE INDEX astrocyte_graph_mentions_entity ON astrocyte_graph_mentions (bank_id, entity_id)",
        ),
    ),
}


def check_schema_name(schema: str) -> str:
    """Accept a plain lower-case identifier; anything else is a :class:`ConfigError` with the fix."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(
            f"schema {schema!r} is not a plain identifier",
            key_path="schema",
            hint="use lower-case letters, digits and underscores, starting with a letter (max 63)",
        )
    return schema


async def apply_migrations(conn: AsyncConnection[object], schema: str, component: Component) -> list[str]:
    """Bring ``component``'s tables in ``schema`` to the newest version; return what was applied."""
    migrations = MIGRATIONS[component]
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute("SELECT set_config('search_path', %s, true)", (f"{schema}, public",))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS astrocyte_schema_version (component text PRIMARY KEY,"
            " version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute(
            "SELECT version FROM astrocyte_schema_version WHERE component = %s", (component,)
        )
        row = await cursor.fetchone()
        current = int(row[0]) if row else 0  # type: ignore[index]
        if current > len(migrations):
            raise StoreError(
                f"the {component} tables in schema {schema!r} are at version {current}, newer than this "
                f"astrocyte-postgres knows ({len(migrations)}): upgrade astrocyte-postgres"
            )
        applied: list[str] = []
        for version in range(current + 1, len(migrations) + 1):
            for statement in migrations[version - 1]:
                await conn.execute(statement)
            applied.append(f"{schema}.{component} v{version}")
        if applied:
            await conn.execute(
                "INSERT INTO astrocyte_schema_version (component, version) VALUES (%s, %s)"
                " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = now()",
                (component, len(migrations)),
            )
    return applied

"""Retain on Postgres writes a bank's three stores concurrently (each on its own pool) and stays
all-or-nothing: whichever stores fail, one or several at once, the tables hold exactly what they held
before the batch. The failing stores are the real Postgres stores with one write refused for one bank."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import psycopg
import pytest
from astrocyte_postgres import PostgresDocumentStore, PostgresGraphStore, PostgresVectorStore
from psycopg import sql

from astrocyte import Astrocyte, StoreError
from astrocyte.config import load_config
from astrocyte.embeddings.hashing import HashingEmbedder
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.testing.faults import REFUSED_BANK, refusing

pytestmark = pytest.mark.backend("postgres")

DOOMED = REFUSED_BANK
KINDS = ("vector", "document", "graph")
_PLAIN: dict[str, type[Any]] = {
    "vector": PostgresVectorStore,
    "document": PostgresDocumentStore,
    "graph": PostgresGraphStore,
}
#: Every table holding memory content (row keys), and the per-bank statistics.
_SNAPSHOT = {
    "astrocyte_vectors": "id",
    "astrocyte_documents": "id",
    "astrocyte_graph_entities": "id",
    "astrocyte_graph_mentions": "memory_id || '/' || entity_id",
    "astrocyte_graph_links": "source_id || '/' || target_id",
}
_STATISTICS = (
    "SELECT coalesce(sum(item_count), 0) FROM astrocyte_vector_banks",
    "SELECT coalesce(sum(document_count), 0) FROM astrocyte_document_banks",
    "SELECT string_agg(bank_id || ':' || lexeme || '=' || df, ' ' ORDER BY bank_id, lexeme)"
    " FROM astrocyte_document_terms WHERE df > 0",
)


def _memory(dsn: str, schema: str, failing: set[str]) -> Astrocyte:
    stores: dict[str, Any] = {}
    for kind in KINDS:
        plain = _PLAIN[kind]
        cls = refusing(plain, kind) if kind in failing else plain
        stores[kind] = cls(dsn=dsn, schema=schema)
    return Astrocyte(
        load_config({"profile": "minimal"}),
        MemoryStores(
            vector=stores["vector"],
            embedder=HashingEmbedder(dimensions=64),
            document=stores["document"],
            graph=stores["graph"],
        ),
    )


def _snapshot(dsn: str, schema: str) -> dict[str, Any]:
    """Every content row (by key) and bank statistic in the test's schema."""
    found: dict[str, Any] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(schema)))
        for table, key in _SNAPSHOT.items():
            rows = conn.execute(f"SELECT bank_id || ':' || {key} FROM {table} ORDER BY 1").fetchall()
            found[table] = [row[0] for row in rows]
        for query in _STATISTICS:
            row = conn.execute(query).fetchone()
            found[query] = row[0] if row else None
    return found


FAILING_SETS = [set(c) for n in (1, 2, 3) for c in combinations(KINDS, n)]


@pytest.mark.parametrize("failing", FAILING_SETS, ids=lambda s: "+".join(k for k in KINDS if k in s))
async def test_failing_stores_leave_the_tables_as_they_were(
    failing: set[str], postgres_dsn: str, postgres_schema: str
) -> None:
    first = next(kind for kind in KINDS if kind in failing)
    async with _memory(postgres_dsn, postgres_schema, failing) as memory:
        await memory.retain("Dev fixes old radios with Frank on weekends.", bank_id="kept")
        before = _snapshot(postgres_dsn, postgres_schema)
        assert before["astrocyte_graph_mentions"], "the earlier memory should reach the graph"
        with pytest.raises(StoreError, match=f"writing the {first} store; nothing was kept: disk full"):
            await memory.retain_many(
                [
                    {"content": "Carla sails to Lisbon with Emil every summer.", "bank_id": "kept"},
                    {"content": "Alice visited Paris with Bob.", "bank_id": DOOMED},
                ]
            )
        assert _snapshot(postgres_dsn, postgres_schema) == before

"""The document store's bulk load: writes skip full-text index upkeep, the exit builds the index."""

from __future__ import annotations

import psycopg
import pytest
from astrocyte_postgres import PostgresDocumentStore

from astrocyte.types import Document

pytestmark = pytest.mark.backend("postgres")


def _search_index(dsn: str, schema: str) -> tuple[str, ...] | None:
    """The index's storage options, or None when it does not exist."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT coalesce(c.reloptions, '{}') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'astrocyte_documents_search'",
            (schema,),
        ).fetchone()
    return None if row is None else tuple(row[0])


async def test_bulk_load_drops_the_search_index_and_builds_it_on_exit(
    postgres_dsn: str, postgres_schema: str
) -> None:
    store = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema)
    try:
        await store.store_documents([Document(id="d0", text="zeppelin over the lake")], "b")
        assert _search_index(postgres_dsn, postgres_schema) == ("fastupdate=off",)
        async with store.bulk_load():
            await store.store_documents(
                [Document(id=f"d{i}", text=f"zeppelin number {i}") for i in range(1, 40)], "b"
            )
            assert _search_index(postgres_dsn, postgres_schema) is None
            inside = await store.search_fulltext("zeppelin lake", "b", limit=3)  # a table scan, same answer
            assert inside[0].id == "d0"
        assert _search_index(postgres_dsn, postgres_schema) == ("fastupdate=off",)
        after = await store.search_fulltext("zeppelin lake", "b", limit=50)
        assert after[0].id == "d0"
        assert len(after) == 40
    finally:
        await store.close()


async def test_a_store_rebuilds_an_index_a_killed_import_left_dropped(
    postgres_dsn: str, postgres_schema: str
) -> None:
    first = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema)
    try:
        await first.store_documents([Document(id="d0", text="zeppelin")], "b")
        async with first._connection() as conn:  # what a bulk load killed before its exit leaves
            await conn.execute("DROP INDEX astrocyte_documents_search")
    finally:
        await first.close()
    second = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema)
    try:
        assert [hit.id for hit in await second.search_fulltext("zeppelin", "b")] == ["d0"]
        assert _search_index(postgres_dsn, postgres_schema) == ("fastupdate=off",)
    finally:
        await second.close()

"""The HNSW index appears once a dimension reaches ``hnsw_build_at`` rows, and searches stay exact."""

from __future__ import annotations

import psycopg
import pytest
from astrocyte_postgres import PostgresVectorStore

from astrocyte.testing._data import random_vectors
from astrocyte.types import VectorItem

pytestmark = pytest.mark.backend("postgres")


def _index_exists(dsn: str, schema: str, dim: int) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            (schema, f"astrocyte_vectors_hnsw_{dim}"),
        ).fetchone()
    return row is not None


async def test_index_is_built_at_the_threshold_and_used_above_it(
    postgres_dsn: str, postgres_schema: str
) -> None:
    dim = 16
    vectors = random_vectors(120, dim, seed=7)
    items = [VectorItem(id=f"m{i:03d}", bank_id="b", vector=v, text=f"t{i}") for i, v in enumerate(vectors)]
    store = PostgresVectorStore(
        dsn=postgres_dsn, schema=postgres_schema, hnsw_build_at=100, exact_search_below=50
    )
    try:
        await store.store_vectors(items[:80])
        assert not _index_exists(postgres_dsn, postgres_schema, dim)
        exact = await store.search_similar(vectors[5], "b", limit=3)
        assert exact[0].id == "m005"

        await store.store_vectors(items[80:])
        assert _index_exists(postgres_dsn, postgres_schema, dim)
        approximate = await store.search_similar(vectors[100], "b", limit=5)  # 120 >= 50: HNSW path
        assert approximate[0].id == "m100"
        assert approximate[0].score == pytest.approx(1.0, abs=1e-4)
        assert len(approximate) == 5
    finally:
        await store.close()


async def test_batched_search_spanning_several_statements_keeps_query_order(
    postgres_dsn: str, postgres_schema: str
) -> None:
    dim = 16
    vectors = random_vectors(200, dim, seed=8)
    store = PostgresVectorStore(dsn=postgres_dsn, schema=postgres_schema)
    try:
        await store.store_vectors(
            [VectorItem(id=f"m{i:03d}", bank_id="b", vector=v, text=f"t{i}") for i, v in enumerate(vectors)]
        )
        queries = vectors[::-1][:150]  # more vectors than one statement takes
        found = await store.search_similar_many(queries, "b", limit=2)
        assert [hits[0].id for hits in found] == [f"m{199 - i:03d}" for i in range(150)]
        singles = [await store.search_similar(q, "b", limit=2) for q in queries]
        assert [[h.id for h in hits] for hits in found] == [[h.id for h in hits] for hits in singles]
    finally:
        await store.close()


async def test_bulk_load_defers_the_index_and_builds_it_once_on_exit(
    postgres_dsn: str, postgres_schema: str
) -> None:
    dim = 16
    vectors = random_vectors(300, dim, seed=9)
    items = [VectorItem(id=f"m{i:03d}", bank_id="b", vector=v, text=f"t{i}") for i, v in enumerate(vectors)]
    store = PostgresVectorStore(
        dsn=postgres_dsn, schema=postgres_schema, hnsw_build_at=50, exact_search_below=0
    )
    try:
        await store.store_vectors(items[:100])
        assert _index_exists(postgres_dsn, postgres_schema, dim)
        async with store.bulk_load():
            await store.store_vectors(items[100:150])
            assert not _index_exists(postgres_dsn, postgres_schema, dim)  # no row-by-row upkeep
            await store.store_vectors(items[150:200])
            inside = await store.search_similar(vectors[170], "b", limit=3)  # exact meanwhile
            assert inside[0].id == "m170"
            assert len(inside) == 3
        assert _index_exists(postgres_dsn, postgres_schema, dim)
        after = await store.search_similar(vectors[120], "b", limit=5)
        assert after[0].id == "m120"
        assert len(after) == 5

        # A failed import still leaves the index built for what it wrote.
        with pytest.raises(RuntimeError, match="import stopped"):
            await _failing_import(store, items[200:])
        assert _index_exists(postgres_dsn, postgres_schema, dim)
        assert (await store.search_similar(vectors[250], "b", limit=1))[0].id == "m250"
    finally:
        await store.close()


async def _failing_import(store: PostgresVectorStore, items: list[VectorItem]) -> None:
    async with store.bulk_load():
        await store.store_vectors(items)
        raise RuntimeError("import stopped")

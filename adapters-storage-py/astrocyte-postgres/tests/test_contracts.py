"""The core contract suites against real PostgreSQL + pgvector."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from astrocyte_postgres import PostgresDocumentStore, PostgresGraphStore, PostgresVectorStore

from astrocyte.testing import (
    BatchSimilaritySearchContract,
    DocumentStoreContract,
    GraphStoreContract,
    NeighborLookupContract,
    VectorStoreContract,
)

pytestmark = pytest.mark.backend("postgres")


class TestPostgresVectorStore(VectorStoreContract, BatchSimilaritySearchContract):
    @pytest.fixture
    async def store(self, postgres_dsn: str, postgres_schema: str) -> AsyncIterator[PostgresVectorStore]:
        store = PostgresVectorStore(dsn=postgres_dsn, schema=postgres_schema)
        yield store
        await store.close()


class TestPostgresVectorStoreThroughHnsw(VectorStoreContract, BatchSimilaritySearchContract):
    """Every search goes through the HNSW index path (exact scan only as the completeness fallback)."""

    @pytest.fixture
    async def store(self, postgres_dsn: str, postgres_schema: str) -> AsyncIterator[PostgresVectorStore]:
        store = PostgresVectorStore(
            dsn=postgres_dsn, schema=postgres_schema, exact_search_below=0, hnsw_build_at=0
        )
        yield store
        await store.close()


class TestPostgresDocumentStore(DocumentStoreContract, NeighborLookupContract):
    @pytest.fixture
    async def store(self, postgres_dsn: str, postgres_schema: str) -> AsyncIterator[PostgresDocumentStore]:
        store = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema)
        yield store
        await store.close()


class TestPostgresGraphStore(GraphStoreContract):
    @pytest.fixture
    async def store(self, postgres_dsn: str, postgres_schema: str) -> AsyncIterator[PostgresGraphStore]:
        store = PostgresGraphStore(dsn=postgres_dsn, schema=postgres_schema)
        yield store
        await store.close()

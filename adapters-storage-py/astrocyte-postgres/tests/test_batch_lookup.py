"""The batched document lookup recall uses to read graph-only hits, against real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from astrocyte_postgres import PostgresDocumentStore

from astrocyte.testing import DocumentBatchLookupContract

pytestmark = pytest.mark.backend("postgres")


class TestPostgresDocumentBatchLookup(DocumentBatchLookupContract):
    @pytest.fixture
    async def store(self, postgres_dsn: str, postgres_schema: str) -> AsyncIterator[PostgresDocumentStore]:
        store = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema)
        yield store
        await store.close()

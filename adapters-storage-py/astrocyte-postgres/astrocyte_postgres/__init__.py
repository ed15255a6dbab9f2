"""PostgreSQL storage for Astrocyte: pgvector vectors, tsvector full text, a relational entity graph.

All three stores take ``dsn`` (or ``$ASTROCYTE_POSTGRES_DSN``) and ``schema``; they may share one
database and schema. Registered as ``postgres`` and ``pgvector`` in the vector, document and graph
store entry-point groups.
"""

from __future__ import annotations

from astrocyte_postgres._schema import MIGRATIONS
from astrocyte_postgres.document import PostgresDocumentStore
from astrocyte_postgres.graph import PostgresGraphStore
from astrocyte_postgres.store import DSN_ENV, PostgresStoreBase
from astrocyte_postgres.vector import PostgresVectorStore

__all__ = [
    "DSN_ENV",
    "MIGRATIONS",
    "PostgresDocumentStore",
    "PostgresGraphStore",
    "PostgresStoreBase",
    "PostgresVectorStore",
]

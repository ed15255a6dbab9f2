"""The embedded default stores: vectors, full text and the entity graph in one SQLite file.

Stdlib ``sqlite3`` only (no extensions): vectors are float32 blobs searched with numpy, full text uses
the built-in FTS5 with ``bm25()``, the graph is three plain tables. All three stores default to
``$ASTROCYTE_HOME/memory.db`` (``ASTROCYTE_HOME`` defaults to ``./.astrocyte``, created on demand) and
may share that file: each store owns tables with its own prefix (``vec_``, ``doc_``, ``graph_``), has
its own row in ``astrocyte_schema`` and opens its own connection. ``path=":memory:"`` gives a private
in-memory database per store.

Every method is bank-scoped in SQL and every write call is one transaction. Blocking work runs in a
worker thread (``asyncio.to_thread``) on a lock-guarded connection; WAL mode, ``synchronous=NORMAL``
and a busy timeout let several stores and processes share the file. After ``close()`` every method
raises :class:`~astrocyte.errors.StoreError` (``health()`` reports unhealthy); ``sqlite3`` errors are
wrapped in ``StoreError`` too.
"""

from __future__ import annotations

from astrocyte.stores._sqlite_db import default_db_path
from astrocyte.stores._sqlite_documents import SqliteDocumentStore
from astrocyte.stores._sqlite_graph import SqliteGraphStore
from astrocyte.stores._sqlite_vector import SqliteVectorStore

__all__ = ["SqliteDocumentStore", "SqliteGraphStore", "SqliteVectorStore", "default_db_path"]

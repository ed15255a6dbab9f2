"""SQLite document store: FTS5 full-text search ranked with the built-in ``bm25()``.

Documents live in ``doc_items``; ``doc_fts`` is an external-content FTS5 index over their text, kept in
step by triggers. The FTS5 tokenizer is ``porter unicode61 remove_diacritics 2`` (stemmed, accent- and
case-insensitive). BM25 statistics (document frequencies, average length) are computed by FTS5 over
the whole table, i.e. across banks; only the hits are bank-scoped.

Retain order is the row order (``pk``) within a bank; schema version 2 indexes ``(bank_id, pk)`` so
:meth:`SqliteDocumentStore.get_neighbors` reads the turns around a hit with two index seeks each.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Final

from astrocyte.stores._filters import matches_filters
from astrocyte.stores._sqlite_db import (
    DEFAULT_BUSY_TIMEOUT_MS,
    Migration,
    SqliteStoreBase,
    dumps,
    epoch_us,
    ids_json,
    iso,
    parse_iso,
    time_bounds,
)
from astrocyte.stores._text import tokenize
from astrocyte.types import Document, DocumentHit, NeighborDocument, VectorFilters

__all__ = ["MAX_QUERY_TERMS", "SqliteDocumentStore", "fts_query"]

_Conn = sqlite3.Connection
_Param = str | int | None

#: At most this many distinct query terms reach FTS5 (a longer query keeps its first terms).
MAX_QUERY_TERMS: Final = 64

_DOCUMENT_MIGRATIONS: tuple[Migration, ...] = (
    (
        "CREATE TABLE doc_items (pk INTEGER PRIMARY KEY, bank_id TEXT NOT NULL, id TEXT NOT NULL,"
        " text TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',"
        " occurred_at TEXT, occurred_us INTEGER, UNIQUE (bank_id, id))",
        "CREATE VIRTUAL TABLE doc_fts USING fts5(text, content='doc_items', content_rowid='pk',"
        " tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER doc_items_ai AFTER INSERT ON doc_items BEGIN"
        " INSERT INTO doc_fts (rowid, text) VALUES (new.pk, new.text); END",
        "CREATE TRIGGER doc_items_ad AFTER DELETE ON doc_items BEGIN"
        " INSERT INTO doc_fts (doc_fts, rowid, text) VALUES ('delete', old.pk, old.text); END",
        "CREATE TRIGGER doc_items_au AFTER UPDATE OF text ON doc_items BEGIN"
        " INSERT INTO doc_fts (doc_fts, rowid, text) VALUES ('delete', old.pk, old.text);"
        " INSERT INTO doc_fts (rowid, text) VALUES (new.pk, new.text); END",
    ),
    # v2: neighbour lookup walks a bank in retain order.
    ("CREATE INDEX doc_items_bank_order ON doc_items (bank_id, pk)",),
)

_DOC_COLUMNS = "id, text, metadata, tags, occurred_at"

# For each target id: itself (pk NULL) plus up to ?3 rows on each side in its bank, by pk.
_NEIGHBORS_SQL = (
    "WITH t(id, pk) AS (SELECT id, pk FROM doc_items"
    " WHERE bank_id = ?1 AND id IN (SELECT value FROM json_each(?2)))"
    " SELECT t.id, t.pk, NULL, NULL, NULL, NULL, NULL, NULL FROM t"
    " UNION ALL"
    " SELECT t.id, t.pk, d.pk, d.id, d.text, d.metadata, d.tags, d.occurred_at FROM t JOIN doc_items d"
    " ON d.pk IN (SELECT pk FROM doc_items WHERE bank_id = ?1 AND pk < t.pk ORDER BY pk DESC LIMIT ?3)"
    " UNION ALL"
    " SELECT t.id, t.pk, d.pk, d.id, d.text, d.metadata, d.tags, d.occurred_at FROM t JOIN doc_items d"
    " ON d.pk IN (SELECT pk FROM doc_items WHERE bank_id = ?1 AND pk > t.pk ORDER BY pk LIMIT ?3)"
)

_UPSERT_DOCUMENT = (
    "INSERT INTO doc_items (bank_id, id, text, metadata, tags, occurred_at, occurred_us)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (bank_id, id) DO UPDATE SET text = excluded.text, metadata = excluded.metadata,"
    " tags = excluded.tags, occurred_at = excluded.occurred_at, occurred_us = excluded.occurred_us"
)


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression that cannot be a syntax error: the query's terms, each quoted, ORed.

    None when the query has no searchable term.
    """
    terms = list(dict.fromkeys(term for term in tokenize(query) if term.strip()))[:MAX_QUERY_TERMS]
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _filter_sql(filters: VectorFilters | None) -> tuple[str, list[_Param]]:
    """SQL narrowing for tags and time (exactness is re-checked in Python with ``matches_filters``)."""
    if filters is None:
        return "", []
    clauses: list[str] = []
    params: list[_Param] = []
    if filters.tags:
        wanted = list(dict.fromkeys(filters.tags))
        if filters.tag_mode == "all":
            clauses.append(
                "(SELECT count(DISTINCT t.value) FROM json_each(d.tags) t"
                " WHERE t.value IN (SELECT value FROM json_each(?))) = ?"
            )
            params += [dumps(wanted), len(wanted)]
        else:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(d.tags) t WHERE t.value IN (SELECT value FROM json_each(?)))"
            )
            params.append(dumps(wanted))
    bounds = time_bounds(filters)
    if bounds is not None:
        clauses.append("d.occurred_us IS NOT NULL")
        start, end = bounds
        if start is not None:
            clauses.append("d.occurred_us >= ?")
            params.append(start)
        if end is not None:
            clauses.append("d.occurred_us < ?")
            params.append(end)
    return "".join(f" AND {clause}" for clause in clauses), params


def _document(row: tuple[str, str, str, str, str | None]) -> Document:
    return Document(
        id=row[0],
        text=row[1],
        metadata=json.loads(row[2]),
        tags=json.loads(row[3]),
        occurred_at=parse_iso(row[4]),
    )


class SqliteDocumentStore(SqliteStoreBase):
    """Full-text search over memory texts with FTS5 ``bm25()``; scores are ``-bm25`` (higher = better).

    Any query text is accepted: it is reduced to plain terms, each quoted, joined with OR, so FTS5
    operators and punctuation in user input never raise.
    """

    _component = "document"
    _migrations = _DOCUMENT_MIGRATIONS

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        super().__init__(path=path, busy_timeout_ms=busy_timeout_ms)

    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        if not documents:
            return []
        rows = [
            (
                bank_id,
                doc.id,
                doc.text,
                dumps(doc.metadata),
                dumps(doc.tags),
                iso(doc.occurred_at),
                epoch_us(doc.occurred_at),
            )
            for doc in documents
        ]
        await self._db.awrite(lambda conn: conn.executemany(_UPSERT_DOCUMENT, rows).close())
        return [doc.id for doc in documents]

    async def store_document(self, document: Document, bank_id: str) -> str:
        """Single-document convenience over :meth:`store_documents`."""
        return (await self.store_documents([document], bank_id))[0]

    async def search_fulltext(
        self, query: str, bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[DocumentHit]:
        match = fts_query(query)
        if match is None or limit < 1:
            return []
        where, params = _filter_sql(filters)
        sql = (
            "SELECT d.id, d.text, d.metadata, d.tags, d.occurred_at, bm25(doc_fts) AS rank"
            " FROM doc_fts JOIN doc_items d ON d.pk = doc_fts.rowid"
            f" WHERE doc_fts MATCH ? AND d.bank_id = ?{where} ORDER BY rank, d.pk"
        )

        def run(conn: _Conn) -> list[DocumentHit]:
            hits: list[DocumentHit] = []
            for doc_id, text, metadata, tags, occurred_at, rank in conn.execute(
                sql, [match, bank_id, *params]
            ):
                hit = DocumentHit(
                    id=doc_id,
                    text=text,
                    score=max(0.0, -float(rank)),
                    metadata=json.loads(metadata),
                    tags=json.loads(tags),
                    occurred_at=parse_iso(occurred_at),
                )
                if matches_filters(
                    filters, tags=hit.tags, metadata=hit.metadata, occurred_at=hit.occurred_at
                ):
                    hits.append(hit)
                    if len(hits) == limit:
                        break
            return hits

        return await self._db.aread(run)

    async def get_document(self, document_id: str, bank_id: str) -> Document | None:
        found = await self.get_documents([document_id], bank_id)
        return found[0] if found else None

    async def get_documents(self, ids: list[str], bank_id: str) -> list[Document]:
        """The documents of ``ids`` in ``bank_id``, in the order of ``ids``; one query for all of them."""
        if not ids:
            return []
        rows = await self._db.aread_small(
            lambda conn: conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM doc_items"
                " WHERE bank_id = ? AND id IN (SELECT value FROM json_each(?))",
                (bank_id, ids_json(ids)),
            ).fetchall()
        )
        by_id = {row[0]: _document(row) for row in rows}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    async def get_neighbors(
        self, ids: list[str], bank_id: str, window: int = 1
    ) -> dict[str, list[NeighborDocument]]:
        """Up to ``window`` documents on each side of every id, in retain order: one statement
        (two index range scans per id on ``(bank_id, pk)``), each neighbour decoded once."""
        if not ids or window < 1:
            return {}

        def run(conn: _Conn) -> dict[str, list[NeighborDocument]]:
            rows = conn.execute(_NEIGHBORS_SQL, (bank_id, ids_json(ids), window)).fetchall()
            decoded: dict[int, Document] = {}
            sides: dict[str, tuple[int, list[int], list[int]]] = {}
            for target_id, target_pk, pk, *columns in rows:
                _, before, after = sides.setdefault(target_id, (target_pk, [], []))
                if pk is None:  # the target itself, listed so ids without neighbours still appear
                    continue
                (before if pk < target_pk else after).append(pk)
                if pk not in decoded:
                    decoded[pk] = _document(tuple(columns))
            return {
                target_id: [
                    NeighborDocument(offset=pos - len(before), document=decoded[pk])
                    for pos, pk in enumerate(sorted(before))
                ]
                + [
                    NeighborDocument(offset=pos, document=decoded[pk])
                    for pos, pk in enumerate(sorted(after), start=1)
                ]
                for target_id, (_, before, after) in sides.items()
            }

        return await self._db.aread_small(run)

    async def delete(self, ids: list[str], bank_id: str) -> int:
        if not ids:
            return 0
        return await self._db.awrite(
            lambda conn: int(
                conn.execute(
                    "DELETE FROM doc_items WHERE bank_id = ? AND id IN (SELECT value FROM json_each(?))",
                    (bank_id, ids_json(ids)),
                ).rowcount
            )
        )

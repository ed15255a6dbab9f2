"""DocumentStore on PostgreSQL full text search: a ``tsvector`` column with a GIN index.

Texts are NFKC-normalised and case-folded in Python before ``to_tsvector(language, ...)`` so matching
does not depend on the server's locale. A query is split into words (punctuation and operators are
separators, never syntax) and OR-ed. Ranking is BM25-like: each query word contributes
``idf(word) * ts_rank_cd(search, word, 1)`` (cover density, normalised by log length), with
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` from the bank's document count ``N`` (kept exact in
``astrocyte_document_banks``) and the word's document frequency ``df`` (counted through the GIN index,
capped at ``df_cap``). ``score = raw / (1 + raw)`` maps the sum into [0, 1), order preserved.

Ranking every match of a very common word costs time linear in the matches, so candidates are the
documents containing a word rarer than ``df_cap`` (they outrank the rest); when every word is that
common, the first ``df_cap`` matches are ranked. Below ``df_cap`` matches the ranking is exact.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

import psycopg

from astrocyte.errors import ConfigError
from astrocyte.types import Document, DocumentHit, VectorFilters
from astrocyte_postgres._rows import as_utc, filter_sql, metadata_json
from astrocyte_postgres.store import PostgresStoreBase

__all__ = ["PostgresDocumentStore", "query_words"]

_COLUMNS = "id, text, metadata, tags, occurred_at"
# Letters and digits of any script; everything else (operators, quotes, emoji) separates words.
_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def query_words(query: str) -> list[str]:
    """Distinct words of ``query`` in order, folded; safe to quote inside ``to_tsquery`` syntax."""
    return list(dict.fromkeys(_WORD.findall(_fold(query))))


class PostgresDocumentStore(PostgresStoreBase):
    """Full-text store (config: ``dsn``, ``schema``, pool sizes, ``language``, ``df_cap``).

    ``language`` is a PostgreSQL text search configuration (``english``, ``german``, ``simple``...);
    documents are indexed with the language in force when they are written.
    """

    _component = "document"

    def __init__(
        self,
        *,
        dsn: str | None = None,
        schema: str = "public",
        min_pool_size: int = 1,
        max_pool_size: int = 10,
        migrate_on_start: bool = True,
        connect_timeout_s: float = 10.0,
        language: str = "english",
        df_cap: int = 1000,
    ) -> None:
        super().__init__(
            dsn=dsn,
            schema=schema,
            min_pool_size=min_pool_size,
            max_pool_size=max_pool_size,
            migrate_on_start=migrate_on_start,
            connect_timeout_s=connect_timeout_s,
        )
        self._language = language
        self._language_checked = False
        self._df_cap = max(1, df_cap)

    async def _check_language(self, conn: Any) -> None:
        if self._language_checked:
            return
        try:
            await conn.execute("SELECT %s::regconfig", (self._language,))
        except psycopg.errors.UndefinedObject as exc:
            raise ConfigError(
                f"text search language {self._language!r} is not known to this PostgreSQL server",
                key_path="document_store_config.language",
                hint="use a configuration listed by `SELECT cfgname FROM pg_ts_config` (e.g. english, simple)",
            ) from exc
        self._language_checked = True

    # ----------------------------------------------------------------- writes

    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        if not documents:
            return []
        latest = {doc.id: doc for doc in documents}
        rows = [latest[key] for key in sorted(latest)]  # one lock order for every writer
        async with self._connection() as conn:
            await self._check_language(conn)
            async with conn.transaction():
                # Upserting the bank row locks it, so writers of a bank serialise and the count stays exact.
                await conn.execute(
                    "INSERT INTO astrocyte_document_banks (bank_id) VALUES (%s)"
                    " ON CONFLICT (bank_id) DO UPDATE SET bank_id = EXCLUDED.bank_id",
                    (bank_id,),
                )
                cursor = await conn.execute(
                    "INSERT INTO astrocyte_documents"
                    " (bank_id, id, text, metadata, tags, occurred_at, search)"
                    " SELECT %s, u.id, u.text, u.metadata::jsonb,"
                    " ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), u.occurred_at,"
                    " to_tsvector(%s::regconfig, u.folded)"
                    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[])"
                    " AS u(id, text, metadata, tags, occurred_at, folded)"
                    " ON CONFLICT (bank_id, id) DO UPDATE SET text = EXCLUDED.text,"
                    " metadata = EXCLUDED.metadata, tags = EXCLUDED.tags,"
                    " occurred_at = EXCLUDED.occurred_at, search = EXCLUDED.search"
                    " RETURNING (xmax = 0)",
                    (
                        bank_id,
                        self._language,
                        [d.id for d in rows],
                        [d.text for d in rows],
                        [metadata_json(d.metadata) for d in rows],
                        [json.dumps(d.tags, ensure_ascii=False) for d in rows],
                        [as_utc(d.occurred_at) for d in rows],
                        [_fold(d.text) for d in rows],
                    ),
                )
                inserted = sum(1 for (fresh,) in await cursor.fetchall() if fresh)
                if inserted:
                    await conn.execute(
                        "UPDATE astrocyte_document_banks SET document_count = document_count + %s"
                        " WHERE bank_id = %s",
                        (inserted, bank_id),
                    )
        return [doc.id for doc in documents]

    async def delete(self, ids: list[str], bank_id: str) -> int:
        return await self._delete_counted("astrocyte_documents", "document_count", ids, bank_id)

    # ----------------------------------------------------------------- reads

    async def search_fulltext(
        self, query: str, bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[DocumentHit]:
        words = query_words(query)
        if not words or limit < 1:
            return []
        async with self._connection() as conn:
            await self._check_language(conn)
            weighted = await self._weigh(conn, words, bank_id)
            if not weighted:
                return []
            where, params = filter_sql(filters)
            # Candidates: every document with a word rarer than df_cap (those dominate the ranking)
            # plus the first df_cap matches of the common words, so latency stays bounded.
            rare = [query for _, query, df in weighted if df < self._df_cap]
            rank = " + ".join(["%s * ts_rank_cd(d.search, %s::tsquery, 1)"] * len(weighted))
            candidates = (
                f"SELECT id FROM astrocyte_documents WHERE bank_id = %s AND search @@ %s::tsquery{where}"
                " UNION "
                if rare
                else ""
            ) + (
                "SELECT id FROM (SELECT id FROM astrocyte_documents"
                f" WHERE bank_id = %s AND search @@ %s::tsquery{where} LIMIT {self._df_cap:d}) AS common"
            )
            cursor = await conn.execute(
                f"WITH candidates AS ({candidates})"
                f" SELECT {', '.join('d.' + c for c in _COLUMNS.split(', '))}, {rank} AS raw"
                " FROM astrocyte_documents d JOIN candidates c ON c.id = d.id WHERE d.bank_id = %s"
                " ORDER BY raw DESC, d.id LIMIT %s",
                (
                    *((bank_id, _any(rare), *params) if rare else ()),
                    bank_id,
                    _any([query for _, query, _ in weighted]),
                    *params,
                    *(value for idf, query, _ in weighted for value in (idf, query)),
                    bank_id,
                    limit,
                ),
            )
            rows = await cursor.fetchall()
        return [
            DocumentHit(
                id=row[0],
                text=row[1],
                metadata=row[2],
                tags=list(row[3]),
                occurred_at=row[4],
                score=float(row[5]) / (1.0 + float(row[5])),
            )
            for row in rows
        ]

    async def _weigh(self, conn: Any, words: list[str], bank_id: str) -> list[tuple[float, str, int]]:
        """``(idf, tsquery text, df)`` of each query word found in the bank (stopwords and absent words drop)."""
        cursor = await conn.execute(
            "SELECT t.q::text, (SELECT count(*) FROM (SELECT 1 FROM astrocyte_documents d"
            "   WHERE d.bank_id = %(bank)s AND d.search @@ t.q LIMIT %(cap)s) AS hits),"
            " (SELECT document_count FROM astrocyte_document_banks WHERE bank_id = %(bank)s)"
            " FROM (SELECT to_tsquery(%(lang)s::regconfig, quote_literal(w)) AS q"
            "   FROM unnest(%(words)s::text[]) AS w) AS t WHERE numnode(t.q) > 0",
            {"bank": bank_id, "cap": self._df_cap, "lang": self._language, "words": words},
        )
        weighted: list[tuple[float, str, int]] = []
        for query, df, count in await cursor.fetchall():
            if df:
                total = max(int(count or 0), int(df))
                weighted.append((math.log(1 + (total - df + 0.5) / (df + 0.5)), str(query), int(df)))
        return weighted

    async def get_document(self, document_id: str, bank_id: str) -> Document | None:
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM astrocyte_documents WHERE bank_id = %s AND id = %s",
                (bank_id, document_id),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        return Document(id=row[0], text=row[1], metadata=row[2], tags=list(row[3]), occurred_at=row[4])

    async def get_documents(self, ids: list[str], bank_id: str) -> list[Document]:
        """The documents of ``ids`` in ``bank_id``, in the order of ``ids``: one query for all of them
        (recall reads the text of graph-only hits this way instead of one round trip per id)."""
        if not ids:
            return []
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM astrocyte_documents WHERE bank_id = %s AND id = ANY(%s)",
                (bank_id, list(dict.fromkeys(ids))),
            )
            rows = await cursor.fetchall()
        # Rows were validated on the way in: construct without re-validating (recall's hot path).
        by_id = {
            row[0]: Document.model_construct(
                id=row[0], text=row[1], metadata=row[2], tags=list(row[3]), occurred_at=row[4]
            )
            for row in rows
        }
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def _any(queries: list[str]) -> str:
    """One tsquery matching any of ``queries``."""
    return " | ".join(f"({query})" for query in queries)

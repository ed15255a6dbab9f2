"""DocumentStore on PostgreSQL full text search: a ``tsvector`` column with a GIN index.

Texts are NFKC-normalised and case-folded in Python before ``to_tsvector(language, ...)`` so matching
does not depend on the server's locale. A query is split into words (punctuation and operators are
separators, never syntax) and OR-ed. Ranking is BM25-like: each query word contributes
``idf(word) * ts_rank_cd(search, word, 1)`` (cover density, normalised by log length), with
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` from the bank's document count ``N`` (kept exact in
``astrocyte_document_banks``) and the word's document frequency ``df`` (kept exact per bank and lexeme in
``astrocyte_document_terms`` by every write and delete, so weighing a query is a few index lookups).
``score = raw / (1 + raw)`` maps the sum into [0, 1), order preserved.

Ranking every match of a common word costs time linear in the matches, so at most ``rank_cap``
candidates (never fewer than the limit) are ranked, collected through the GIN index class by class in
roughly descending score: documents with every query word, then those with a word and any other
(rarest word first), then those with any one word (rarest first). Collection stops once the cap is
reached, so later classes are never read. With at most ``rank_cap`` matches the ranking is exact.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from astrocyte.errors import ConfigError
from astrocyte.types import Document, DocumentHit, NeighborDocument, VectorFilters
from astrocyte_postgres._rows import as_utc, filter_sql, metadata_json
from astrocyte_postgres.store import PostgresStoreBase

__all__ = ["PostgresDocumentStore", "query_words"]

_COLUMNS = "id, text, metadata, tags, occurred_at"

# Upsert documents and move the bank's term statistics by the lexemes gained and lost (replaced
# documents count out with their old text). One statement: every part sees the rows as they were.
_UPSERT = """
WITH input AS (
    SELECT u.id, u.text, u.metadata::jsonb AS metadata, ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)) AS tags,
           u.occurred_at, to_tsvector(%(lang)s::regconfig, u.folded) AS search, u.seq
    FROM unnest(%(ids)s::text[], %(texts)s::text[], %(metadata)s::text[], %(tags)s::text[],
                %(occurred_at)s::timestamptz[], %(folded)s::text[], %(seqs)s::bigint[])
         AS u(id, text, metadata, tags, occurred_at, folded, seq)
),
replaced AS (
    SELECT d.search FROM astrocyte_documents d JOIN input i ON d.bank_id = %(bank)s AND d.id = i.id
),
written AS (
    INSERT INTO astrocyte_documents (bank_id, id, text, metadata, tags, occurred_at, search, seq)
    SELECT %(bank)s, id, text, metadata, tags, occurred_at, search, seq FROM input
    ON CONFLICT (bank_id, id) DO UPDATE SET text = EXCLUDED.text, metadata = EXCLUDED.metadata,
        tags = EXCLUDED.tags, occurred_at = EXCLUDED.occurred_at, search = EXCLUDED.search
    RETURNING search, (xmax = 0) AS fresh
),
moved AS (
    SELECT lexeme, sum(delta) AS delta FROM (
        SELECT unnest(tsvector_to_array(search)) AS lexeme, 1 AS delta FROM written
        UNION ALL SELECT unnest(tsvector_to_array(search)), -1 FROM replaced
    ) AS changes GROUP BY lexeme HAVING sum(delta) <> 0
),
counted AS (
    INSERT INTO astrocyte_document_terms AS t (bank_id, lexeme, df) SELECT %(bank)s, lexeme, delta FROM moved
    ON CONFLICT (bank_id, lexeme) DO UPDATE SET df = t.df + EXCLUDED.df
)
SELECT count(*) FILTER (WHERE fresh) FROM written
"""

# Delete documents, count their lexemes out of the term statistics and the bank's document count.
_DELETE = """
WITH gone AS (
    DELETE FROM astrocyte_documents WHERE bank_id = %(bank)s AND id = ANY(%(ids)s) RETURNING search
),
lost AS (
    SELECT lexeme, count(*) AS n FROM gone, unnest(tsvector_to_array(gone.search)) AS lexeme GROUP BY lexeme
),
counted AS (
    UPDATE astrocyte_document_terms t SET df = t.df - lost.n FROM lost
    WHERE t.bank_id = %(bank)s AND t.lexeme = lost.lexeme
),
banked AS (
    UPDATE astrocyte_document_banks SET document_count = document_count - (SELECT count(*) FROM gone)
    WHERE bank_id = %(bank)s
)
SELECT count(*) FROM gone
"""

# Up to %(window)s documents on each side of each target, in the bank's retain order; a target with no
# neighbours still comes back once (NULL neighbour), so found-but-alone ids are told from unknown ones.
_NEIGHBORS = """
SELECT t.id, t.seq, n.seq, n.id, n.text, n.metadata, n.tags, n.occurred_at
FROM astrocyte_documents t
LEFT JOIN LATERAL (
    (SELECT seq, id, text, metadata, tags, occurred_at FROM astrocyte_documents b
     WHERE b.bank_id = t.bank_id AND b.seq < t.seq ORDER BY b.seq DESC LIMIT %(window)s)
    UNION ALL
    (SELECT seq, id, text, metadata, tags, occurred_at FROM astrocyte_documents a
     WHERE a.bank_id = t.bank_id AND a.seq > t.seq ORDER BY a.seq LIMIT %(window)s)
) AS n ON true
WHERE t.bank_id = %(bank)s AND t.id = ANY(%(ids)s)
"""

# Letters and digits of any script; everything else (operators, quotes, emoji) separates words.
_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def query_words(query: str) -> list[str]:
    """Distinct words of ``query`` in order, folded; safe to quote inside ``to_tsquery`` syntax."""
    return list(dict.fromkeys(_WORD.findall(_fold(query))))


class PostgresDocumentStore(PostgresStoreBase):
    """Full-text store (config: ``dsn``, ``schema``, pool sizes, ``language``, ``rank_cap``).

    ``language`` is a PostgreSQL text search configuration (``english``, ``german``, ``simple``...);
    documents are indexed with the language in force when they are written.
    """

    _component = "document"
    # PostgreSQL would replan the ranking statement on every search (~0.3-0.4 ms at 100k): its custom
    # plans look cheaper than the generic one, yet have the same shape (each class one index scan,
    # read lazily under the cap). Prepared statements keep the generic plan instead.
    _session_settings = ("plan_cache_mode=force_generic_plan",)

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
        rank_cap: int = 200,
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
        self._prepared = False
        self._bulk_depth = 0
        self._rank_cap = max(1, rank_cap)

    async def _prepare(self, conn: Any) -> None:
        """Once per store, before its first read or write: the full-text index exists (a bulk load that
        never reached its exit, a killed import say, leaves it dropped) and so does the language."""
        if self._prepared:
            return
        if not self._bulk_depth:
            await _build_search_index(conn)
        try:
            await conn.execute("SELECT %s::regconfig", (self._language,))
        except psycopg.errors.UndefinedObject as exc:
            raise ConfigError(
                f"text search language {self._language!r} is not known to this PostgreSQL server",
                key_path="document_store_config.language",
                hint="use a configuration listed by `SELECT cfgname FROM pg_ts_config` (e.g. english, simple)",
            ) from exc
        self._prepared = True

    # ----------------------------------------------------------------- writes

    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        if not documents:
            return []
        latest = {doc.id: doc for doc in documents}
        rows = [latest[key] for key in sorted(latest)]  # one lock order for every writer
        async with self._connection() as conn:
            await self._prepare(conn)
            async with conn.transaction():
                seq = await self._retain_order(conn, list(latest))
                # Upserting the bank row locks it, so writers of a bank serialise and the count stays exact.
                await conn.execute(
                    "INSERT INTO astrocyte_document_banks (bank_id) VALUES (%s)"
                    " ON CONFLICT (bank_id) DO UPDATE SET bank_id = EXCLUDED.bank_id",
                    (bank_id,),
                )
                cursor = await conn.execute(
                    _UPSERT,
                    {
                        "bank": bank_id,
                        "lang": self._language,
                        "ids": [d.id for d in rows],
                        "texts": [d.text for d in rows],
                        "metadata": [metadata_json(d.metadata) for d in rows],
                        "tags": [json.dumps(d.tags, ensure_ascii=False) for d in rows],
                        "occurred_at": [as_utc(d.occurred_at) for d in rows],
                        "folded": [_fold(d.text) for d in rows],
                        "seqs": [seq[d.id] for d in rows],
                    },
                )
                row = await cursor.fetchone()
                inserted = int(row[0]) if row else 0
                if inserted:
                    await conn.execute(
                        "UPDATE astrocyte_document_banks SET document_count = document_count + %s"
                        " WHERE bank_id = %s",
                        (inserted, bank_id),
                    )
        return [doc.id for doc in documents]

    @contextlib.asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Writes inside skip full-text index upkeep, which halves the write rate (4,700 vs 2,600
        documents/s measured at 20k): the index is dropped and built again, in bulk (0.2 s for 20k
        documents), when the block exits. Meanwhile searches scan the table: correct, slower."""
        self._bulk_depth += 1
        try:
            if self._bulk_depth == 1:
                async with self._connection() as conn:
                    await conn.execute("DROP INDEX IF EXISTS astrocyte_documents_search")
            yield
        finally:
            self._bulk_depth -= 1
            if not self._bulk_depth:
                async with self._connection() as conn:
                    await _build_search_index(conn)
                    await conn.execute("ANALYZE astrocyte_documents")  # estimates after the import

    @staticmethod
    async def _retain_order(conn: Any, ids: list[str]) -> dict[str, int]:
        """A fresh sequence number per id, increasing in ``ids`` order (the batch's retain order; rows
        are written in id order for locking). An upsert keeps its row's old number."""
        cursor = await conn.execute(
            "SELECT nextval(pg_get_serial_sequence('astrocyte_documents', 'seq'))"
            " FROM generate_series(1, %s)",
            (len(ids),),
        )
        numbers = sorted(int(row[0]) for row in await cursor.fetchall())
        return dict(zip(ids, numbers, strict=True))

    async def delete(self, ids: list[str], bank_id: str) -> int:
        if not ids:
            return 0
        async with self._connection() as conn, conn.transaction():
            # Lock the bank row first, as writers do, so the count and term statistics stay exact.
            cursor = await conn.execute(
                "SELECT 1 FROM astrocyte_document_banks WHERE bank_id = %s FOR UPDATE", (bank_id,)
            )
            if await cursor.fetchone() is None:
                return 0
            cursor = await conn.execute(_DELETE, {"bank": bank_id, "ids": list(dict.fromkeys(ids))})
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # ----------------------------------------------------------------- reads

    async def search_fulltext(
        self, query: str, bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[DocumentHit]:
        words = query_words(query)
        if not words or limit < 1:
            return []
        async with self._connection() as conn:
            await self._prepare(conn)
            weighted = await self._weigh(conn, words, bank_id)
            if not weighted:
                return []
            statement, params = self._ranking_statement(weighted, bank_id, limit, filters)
            cursor = await conn.execute(statement, params, prepare=True)
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

    def _ranking_statement(
        self, weighted: list[tuple[float, str, int]], bank_id: str, limit: int, filters: VectorFilters | None
    ) -> tuple[str, list[Any]]:
        """One statement ranking at most ``max(rank_cap, limit)`` candidates, collected best class first."""
        where, filter_params = filter_sql(filters)
        branches = _candidate_classes([query for _, query, _ in sorted(weighted, key=lambda w: w[2])])
        select = (
            f"SELECT {_COLUMNS}, search FROM astrocyte_documents WHERE bank_id = %s AND search @@ %s::tsquery"
        )
        # Exclusions stay out of the indexed tsquery: GIN would have to walk every excluded posting list.
        union = " UNION ALL ".join(
            f"({select}{' AND NOT search @@ %s::tsquery' if excluded else ''}{where})"
            for _, excluded in branches
        )
        rank = " + ".join(["%s * ts_rank_cd(c.search, %s::tsquery, 1)"] * len(weighted))
        statement = (
            f"SELECT c.id, c.text, c.metadata, c.tags, c.occurred_at, {rank} AS raw"
            f" FROM ({union} LIMIT %s) AS c"
            " ORDER BY raw DESC, c.id LIMIT %s"
        )
        params: list[Any] = [value for idf, query, _ in weighted for value in (idf, query)]
        for wanted, excluded in branches:
            params.extend((bank_id, wanted, *([excluded] if excluded else []), *filter_params))
        params.extend((max(self._rank_cap, limit), limit))
        return statement, params

    async def _weigh(self, conn: Any, words: list[str], bank_id: str) -> list[tuple[float, str, int]]:
        """``(idf, tsquery text, df)`` of each query word found in the bank (stopwords and absent words drop).

        ``df`` comes from the bank's term statistics; a word the parser splits into several lexemes
        (matched as a phrase) takes its rarest lexeme's count, an upper bound of the phrase's.
        """
        cursor = await conn.execute(
            # One primary-key lookup per lexeme: as a join, a stale row estimate for the bank (a table
            # not analysed since it filled) made the planner hash the bank's every term (7 ms at 10k).
            "SELECT t.q::text, (SELECT min(coalesce((SELECT s.df FROM astrocyte_document_terms s"
            "   WHERE s.bank_id = %(bank)s AND s.lexeme = l.lexeme), 0))"
            "   FROM unnest(tsvector_to_array(t.v)) AS l(lexeme)),"
            " (SELECT document_count FROM astrocyte_document_banks WHERE bank_id = %(bank)s)"
            " FROM (SELECT to_tsquery(%(lang)s::regconfig, quote_literal(w)) AS q,"
            "   to_tsvector(%(lang)s::regconfig, w) AS v FROM unnest(%(words)s::text[]) AS w) AS t"
            " WHERE numnode(t.q) > 0",
            {"bank": bank_id, "lang": self._language, "words": words},
            prepare=True,
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
        by_id = {
            row[0]: Document(id=row[0], text=row[1], metadata=row[2], tags=list(row[3]), occurred_at=row[4])
            for row in rows
        }
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    async def get_neighbors(
        self, ids: list[str], bank_id: str, window: int = 1
    ) -> dict[str, list[NeighborDocument]]:
        """Up to ``window`` documents on each side of every id in retain order: one statement, two
        index range scans on ``(bank_id, seq)`` per id."""
        if not ids or window < 1:
            return {}
        async with self._connection() as conn:
            cursor = await conn.execute(
                _NEIGHBORS, {"bank": bank_id, "ids": list(dict.fromkeys(ids)), "window": window}
            )
            rows = await cursor.fetchall()
        sides: dict[str, tuple[int, list[tuple[int, Document]]]] = {}
        for target_id, target_seq, seq, *columns in rows:
            _, found = sides.setdefault(target_id, (int(target_seq), []))
            if seq is not None:
                doc_id, text, metadata, tags, occurred_at = columns
                document = Document(
                    id=doc_id, text=text, metadata=metadata, tags=list(tags), occurred_at=occurred_at
                )
                found.append((int(seq), document))
        return {target_id: _offsets(target_seq, found) for target_id, (target_seq, found) in sides.items()}


def _offsets(target_seq: int, found: list[tuple[int, Document]]) -> list[NeighborDocument]:
    """Neighbours sorted by retain order, numbered -k..-1 before the target and 1..k after it."""
    before = sorted((pair for pair in found if pair[0] < target_seq), key=lambda pair: pair[0])
    after = sorted((pair for pair in found if pair[0] > target_seq), key=lambda pair: pair[0])
    return [
        NeighborDocument(offset=pos - len(before), document=doc) for pos, (_, doc) in enumerate(before)
    ] + [NeighborDocument(offset=pos, document=doc) for pos, (_, doc) in enumerate(after, start=1)]


async def _build_search_index(conn: Any) -> None:
    """The GIN index of full-text search, unless it exists (as migration v1 and v4 define it)."""
    cursor = await conn.execute(
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'astrocyte_documents_search'"
    )
    if await cursor.fetchone() is not None:
        return
    async with conn.transaction():
        await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        await conn.execute(
            "CREATE INDEX IF NOT EXISTS astrocyte_documents_search ON astrocyte_documents"
            " USING gin (search) WITH (fastupdate = off)"
        )


def _candidate_classes(queries: list[str]) -> list[tuple[str, str | None]]:
    """Disjoint classes of matches, ``(wanted, excluded)`` tsqueries, in collection order (``queries``:
    rarest word first).

    Documents with every word; then, for each word, those with it and any later word (but none of
    the earlier ones); then those with exactly one word. Roughly descending score, and no document
    twice, so a cap on the collected rows keeps the best documents and wastes nothing.
    """
    if len(queries) == 1:
        return [(queries[0], None)]
    words = [f"({query})" for query in queries]
    every = " & ".join(words)
    pairs = [
        (f"{word} & ({' | '.join(words[i + 1 :])})", " | ".join(words[:i]) if i else every)
        for i, word in enumerate(words[:-1])
    ]
    singles = [
        (word, " | ".join(other for j, other in enumerate(words) if j != i)) for i, word in enumerate(words)
    ]
    return [(every, None), *pairs, *singles]

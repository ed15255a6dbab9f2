"""SQLite vector store: float32 blobs, numpy cosine over a per-bank in-process matrix cache."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from astrocyte.errors import DimensionMismatchError, InvalidRequestError
from astrocyte.stores._filters import validate_vector
from astrocyte.stores._sqlite_db import (
    DEFAULT_BUSY_TIMEOUT_MS,
    Migration,
    SqliteStoreBase,
    dumps,
    epoch_us,
    ids_json,
    iso,
    parse_iso,
)
from astrocyte.stores._sqlite_vector_cache import BankMatrix, MatrixRows, unit_rows
from astrocyte.types import VectorFilters, VectorHit, VectorItem

__all__ = ["SqliteVectorStore"]

_Conn = sqlite3.Connection

_VECTOR_MIGRATIONS: tuple[Migration, ...] = (
    (
        # One row per bank: its fixed dimension and a generation bumped by every write, so a cached
        # matrix is known stale even when another connection (or process) changed the bank.
        "CREATE TABLE vec_banks (bank_id TEXT PRIMARY KEY, dim INTEGER NOT NULL,"
        " generation INTEGER NOT NULL DEFAULT 1)",
        "CREATE TABLE vec_items (pk INTEGER PRIMARY KEY, bank_id TEXT NOT NULL, id TEXT NOT NULL,"
        " vector BLOB NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',"
        " tags TEXT NOT NULL DEFAULT '[]', occurred_at TEXT, occurred_us INTEGER,"
        " UNIQUE (bank_id, id))",
        # Secondary index entries carry the rowid, so this also gives insertion order within a bank.
        "CREATE INDEX vec_items_bank ON vec_items (bank_id)",
    ),
)

_UPSERT_VECTOR = (
    "INSERT INTO vec_items (bank_id, id, vector, text, metadata, tags, occurred_at, occurred_us)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (bank_id, id) DO UPDATE SET vector = excluded.vector, text = excluded.text,"
    " metadata = excluded.metadata, tags = excluded.tags, occurred_at = excluded.occurred_at,"
    " occurred_us = excluded.occurred_us"
)
_LOAD_CHUNK = 4096
#: Spare rows allocated when a bank's matrix is loaded, so the next appends need no copy.
_LOAD_SLACK = 0.125


def _load_matrix(conn: _Conn, bank_id: str, dim: int, generation: int) -> BankMatrix:
    count = int(conn.execute("SELECT count(*) FROM vec_items WHERE bank_id = ?", (bank_id,)).fetchone()[0])
    matrix = BankMatrix.empty(dim, generation, capacity=count + int(count * _LOAD_SLACK) + 16)
    cursor = conn.execute(
        "SELECT id, vector, tags, metadata, occurred_us FROM vec_items WHERE bank_id = ? ORDER BY pk",
        (bank_id,),
    )
    while chunk := cursor.fetchmany(_LOAD_CHUNK):
        vectors = np.frombuffer(b"".join(row[1] for row in chunk), dtype=np.float32).reshape(-1, dim)
        rows = MatrixRows(
            ids=[row[0] for row in chunk],
            unit=unit_rows(vectors.copy()),
            when_us=[row[4] for row in chunk],
            tags=[[] if row[2] == "[]" else json.loads(row[2]) for row in chunk],
            metadata_json=[row[3] for row in chunk],
        )
        matrix = matrix.appended(rows, generation)
    return matrix


def _matrix_rows(items: Sequence[VectorItem], dim: int) -> MatrixRows:
    vectors = np.asarray([item.vector for item in items], dtype=np.float32).reshape(-1, dim)
    return MatrixRows(
        ids=[item.id for item in items],
        unit=unit_rows(vectors),
        when_us=[epoch_us(item.occurred_at) for item in items],
        tags=[list(item.tags) for item in items],
        metadata_json=[dumps(item.metadata) for item in items],
    )


@dataclass(frozen=True, slots=True)
class _Append:
    """Rows a committed write adds to a bank's cached matrix."""

    bank_id: str
    matrix: BankMatrix
    rows: MatrixRows
    generation: int


def _any_exists(conn: _Conn, bank_id: str, ids: list[str]) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM vec_items WHERE bank_id = ? AND id IN (SELECT value FROM json_each(?)) LIMIT 1",
            (bank_id, ids_json(ids)),
        ).fetchone()
        is not None
    )


def _group_by_bank(items: list[VectorItem]) -> dict[str, tuple[int, list[VectorItem]]]:
    """Items per bank with the batch's dimension for that bank; validates every vector first."""
    groups: dict[str, tuple[int, list[VectorItem]]] = {}
    for index, item in enumerate(items):
        dim, members = groups.setdefault(item.bank_id, (len(item.vector), []))
        validate_vector(item.vector, dim, field=f"items[{index}].vector")
        members.append(item)
    return groups


class SqliteVectorStore(SqliteStoreBase):
    """Vectors as float32 blobs; search is numpy cosine over a per-bank in-process matrix cache.

    The dimension of a bank is fixed by its first write and checked on every later one (a bank whose
    vectors were all deleted accepts a new dimension). Each bank's matrix is cached in this process
    after its first search. Every write bumps the bank's generation counter in the database and every
    search compares it with the cache's, so writes made through other connections or processes are
    seen. This store's own writes of new ids extend the cached matrix (no reload); a delete, a
    rewrite of an existing id, or a foreign write drops it and the next search reloads the bank.
    """

    _component = "vector"
    _migrations = _VECTOR_MIGRATIONS

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        super().__init__(path=path, busy_timeout_ms=busy_timeout_ms)
        self._matrices: dict[str, BankMatrix] = {}

    # ------------------------------------------------------------------ writes

    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        if not items:
            return []
        # Validation and encoding are CPU work too: keep them off the event loop with the write.
        await asyncio.to_thread(self._write_batch, items)
        return [item.id for item in items]

    def _write_batch(self, items: list[VectorItem]) -> None:
        groups = _group_by_bank(items)
        self._db.write(lambda conn: self._store(conn, groups), self._apply_appends)

    def _store(self, conn: _Conn, groups: dict[str, tuple[int, list[VectorItem]]]) -> list[_Append]:
        """Write every bank's items; return the cache appends to apply once committed."""
        appends: list[_Append] = []
        for bank_id, (dim, members) in groups.items():
            row = conn.execute(
                "SELECT dim, generation FROM vec_banks WHERE bank_id = ?", (bank_id,)
            ).fetchone()
            if row is not None and row[0] != dim and _bank_has_vectors(conn, bank_id):
                raise DimensionMismatchError(
                    f"bank {bank_id!r} holds {row[0]}-dimensional vectors, got {dim}", field="vector"
                )
            latest = list({item.id: item for item in members}.values())  # a repeated id: last one wins
            cached = self._matrices.pop(bank_id, None)
            generation = conn.execute(
                "INSERT INTO vec_banks (bank_id, dim) VALUES (?, ?) ON CONFLICT (bank_id)"
                " DO UPDATE SET dim = excluded.dim, generation = generation + 1 RETURNING generation",
                (bank_id, dim),
            ).fetchone()[0]
            if (
                cached is not None
                and row is not None
                and (cached.generation, cached.dim) == (row[1], dim)
                and not _any_exists(conn, bank_id, [item.id for item in latest])
            ):
                # Only new ids and nobody else wrote since the cache was built: extend it in place.
                appends.append(_Append(bank_id, cached, _matrix_rows(latest, dim), int(generation)))
            conn.executemany(
                _UPSERT_VECTOR,
                (
                    (
                        bank_id,
                        item.id,
                        np.asarray(item.vector, dtype=np.float32).tobytes(),
                        item.text,
                        dumps(item.metadata),
                        dumps(item.tags),
                        iso(item.occurred_at),
                        epoch_us(item.occurred_at),
                    )
                    for item in latest
                ),
            )
        return appends

    def _apply_appends(self, appends: list[_Append]) -> None:
        for append in appends:
            self._matrices[append.bank_id] = append.matrix.appended(append.rows, append.generation)

    async def delete(self, ids: list[str], bank_id: str) -> int:
        if not ids:
            return 0

        def run(conn: _Conn) -> int:
            self._matrices.pop(bank_id, None)
            count = conn.execute(
                "DELETE FROM vec_items WHERE bank_id = ? AND id IN (SELECT value FROM json_each(?))",
                (bank_id, ids_json(ids)),
            ).rowcount
            if count:
                conn.execute("UPDATE vec_banks SET generation = generation + 1 WHERE bank_id = ?", (bank_id,))
            return int(count)

        return await self._db.awrite(run)

    # ------------------------------------------------------------------ reads

    async def search_similar(
        self,
        query_vector: list[float],
        bank_id: str,
        limit: int = 10,
        filters: VectorFilters | None = None,
    ) -> list[VectorHit]:
        if limit < 1:
            return []
        return await asyncio.to_thread(self._search, query_vector, bank_id, limit, filters)

    def _search(
        self, query: list[float], bank_id: str, limit: int, filters: VectorFilters | None
    ) -> list[VectorHit]:
        matrix = self._db.read(lambda conn: self._current_matrix(conn, bank_id))
        if matrix is None or matrix.size == 0:
            return []
        validate_vector(query, matrix.dim, field="query_vector")
        ranked = matrix.top(query, limit, filters)  # numpy outside the lock: searches overlap
        if not ranked:
            return []
        rows = self._hit_rows(bank_id, {item_id for item_id, _ in ranked})
        return _hits(ranked, rows)

    async def search_similar_many(
        self,
        query_vectors: list[list[float]],
        bank_id: str,
        limit: int = 10,
        min_score: float | None = None,
    ) -> list[list[VectorHit]]:
        """``search_similar`` of each vector: one matrix product and one row fetch for the batch."""
        if limit < 1 or not query_vectors:
            return [[] for _ in query_vectors]
        return await asyncio.to_thread(self._search_many, query_vectors, bank_id, limit, min_score)

    def _search_many(
        self, queries: list[list[float]], bank_id: str, limit: int, min_score: float | None
    ) -> list[list[VectorHit]]:
        matrix = self._db.read(lambda conn: self._current_matrix(conn, bank_id))
        if matrix is None or matrix.size == 0:
            return [[] for _ in queries]
        for query in queries:
            validate_vector(query, matrix.dim, field="query_vectors")
        ranked = matrix.top_many(queries, limit)
        if min_score is not None:
            ranked = [
                [(item_id, score) for item_id, score in found if score >= min_score] for found in ranked
            ]
        rows = self._hit_rows(bank_id, {item_id for found in ranked for item_id, _ in found})
        return [_hits(found, rows) for found in ranked]

    def _hit_rows(self, bank_id: str, ids: set[str]) -> dict[str, tuple[str, str, str, str, str | None]]:
        """The stored columns of ``ids`` (one read; ids deleted meanwhile are absent)."""
        return self._db.read(
            lambda conn: {
                row[0]: row
                for row in conn.execute(
                    "SELECT id, text, metadata, tags, occurred_at FROM vec_items"
                    " WHERE bank_id = ? AND id IN (SELECT value FROM json_each(?))",
                    (bank_id, ids_json(ids)),
                )
            }
        )

    def _current_matrix(self, conn: _Conn, bank_id: str) -> BankMatrix | None:
        row = conn.execute("SELECT dim, generation FROM vec_banks WHERE bank_id = ?", (bank_id,)).fetchone()
        if row is None:
            self._matrices.pop(bank_id, None)
            return None
        dim, generation = int(row[0]), int(row[1])
        cached = self._matrices.get(bank_id)
        if cached is None or cached.generation != generation:
            cached = _load_matrix(conn, bank_id, dim, generation)
            self._matrices[bank_id] = cached
        return cached

    async def list_vectors(self, bank_id: str, offset: int = 0, limit: int = 100) -> list[VectorItem]:
        if limit < 1:
            return []
        if offset < 0:
            raise InvalidRequestError("offset must not be negative", field="offset")
        rows = await self._db.aread(
            lambda conn: conn.execute(
                "SELECT id, vector, text, metadata, tags, occurred_at FROM vec_items"
                " WHERE bank_id = ? ORDER BY pk LIMIT ? OFFSET ?",
                (bank_id, limit, offset),
            ).fetchall()
        )
        return [
            VectorItem(
                id=item_id,
                bank_id=bank_id,
                vector=np.frombuffer(blob, dtype=np.float32).tolist(),
                text=text,
                metadata=json.loads(metadata),
                tags=json.loads(tags),
                occurred_at=parse_iso(occurred_at),
            )
            for item_id, blob, text, metadata, tags, occurred_at in rows
        ]

    async def list_banks(self) -> list[str]:
        rows = await self._db.aread(
            lambda conn: conn.execute(
                "SELECT bank_id FROM vec_banks b"
                " WHERE EXISTS (SELECT 1 FROM vec_items i WHERE i.bank_id = b.bank_id) ORDER BY bank_id"
            ).fetchall()
        )
        return [str(row[0]) for row in rows]

    async def close(self) -> None:
        await super().close()
        self._matrices.clear()


def _hits(
    ranked: list[tuple[str, float]], rows: dict[str, tuple[str, str, str, str, str | None]]
) -> list[VectorHit]:
    # An id deleted between the matrix read and the row read is dropped rather than returned stale.
    return [
        VectorHit(
            id=item_id,
            text=rows[item_id][1],
            score=score,
            metadata=json.loads(rows[item_id][2]),
            tags=json.loads(rows[item_id][3]),
            occurred_at=parse_iso(rows[item_id][4]),
        )
        for item_id, score in ranked
        if item_id in rows
    ]


def _bank_has_vectors(conn: _Conn, bank_id: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM vec_items WHERE bank_id = ? LIMIT 1", (bank_id,)).fetchone() is not None
    )

"""The in-process search matrix of one vector bank (pure numpy, no I/O).

A :class:`BankMatrix` is an immutable snapshot: unit-normalised float32 rows plus the columns filters
need (tag → row positions, ``occurred_at`` as epoch microseconds, metadata JSON). Searches run on a
snapshot without holding the database lock. Appending returns a new snapshot that shares the growable
buffers: rows below an older snapshot's ``size`` are never written again, so older snapshots stay
valid while newer ones see the appended rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import cast

import numpy as np
import numpy.typing as npt

from astrocyte.stores._filters import matches_filters
from astrocyte.stores._sqlite_db import time_bounds
from astrocyte.types import VectorFilters

__all__ = ["BankMatrix", "MatrixRows", "unit_rows"]

_Positions = npt.NDArray[np.intp]
_NO_POSITIONS: _Positions = np.zeros(0, dtype=np.intp)
_GROWTH = 1.5


def unit_rows(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``matrix`` with every non-zero row scaled to length 1 (in place; zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    matrix /= norms[:, None]
    return matrix


@dataclass(frozen=True, slots=True)
class MatrixRows:
    """Rows to append, in insertion order (``unit`` already normalised)."""

    ids: list[str]
    unit: npt.NDArray[np.float32]
    when_us: list[int | None]
    tags: list[list[str]]
    metadata_json: list[str]


@dataclass(slots=True)
class _Columns:
    """Growable buffers shared by successive snapshots; ``ids`` holds the rows written so far."""

    unit: npt.NDArray[np.float32]
    when_us: npt.NDArray[np.int64]
    has_when: npt.NDArray[np.bool_]
    ids: list[str]
    metadata_json: list[str]

    @classmethod
    def allocate(cls, capacity: int, dim: int) -> _Columns:
        return cls(
            unit=np.empty((capacity, dim), dtype=np.float32),
            when_us=np.zeros(capacity, dtype=np.int64),
            has_when=np.zeros(capacity, dtype=np.bool_),
            ids=[],
            metadata_json=[],
        )

    def copy_prefix(self, size: int, capacity: int) -> _Columns:
        fresh = _Columns.allocate(capacity, self.unit.shape[1])
        fresh.unit[:size] = self.unit[:size]
        fresh.when_us[:size] = self.when_us[:size]
        fresh.has_when[:size] = self.has_when[:size]
        fresh.ids = self.ids[:size]
        fresh.metadata_json = self.metadata_json[:size]
        return fresh


@dataclass(frozen=True, slots=True)
class BankMatrix:
    """A read-only snapshot of one bank (``size`` rows) for search."""

    generation: int
    dim: int
    size: int
    columns: _Columns
    tag_positions: dict[str, _Positions]

    @classmethod
    def empty(cls, dim: int, generation: int, capacity: int = 0) -> BankMatrix:
        return cls(generation, dim, 0, _Columns.allocate(capacity, dim), {})

    def appended(self, rows: MatrixRows, generation: int) -> BankMatrix:
        """A new snapshot with ``rows`` after this one's rows (this snapshot is unchanged)."""
        count = len(rows.ids)
        end = self.size + count
        columns = self.columns
        capacity = columns.unit.shape[0]
        if len(columns.ids) != self.size or end > capacity:
            # Another snapshot already appended past us, or the buffers are full: copy our prefix.
            columns = columns.copy_prefix(self.size, max(end, int(capacity * _GROWTH)))
        columns.unit[self.size : end] = rows.unit
        for offset, when in enumerate(rows.when_us):
            columns.has_when[self.size + offset] = when is not None
            columns.when_us[self.size + offset] = 0 if when is None else when
        columns.ids.extend(rows.ids)
        columns.metadata_json.extend(rows.metadata_json)
        added: dict[str, list[int]] = {}
        for offset, tags in enumerate(rows.tags):
            for tag in dict.fromkeys(tags):
                added.setdefault(tag, []).append(self.size + offset)
        tag_positions = dict(self.tag_positions)
        for tag, positions in added.items():
            new = np.asarray(positions, dtype=np.intp)
            old = tag_positions.get(tag)
            tag_positions[tag] = new if old is None else np.concatenate((old, new))
        return BankMatrix(generation, self.dim, end, columns, tag_positions)

    # ------------------------------------------------------------------ search

    def id_at(self, position: int) -> str:
        return self.columns.ids[position]

    def candidates(self, filters: VectorFilters | None) -> _Positions | None:
        """Row positions passing ``filters`` (same semantics as ``matches_filters``); None = all rows."""
        if filters is None:
            return None
        positions: _Positions | None = None
        if filters.tags:
            positions = self._tagged(filters.tags, every=filters.tag_mode == "all")
        bounds = time_bounds(filters)
        if bounds is not None:
            positions = self._within(bounds, positions)
        if filters.metadata:
            positions = self._metadata_equal(filters, positions)
        return positions

    def _tagged(self, tags: list[str], *, every: bool) -> _Positions:
        found = [self.tag_positions.get(tag) for tag in dict.fromkeys(tags)]
        if every:
            if any(hit is None for hit in found):
                return _NO_POSITIONS
            return reduce(np.intersect1d, cast(list[_Positions], found))
        present = [hit for hit in found if hit is not None]
        return np.unique(np.concatenate(present)) if present else _NO_POSITIONS

    def _within(self, bounds: tuple[int | None, int | None], positions: _Positions | None) -> _Positions:
        if positions is None:
            positions = np.arange(self.size, dtype=np.intp)
        when = self.columns.when_us[positions]
        keep = self.columns.has_when[positions]
        start, end = bounds
        if start is not None:
            keep &= when >= start
        if end is not None:
            keep &= when < end
        return positions[keep]

    def _metadata_equal(self, filters: VectorFilters, positions: _Positions | None) -> _Positions:
        only_metadata = VectorFilters(metadata=filters.metadata)
        pool = range(self.size) if positions is None else positions.tolist()
        metadata = self.columns.metadata_json
        kept = [
            pos
            for pos in pool
            if matches_filters(only_metadata, tags=(), metadata=json.loads(metadata[pos]), occurred_at=None)
        ]
        return np.asarray(kept, dtype=np.intp)

    def top(
        self, query: Sequence[float], limit: int, filters: VectorFilters | None
    ) -> list[tuple[str, float]]:
        """The best ``limit`` (id, score) pairs, score = (cos + 1) / 2 exactly as ``cosine_scores``."""
        positions = self.candidates(filters)
        if self.size == 0 or limit < 1 or (positions is not None and positions.size == 0):
            return []
        unit = self.columns.unit
        rows = unit[: self.size] if positions is None else unit[positions]
        scores = np.clip((rows @ _unit(query) + 1.0) / 2.0, 0.0, 1.0)
        order = np.arange(scores.size) if positions is None else positions
        return self._ranked(scores, order, limit)

    def top_many(self, queries: Sequence[Sequence[float]], limit: int) -> list[list[tuple[str, float]]]:
        """``top(query, limit, None)`` of each query, scored in one matrix product."""
        if self.size == 0 or limit < 1:
            return [[] for _ in queries]
        unit_queries = np.stack([_unit(query) for query in queries])
        scores = np.clip((unit_queries @ self.columns.unit[: self.size].T + 1.0) / 2.0, 0.0, 1.0)
        order = np.arange(self.size)
        return [self._ranked(row, order, limit) for row in scores]

    def _ranked(
        self, scores: npt.NDArray[np.floating], order: _Positions, limit: int
    ) -> list[tuple[str, float]]:
        k = min(limit, scores.size)
        chosen = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        # Score descending; insertion order breaks ties, so results are deterministic.
        ranked = chosen[np.lexsort((order[chosen], -scores[chosen]))]
        return [(self.id_at(int(order[i])), float(scores[i])) for i in ranked]


def _unit(query: Sequence[float]) -> npt.NDArray[np.float32]:
    q = np.asarray(query, dtype=np.float32)
    norm = float(np.linalg.norm(q))
    return q / norm if norm > 0 else q

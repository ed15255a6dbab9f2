"""SQL for :class:`~astrocyte.types.VectorFilters` and the conversions of shared columns (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from astrocyte.types import Metadata, VectorFilters

__all__ = ["as_utc", "filter_sql", "metadata_json"]


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC, as the built-in stores do."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def metadata_json(metadata: Metadata) -> str:
    return json.dumps(metadata, ensure_ascii=False)


def filter_sql(filters: VectorFilters | None) -> tuple[str, list[Any]]:
    """`` AND ...`` conditions on the columns ``tags``, ``occurred_at`` and ``metadata``, with params.

    Semantics match :func:`astrocyte.stores._filters.matches_filters`: tags any/all, a half-open
    ``[start, end)`` time range that excludes undated rows, metadata equality per key.
    """
    if filters is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if filters.tags:
        clauses.append("tags @> %s" if filters.tag_mode == "all" else "tags && %s")
        params.append(list(filters.tags))
    if filters.time_range is not None:
        clauses.append("occurred_at IS NOT NULL")
        start, end = as_utc(filters.time_range.start), as_utc(filters.time_range.end)
        if start is not None:
            clauses.append("occurred_at >= %s")
            params.append(start)
        if end is not None:
            clauses.append("occurred_at < %s")
            params.append(end)
    for key, value in (filters.metadata or {}).items():
        # `->` then `=` compares JSON values exactly (containment would let arrays match scalars).
        clauses.append("metadata -> %s = %s::jsonb")
        params.extend([key, json.dumps(value)])
    return "".join(f" AND {clause}" for clause in clauses), params

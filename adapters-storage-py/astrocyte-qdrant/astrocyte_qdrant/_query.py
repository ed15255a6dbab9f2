"""Translate :class:`VectorFilters` into a Qdrant ``Filter`` that always pins the bank (pure)."""

from __future__ import annotations

from qdrant_client import models

from astrocyte.types import VectorFilters
from astrocyte_qdrant._payload import meta_pair, to_micros

__all__ = ["bank_filter"]


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def bank_filter(bank_id: str, filters: VectorFilters | None = None) -> models.Filter:
    """``bank_id == bank`` AND the tag, time and metadata conditions of ``filters``."""
    must: list[models.Condition] = [_match("bank_id", bank_id)]
    must_not: list[models.Condition] = []
    if filters is not None:
        if filters.tags:
            if filters.tag_mode == "all":
                must += [_match("tags", tag) for tag in filters.tags]
            else:
                must.append(models.FieldCondition(key="tags", match=models.MatchAny(any=list(filters.tags))))
        if filters.time_range is not None:
            # Undated memories never pass a time filter, even an unbounded one.
            must_not.append(models.IsEmptyCondition(is_empty=models.PayloadField(key="occurred_us")))
            start, end = filters.time_range.start, filters.time_range.end
            if start is not None or end is not None:
                must.append(
                    models.FieldCondition(
                        key="occurred_us",
                        range=models.Range(
                            gte=to_micros(start) if start is not None else None,
                            lt=to_micros(end) if end is not None else None,
                        ),
                    )
                )
        for key, value in (filters.metadata or {}).items():
            must.append(_match("meta_kv", meta_pair(key, value)))
    return models.Filter(must=must, must_not=must_not or None)

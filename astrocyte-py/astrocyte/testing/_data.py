"""Test-data factories shared by the contract suites (pure functions, no state)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from astrocyte.stores._filters import as_utc
from astrocyte.types import Document, Metadata, TimeRange, VectorFilters, VectorItem

__all__ = [
    "FILTER_CASE_NAMES",
    "NASTY_QUERIES",
    "UNICODE_BANK",
    "UNICODE_ID",
    "UNICODE_METADATA",
    "UNICODE_TAGS",
    "UNICODE_TEXT",
    "Record",
    "angled",
    "axis",
    "canonical",
    "document_of",
    "filter_case",
    "filter_records",
    "random_vectors",
    "same_instant",
    "vector_item",
]

UNICODE_BANK = "bänk-東京-🧠"
UNICODE_ID = "mém-💾-一"
UNICODE_TEXT = "Café naïve in 東京 with 🎉 emoji and Zürich résumé"
UNICODE_TAGS = ("日本", "été", "🚀")
UNICODE_METADATA: tuple[tuple[str, str], ...] = (("città", "Zürich"), ("emoji", "🧠🚀"), ("名前", "山田"))

#: Queries full-text stores must accept without raising (operators and punctuation are plain words).
NASTY_QUERIES: tuple[str, ...] = (
    '"AND" OR ( ) * : - \' ?',
    "AND",
    "OR NOT",
    "NEAR(a b)",
    "foo*",
    "title:bar",
    "-baz",
    '"unterminated',
    "^ ~ ! @ # $ % & | \\ / ; , . < > = + { } [ ]",
    "O'Brien's",
    "%_",
    "a AND",
    "((((",
    "NEAR",
    "*",
)


def axis(dim: int, index: int, scale: float = 1.0) -> list[float]:
    """A vector along one axis."""
    vector = [0.0] * dim
    vector[index] = scale
    return vector


def angled(dim: int, degrees: float) -> list[float]:
    """A unit vector at ``degrees`` from ``axis(dim, 0)`` in the plane of axes 0 and 1."""
    vector = [0.0] * dim
    vector[0] = math.cos(math.radians(degrees))
    vector[1] = math.sin(math.radians(degrees))
    return vector


def random_vectors(count: int, dim: int, seed: int = 0) -> list[list[float]]:
    matrix = np.random.default_rng(seed).standard_normal((count, dim))
    return [[float(x) for x in row] for row in matrix]


def canonical(metadata: Metadata) -> str:
    """JSON with sorted keys: tells ``True`` from ``1`` and ``1`` from ``1.0``, unlike ``==``."""
    return json.dumps(metadata, sort_keys=True, ensure_ascii=False)


def same_instant(left: datetime | None, right: datetime | None) -> bool:
    """Equal points in time; naive values are read as UTC (stores may return either form)."""
    return as_utc(left) == as_utc(right)


@dataclass(frozen=True, slots=True)
class Record:
    """One memory as both suites write it (vector item or document)."""

    id: str
    text: str
    tags: tuple[str, ...] = ()
    metadata: Metadata = field(default_factory=dict)
    occurred_at: datetime | None = None


def vector_item(record: Record, bank_id: str, vector: list[float]) -> VectorItem:
    return VectorItem(
        id=record.id,
        bank_id=bank_id,
        vector=vector,
        text=record.text,
        metadata=dict(record.metadata),
        tags=list(record.tags),
        occurred_at=record.occurred_at,
    )


def document_of(record: Record) -> Document:
    return Document(
        id=record.id,
        text=record.text,
        metadata=dict(record.metadata),
        tags=list(record.tags),
        occurred_at=record.occurred_at,
    )


_PLUS_TWO = timezone(timedelta(hours=2))


def filter_records() -> list[Record]:
    """Records spanning tags, dates (aware in two offsets, naive, none) and metadata.

    Every text contains the word ``shared`` so a full-text query for it returns them all.
    """
    return [
        Record("r-a", "shared alpha", ("a",), {"kind": "note", "n": 1}, datetime(2024, 1, 1, tzinfo=UTC)),
        Record("r-ab", "shared beta", ("a", "b"), {"kind": "fact", "n": 2}, datetime(2024, 6, 1, tzinfo=UTC)),
        Record("r-b", "shared gamma", ("b",), {"kind": "note", "n": 2, "pinned": True}, datetime(2025, 1, 1)),
        Record("r-none", "shared delta", (), {"kind": "note", "pinned": False}, None),
        # 12:00 at +02:00 is 10:00 UTC: naive bounds (read as UTC) must compare against the instant.
        Record(
            "r-tz", "shared epsilon", ("c",), {"kind": "fact"}, datetime(2024, 3, 1, 12, tzinfo=_PLUS_TWO)
        ),
    ]


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _time(start: datetime | None, end: datetime | None) -> VectorFilters:
    return VectorFilters(time_range=TimeRange(start=start, end=end))


def _cases() -> dict[str, tuple[VectorFilters, set[str]]]:
    everything = {"r-a", "r-ab", "r-b", "r-none", "r-tz"}
    dated = everything - {"r-none"}
    return {
        "no-filter": (VectorFilters(), everything),
        "tags-any": (VectorFilters(tags=["a", "b"]), {"r-a", "r-ab", "r-b"}),
        "tags-all": (VectorFilters(tags=["a", "b"], tag_mode="all"), {"r-ab"}),
        "tags-unknown": (VectorFilters(tags=["zzz"]), set()),
        "time-range-half-open": (_time(_utc(2024, 1, 1), _utc(2025, 1, 1)), {"r-a", "r-ab", "r-tz"}),
        "time-start-only": (_time(_utc(2024, 6, 1), None), {"r-ab", "r-b"}),
        "time-end-only": (_time(None, _utc(2024, 6, 1)), {"r-a", "r-tz"}),
        "time-unbounded-excludes-undated": (_time(None, None), dated),
        "time-naive-start-inclusive": (_time(datetime(2024, 3, 1, 10), None), {"r-tz", "r-ab", "r-b"}),
        "time-naive-end-exclusive": (_time(None, datetime(2024, 3, 1, 10)), {"r-a"}),
        "time-aware-end-after": (_time(None, _utc(2024, 3, 1, 10, 0, 1)), {"r-a", "r-tz"}),
        "time-naive-record-aware-start": (
            _time(datetime(2025, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), None),
            {"r-b"},
        ),
        "time-naive-record-aware-end": (
            _time(None, datetime(2025, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
            {"r-a", "r-ab", "r-tz"},
        ),
        "metadata-str": (VectorFilters(metadata={"kind": "note"}), {"r-a", "r-b", "r-none"}),
        "metadata-two-keys": (VectorFilters(metadata={"kind": "note", "n": 2}), {"r-b"}),
        "metadata-bool": (VectorFilters(metadata={"pinned": True}), {"r-b"}),
        "metadata-missing-key": (VectorFilters(metadata={"absent": "x"}), set()),
        "combined": (
            VectorFilters(
                tags=["a", "b"], metadata={"kind": "note"}, time_range=TimeRange(start=_utc(2024, 2, 1))
            ),
            {"r-b"},
        ),
    }


#: Names of the filter cases, for ``pytest.mark.parametrize``.
FILTER_CASE_NAMES: tuple[str, ...] = tuple(_cases())


def filter_case(name: str) -> tuple[VectorFilters, set[str]]:
    """The filters of case ``name`` and the ids of :func:`filter_records` they must select."""
    return _cases()[name]

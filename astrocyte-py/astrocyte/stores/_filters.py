"""Helpers shared by the built-in stores: filter matching and cosine scoring (sync, pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from astrocyte.errors import InvalidRequestError
from astrocyte.types import Metadata, VectorFilters

__all__ = ["as_utc", "cosine_scores", "matches_filters", "validate_vector"]


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC so naive and aware values compare."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def matches_filters(
    filters: VectorFilters | None, *, tags: Sequence[str], metadata: Metadata, occurred_at: datetime | None
) -> bool:
    """True when a record passes ``filters`` (see :class:`VectorFilters` for the semantics)."""
    if filters is None:
        return True
    if filters.tags:
        have = set(tags)
        wanted = set(filters.tags)
        ok = wanted <= have if filters.tag_mode == "all" else bool(wanted & have)
        if not ok:
            return False
    if filters.time_range is not None:
        when = as_utc(occurred_at)
        if when is None:
            return False
        start, end = as_utc(filters.time_range.start), as_utc(filters.time_range.end)
        if start is not None and when < start:
            return False
        if end is not None and when >= end:
            return False
    if filters.metadata:
        for key, value in filters.metadata.items():
            if metadata.get(key) != value:
                return False
    return True


def validate_vector(vector: Sequence[float], expected_dim: int | None, *, field: str = "vector") -> None:
    """Reject empty, non-finite or wrongly sized vectors."""
    from astrocyte.errors import DimensionMismatchError

    if not vector:
        raise InvalidRequestError("vector must not be empty", field=field)
    if expected_dim is not None and len(vector) != expected_dim:
        raise DimensionMismatchError(f"expected {expected_dim} dimensions, got {len(vector)}", field=field)
    if not np.all(np.isfinite(np.asarray(vector, dtype=np.float64))):
        raise InvalidRequestError("vector contains NaN or infinity", field=field)


def cosine_scores(
    matrix: npt.NDArray[np.float32], query: Sequence[float] | npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Cosine similarity of each row of ``matrix`` with ``query``, mapped to [0, 1] as (cos + 1) / 2.

    Zero vectors score 0.5 (orthogonal to everything).
    """
    q = np.asarray(query, dtype=np.float32)
    q_norm = float(np.linalg.norm(q))
    if matrix.size == 0:
        return np.zeros(0, dtype=np.float32)
    row_norms = np.linalg.norm(matrix, axis=1)
    denom = row_norms * (q_norm if q_norm > 0 else 1.0)
    denom[denom == 0] = 1.0
    cos = (matrix @ q) / denom
    scores: npt.NDArray[np.float32] = np.clip((cos + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    return scores

"""How a :class:`VectorItem` is laid out as a Qdrant point (pure functions, no I/O).

Qdrant point ids must be UUIDs or integers, and Astrocyte ids are arbitrary strings unique per bank,
so the point id is a UUID5 of ``(bank_id, id)``: the same id in two banks is two points, and no call
through bank A can ever address a point of bank B.

Metadata is stored as one JSON string (exact round trip: ``1`` stays ``1``, ``1.0`` stays ``1.0``)
and, for filtering, as ``meta_kv``: a keyword list of ``["key", value]`` JSON pairs, one per scalar
value. ``occurred_at`` is kept as ISO 8601 for the round trip and as integer microseconds since the
epoch (``occurred_us``, absent when undated) for range filters.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from astrocyte.stores import as_utc
from astrocyte.types import JsonScalar, Metadata, VectorHit, VectorItem

__all__ = ["from_payload", "hit_from_payload", "meta_pair", "point_id", "to_micros", "to_payload"]

_NAMESPACE = uuid.UUID("4f6c1d0e-6a7b-5c2d-9e3f-a1b2c3d4e5f6")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def point_id(bank_id: str, item_id: str) -> str:
    """The Qdrant point id of ``item_id`` in ``bank_id`` (stable across processes)."""
    return str(uuid.uuid5(_NAMESPACE, f"{bank_id}\x00{item_id}"))


def to_micros(when: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are read as UTC."""
    aware = as_utc(when)
    assert aware is not None
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _normalised(value: JsonScalar) -> JsonScalar:
    # 2 and 2.0 are the same metadata value for a filter; True is not 1.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def meta_pair(key: str, value: JsonScalar) -> str:
    """The ``meta_kv`` keyword for ``key == value``."""
    return json.dumps([key, _normalised(value)], ensure_ascii=False)


def _meta_pairs(metadata: Metadata) -> list[str]:
    return [meta_pair(k, v) for k, v in metadata.items() if not isinstance(v, list)]


def to_payload(item: VectorItem) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "bank_id": item.bank_id,
        "id": item.id,
        "text": item.text,
        "tags": list(item.tags),
        "metadata": json.dumps(item.metadata, ensure_ascii=False),
        "meta_kv": _meta_pairs(item.metadata),
        "occurred_at": item.occurred_at.isoformat() if item.occurred_at is not None else None,
    }
    if item.occurred_at is not None:
        payload["occurred_us"] = to_micros(item.occurred_at)
    return payload


def _occurred_at(payload: dict[str, Any]) -> datetime | None:
    raw = payload.get("occurred_at")
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def _metadata(payload: dict[str, Any]) -> Metadata:
    raw = payload.get("metadata")
    loaded = json.loads(raw) if isinstance(raw, str) else {}
    return loaded if isinstance(loaded, dict) else {}


def from_payload(payload: dict[str, Any], vector: list[float]) -> VectorItem:
    return VectorItem(
        id=str(payload["id"]),
        bank_id=str(payload["bank_id"]),
        vector=vector,
        text=str(payload.get("text", "")),
        metadata=_metadata(payload),
        tags=[str(t) for t in payload.get("tags") or []],
        occurred_at=_occurred_at(payload),
    )


def hit_from_payload(payload: dict[str, Any], cosine: float) -> VectorHit:
    """A search hit; ``cosine`` in [-1, 1] becomes ``(cos + 1) / 2`` in [0, 1]."""
    return VectorHit(
        id=str(payload["id"]),
        text=str(payload.get("text", "")),
        score=min(1.0, max(0.0, (cosine + 1.0) / 2.0)),
        metadata=_metadata(payload),
        tags=[str(t) for t in payload.get("tags") or []],
        occurred_at=_occurred_at(payload),
    )

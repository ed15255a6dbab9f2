"""How documents are laid out in Elasticsearch, and how filters become queries (pure, no I/O).

One index per bank, named ``<prefix>-<readable slug>-<hash>`` (index names must be lowercase ASCII
without most punctuation, bank ids are any Unicode string: the hash keeps distinct banks distinct).
Every index matches the ``<prefix>-*`` index template, which fixes the mapping: ``text`` is analysed
by the standard analyser and scored with BM25, ``tags`` and ``meta_kv`` are keywords, ``occurred_at``
is a ``date`` (millisecond precision; naive values are UTC), and ``metadata`` is kept in ``_source``
only, for an exact round trip. ``meta_kv`` holds one ``["key", value]`` JSON pair per scalar metadata
value so equality filters stay exact whatever the value's type.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from astrocyte.stores import as_utc
from astrocyte.types import Document, DocumentHit, JsonScalar, Metadata, VectorFilters

__all__ = ["from_source", "index_name", "index_template", "match_query", "meta_pair", "to_hit", "to_source"]

_UNSAFE = re.compile(r"[^a-z0-9]+")


def index_name(prefix: str, bank_id: str) -> str:
    """The index of ``bank_id``; stable, valid, and distinct for distinct banks."""
    slug = _UNSAFE.sub("-", bank_id.lower()).strip("-")[:48]
    digest = hashlib.sha256(bank_id.encode("utf-8")).hexdigest()[:16]
    return f"{prefix}-{slug}-{digest}" if slug else f"{prefix}-{digest}"


def index_template(prefix: str, shards: int, replicas: int | None) -> dict[str, Any]:
    """The body of the index template every bank index of ``prefix`` is created from."""
    settings: dict[str, Any] = {"number_of_shards": shards}
    if replicas is not None:
        settings["number_of_replicas"] = replicas
    return {
        "index_patterns": [f"{prefix}-*"],
        # Above the built-in templates (priority 100), so a catch-all pattern never shadows ours.
        "priority": 500,
        "template": {
            "settings": settings,
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "bank_id": {"type": "keyword"},
                    "text": {"type": "text"},
                    "tags": {"type": "keyword"},
                    "meta_kv": {"type": "keyword"},
                    "metadata": {"type": "object", "enabled": False},
                    "occurred_at": {"type": "date"},
                },
            },
        },
    }


def _normalised(value: JsonScalar) -> JsonScalar:
    # 2 and 2.0 are the same metadata value for a filter; True is not 1.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def meta_pair(key: str, value: JsonScalar) -> str:
    """The ``meta_kv`` keyword for ``key == value``."""
    return json.dumps([key, _normalised(value)], ensure_ascii=False)


def to_source(document: Document, bank_id: str) -> dict[str, Any]:
    return {
        "bank_id": bank_id,
        "text": document.text,
        "tags": list(document.tags),
        "meta_kv": [meta_pair(k, v) for k, v in document.metadata.items() if not isinstance(v, list)],
        "metadata": dict(document.metadata),
        "occurred_at": document.occurred_at.isoformat() if document.occurred_at is not None else None,
    }


def _fields(source: dict[str, Any]) -> dict[str, Any]:
    metadata: Metadata = source.get("metadata") or {}
    return {
        "text": str(source.get("text", "")),
        "metadata": metadata,
        "tags": [str(t) for t in source.get("tags") or []],
        "occurred_at": source.get("occurred_at"),
    }


def from_source(document_id: str, source: dict[str, Any]) -> Document:
    return Document(id=document_id, **_fields(source))


def to_hit(document_id: str, bm25: float, source: dict[str, Any]) -> DocumentHit:
    """A hit whose BM25 score is mapped monotonically into (0, 1) as ``s / (1 + s)``."""
    return DocumentHit(id=document_id, score=bm25 / (1.0 + bm25), **_fields(source))


def _utc_iso(value: Any) -> str:
    aware = as_utc(value)
    assert aware is not None
    return aware.isoformat()


def _filter_clauses(bank_id: str, filters: VectorFilters | None) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [{"term": {"bank_id": bank_id}}]
    if filters is None:
        return clauses
    if filters.tags:
        if filters.tag_mode == "all":
            clauses += [{"term": {"tags": tag}} for tag in filters.tags]
        else:
            clauses.append({"terms": {"tags": list(filters.tags)}})
    if filters.time_range is not None:
        bounds: dict[str, str] = {}
        if filters.time_range.start is not None:
            bounds["gte"] = _utc_iso(filters.time_range.start)
        if filters.time_range.end is not None:
            bounds["lt"] = _utc_iso(filters.time_range.end)
        # Undated documents never pass a time filter, even an unbounded one.
        clauses.append({"range": {"occurred_at": bounds}} if bounds else {"exists": {"field": "occurred_at"}})
    for key, value in (filters.metadata or {}).items():
        clauses.append({"term": {"meta_kv": meta_pair(key, value)}})
    return clauses


def match_query(text: str, bank_id: str, filters: VectorFilters | None) -> dict[str, Any]:
    """BM25 ``match`` on ``text`` (operators and punctuation are plain words), filters as non-scoring."""
    return {
        "bool": {
            "must": [{"match": {"text": {"query": text, "operator": "or"}}}],
            "filter": _filter_clauses(bank_id, filters),
        }
    }

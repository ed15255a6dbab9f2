"""Turning framework data into Astrocyte data and recall results into text a model can read."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from astrocyte.types import MemoryHit, Metadata, MetadataValue

__all__ = ["hits_as_text", "to_metadata"]

_SCALARS = (str, int, float, bool, type(None))


def to_metadata(values: Mapping[str, object]) -> Metadata:
    """Framework metadata as Astrocyte metadata: scalars and flat scalar lists pass through, anything
    else (nested dicts, objects) is stored as its JSON text so nothing is silently dropped."""
    metadata: Metadata = {}
    for key, value in values.items():
        if isinstance(value, _SCALARS):
            metadata[str(key)] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, _SCALARS) for v in value):
            items: MetadataValue = list(value)
            metadata[str(key)] = items
        else:
            metadata[str(key)] = json.dumps(value, default=str, sort_keys=True)
    return metadata


def hits_as_text(hits: Sequence[MemoryHit]) -> str:
    """Numbered memories, best first — what a recall tool hands back to the model."""
    if not hits:
        return "No relevant memories."
    return "\n".join(f"{i}. {hit.text}" for i, hit in enumerate(hits, 1))

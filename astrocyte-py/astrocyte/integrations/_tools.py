"""What every framework's memory tools share: names, descriptions, and the two tool bodies."""

from __future__ import annotations

from astrocyte.integrations._bridge import MemoryBridge
from astrocyte.integrations._text import hits_as_text
from astrocyte.types import RetainResult

__all__ = [
    "RECALL_DESCRIPTION",
    "RECALL_NAME",
    "RETAIN_DESCRIPTION",
    "RETAIN_NAME",
    "arecall",
    "aretain",
    "recall",
    "retain",
]

RETAIN_NAME = "retain_memory"
RECALL_NAME = "recall_memory"
RETAIN_DESCRIPTION = (
    "Save a fact worth remembering to long-term memory. Write one self-contained statement "
    "(who, what, when); optional tags group related memories."
)
RECALL_DESCRIPTION = (
    "Search long-term memory for facts relevant to a query. Returns the best matches, numbered, best first."
)


def _retained(result: RetainResult) -> str:
    if not result.memory_ids and result.duplicate_of:
        return "Already remembered."
    return f"Remembered ({len(result.memory_ids)} memory)."


async def aretain(bridge: MemoryBridge, content: str, tags: list[str] | None = None) -> str:
    return _retained(await bridge.aretain(content, tags=tags or []))


def retain(bridge: MemoryBridge, content: str, tags: list[str] | None = None) -> str:
    return _retained(bridge.retain(content, tags=tags or [], hook=RETAIN_NAME))


async def arecall(bridge: MemoryBridge, query: str, max_results: int) -> str:
    return hits_as_text((await bridge.arecall(query, max_results=max_results)).hits)


def recall(bridge: MemoryBridge, query: str, max_results: int) -> str:
    return hits_as_text(bridge.recall(query, max_results=max_results, hook=RECALL_NAME).hits)

"""Reading memories back from the system of record (the vector store), page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from astrocyte import Astrocyte
from astrocyte.pipeline.retain import RETAINED_AT
from astrocyte.types import Document, VectorItem

__all__ = ["StoredMemory", "find_memories", "retained_at", "scan_bank"]

_PAGE = 500

#: A memory as a store returns it (both carry id, text, metadata, tags, occurred_at).
StoredMemory = Document | VectorItem


async def scan_bank(memory: Astrocyte, bank_id: str) -> AsyncIterator[list[VectorItem]]:
    """Every memory of ``bank_id`` in the store's stable (insertion) order, a page at a time."""
    offset = 0
    while True:
        page = await memory.stores.vector.list_vectors(bank_id, offset=offset, limit=_PAGE)
        if page:
            yield page
        if len(page) < _PAGE:
            return
        offset += _PAGE


async def find_memories(memory: Astrocyte, bank_id: str, ids: list[str]) -> dict[str, StoredMemory]:
    """The memories of ``bank_id`` with these ids: by key from the document store when there is one,
    else by scanning the vector store once."""
    wanted = set(ids)
    if not wanted:
        return {}
    document_store = memory.stores.document
    if document_store is not None:
        found: dict[str, StoredMemory] = {}
        for memory_id in dict.fromkeys(ids):
            document = await document_store.get_document(memory_id, bank_id)
            if document is not None:
                found[memory_id] = document
        return found
    scanned: dict[str, StoredMemory] = {}
    async for page in scan_bank(memory, bank_id):
        scanned.update((item.id, item) for item in page if item.id in wanted)
    return scanned


def retained_at(item: StoredMemory) -> datetime | None:
    """When the memory was written (memories retained before the stamp existed: None)."""
    stamp = item.metadata.get(RETAINED_AT)
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None

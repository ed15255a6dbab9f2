"""The set of providers one Astrocyte instance drives."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from astrocyte.provider import (
    BulkLoad,
    DocumentStore,
    EmbeddingProvider,
    GraphStore,
    LLMProvider,
    Reranker,
    VectorStore,
)

__all__ = ["MemoryStores"]


@dataclass(slots=True)
class MemoryStores:
    """The vector store is the system of record; document and graph stores are optional indexes."""

    vector: VectorStore
    embedder: EmbeddingProvider
    document: DocumentStore | None = None
    graph: GraphStore | None = None
    llm: LLMProvider | None = None
    reranker: Reranker | None = None

    def named(self) -> list[tuple[str, VectorStore | DocumentStore | GraphStore]]:
        """The configured stores with their kind, in write order."""
        stores: list[tuple[str, VectorStore | DocumentStore | GraphStore]] = [("vector", self.vector)]
        if self.document is not None:
            stores.append(("document", self.document))
        if self.graph is not None:
            stores.append(("graph", self.graph))
        return stores

    @contextlib.asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Every configured store's own ``bulk_load`` (stores without the capability: as they are)."""
        async with contextlib.AsyncExitStack() as stack:
            for _, store in self.named():
                if isinstance(store, BulkLoad):
                    await stack.enter_async_context(store.bulk_load())
            yield

    async def close(self) -> None:
        for _, store in self.named():
            await store.close()
        for extra in (self.embedder, self.llm, self.reranker):
            closer = getattr(extra, "close", None)
            if closer is not None:
                await closer()

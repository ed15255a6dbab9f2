"""Qdrant VectorStore for Astrocyte (entry point ``qdrant`` in ``astrocyte.vector_stores``)."""

from astrocyte_qdrant.store import QdrantVectorStore

__all__ = ["QdrantVectorStore"]

"""Neo4j GraphStore for Astrocyte (entry point ``neo4j`` in ``astrocyte.graph_stores``)."""

from astrocyte_neo4j.store import Neo4jGraphStore

__all__ = ["Neo4jGraphStore"]

"""Shared data of the integration tests: a few facts and the embedded store configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FACTS = [
    "Alice moved to Lisbon in May 2023 and works as a marine biologist.",
    "Bob's favourite drink is green tea; he avoids coffee after noon.",
    "The quarterly planning meeting happens every first Monday in Porto.",
]


def embedded_config(tmp_path: Path) -> dict[str, Any]:
    db = str(tmp_path / "memory.db")
    return {
        "vector_store": "sqlite",
        "vector_store_config": {"path": db},
        "document_store": "sqlite",
        "document_store_config": {"path": db},
        "graph_store": "sqlite",
        "graph_store_config": {"path": db},
        "embedding_provider": "hashing",
    }

"""The embedded SQLite stores in one file under a test's tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["sqlite_config"]


def sqlite_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    db = str(tmp_path / "memory.db")
    stores = ("vector_store", "document_store", "graph_store")
    return {
        **{kind: "sqlite" for kind in stores},
        **{f"{kind}_config": {"path": db} for kind in stores},
        **extra,
    }

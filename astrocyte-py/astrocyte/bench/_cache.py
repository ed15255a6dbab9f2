"""A persistent embedding cache so repeated benchmark runs embed each text once."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import ClassVar

import numpy as np

from astrocyte.provider import EmbeddingProvider

__all__ = ["CachedEmbedder"]


class CachedEmbedder:
    """Wraps an :class:`EmbeddingProvider`; vectors are stored in SQLite keyed by (namespace, text)."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(self, inner: EmbeddingProvider, path: str | Path, namespace: str) -> None:
        self._inner = inner
        self._namespace = namespace
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.hits = 0
        self.misses = 0

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._namespace}\x1f{text}".encode()).hexdigest()

    async def embed(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found: dict[str, list[float]] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", part
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32).tolist()
        missing = [i for i, key in enumerate(keys) if key not in found]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = await self._inner.embed([texts[i] for i in missing])
            rows = [
                (keys[i], np.asarray(v, dtype=np.float32).tobytes())
                for i, v in zip(missing, vectors, strict=True)
            ]
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)
            self._db.commit()
            found.update((keys[i], list(map(float, v))) for i, v in zip(missing, vectors, strict=True))
        return [found[key] for key in keys]

    async def close(self) -> None:
        self._db.close()
        closer = getattr(self._inner, "close", None)
        if closer is not None:
            await closer()

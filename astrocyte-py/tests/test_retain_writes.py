"""Retain writes a bank's vector, document and graph batches concurrently and stays all-or-nothing:
whichever stores fail (one, or several at once), no memory of the batch stays in any store.

The failing stores are the real in-memory and SQLite stores with one write refused for one bank.
"""

from __future__ import annotations

import asyncio
import logging
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from astrocyte import Astrocyte, StoreError
from astrocyte.config import load_config
from astrocyte.embeddings.hashing import HashingEmbedder
from astrocyte.errors import DimensionMismatchError
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.stores.memory import InMemoryDocumentStore, InMemoryGraphStore, InMemoryVectorStore
from astrocyte.stores.sqlite import SqliteDocumentStore, SqliteGraphStore, SqliteVectorStore
from astrocyte.testing.faults import REFUSED_BANK
from astrocyte.testing.faults import refusing as refusing_store
from astrocyte.types import VectorItem

DOOMED = REFUSED_BANK
KINDS = ("vector", "document", "graph")
_PLAIN: dict[str, dict[str, type[Any]]] = {
    "memory": {"vector": InMemoryVectorStore, "document": InMemoryDocumentStore, "graph": InMemoryGraphStore},
    "sqlite": {"vector": SqliteVectorStore, "document": SqliteDocumentStore, "graph": SqliteGraphStore},
}


def _store(backend: str, kind: str, tmp_path: Path, *, refusing: bool = False) -> Any:
    plain = _PLAIN[backend][kind]
    cls = refusing_store(plain, kind) if refusing else plain
    return cls() if backend == "memory" else cls(path=str(tmp_path / "memory.db"))


def _memory(stores: dict[str, Any], dimensions: int = 64) -> Astrocyte:
    return Astrocyte(
        load_config({"profile": "minimal"}),
        MemoryStores(
            vector=stores["vector"],
            embedder=HashingEmbedder(dimensions=dimensions),
            document=stores["document"],
            graph=stores["graph"],
        ),
    )


async def _retain_kept_then_doomed(memory: Astrocyte) -> None:
    """A memory written before, then one batch whose first bank is fine and whose second is doomed."""
    await memory.retain("Dev fixes old radios on weekends.", bank_id="kept")
    await memory.retain_many(
        [
            {"content": "Carla sails to Lisbon with Emil every summer.", "bank_id": "kept"},
            {"content": "Alice visited Paris with Bob.", "bank_id": DOOMED},
        ]
    )


async def _assert_only_the_earlier_memory_stays(stores: dict[str, Any]) -> None:
    assert [v.text for v in await stores["vector"].list_vectors("kept")] == [
        "Dev fixes old radios on weekends."
    ]
    assert await stores["vector"].list_vectors(DOOMED) == []
    assert await stores["document"].search_fulltext("Lisbon", "kept") == []
    assert await stores["document"].search_fulltext("Paris", DOOMED) == []
    assert len(await stores["document"].search_fulltext("radios", "kept")) == 1
    for name, bank in (("Carla", "kept"), ("Emil", "kept"), ("Alice", DOOMED), ("Bob", DOOMED)):
        assert await stores["graph"].query_entities(name, bank) == [], name


FAILING_SETS = [set(c) for n in (1, 2, 3) for c in combinations(KINDS, n)]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize("failing", FAILING_SETS, ids=lambda s: "+".join(k for k in KINDS if k in s))
async def test_failing_stores_leave_no_memory_of_the_batch(
    backend: str, failing: set[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = {kind: _store(backend, kind, tmp_path, refusing=kind in failing) for kind in KINDS}
    first, *others = [kind for kind in KINDS if kind in failing]
    async with _memory(stores) as memory:
        with (
            caplog.at_level(logging.ERROR, logger="astrocyte.retain"),
            pytest.raises(StoreError, match=f"writing the {first} store; nothing was kept: disk full"),
        ):
            await _retain_kept_then_doomed(memory)
        await _assert_only_the_earlier_memory_stays(stores)
    also_failed = [r.getMessage() for r in caplog.records if "failed too" in r.getMessage()]
    assert also_failed == [f"retain: the {kind} store failed too" for kind in others]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_a_write_in_flight_is_awaited_before_compensating(backend: str, tmp_path: Path) -> None:
    """The vector write lands only after the document store has already failed: it must still be
    undone, so the pipeline waits for it (and the two writes overlap, else this would time out)."""
    plain = _PLAIN[backend]["vector"]
    landed: list[str] = []

    class LateVectors(plain):
        async def store_vectors(self, items: list[VectorItem]) -> list[str]:
            if items[0].bank_id == DOOMED:
                await asyncio.wait_for(stores["document"].refused.wait(), timeout=10)
            ids: list[str] = await super().store_vectors(items)
            landed.extend(ids)
            return ids

    stores = {kind: _store(backend, kind, tmp_path, refusing=kind == "document") for kind in KINDS}
    stores["vector"] = LateVectors() if backend == "memory" else LateVectors(path=str(tmp_path / "memory.db"))
    async with _memory(stores) as memory:
        with pytest.raises(StoreError, match="writing the document store"):
            await _retain_kept_then_doomed(memory)
        assert len(landed) == 3, "the doomed bank's vector write landed before retain raised"
        await _assert_only_the_earlier_memory_stays(stores)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_a_typed_vector_error_is_raised_as_is_and_the_other_stores_are_undone(
    backend: str, tmp_path: Path
) -> None:
    stores = {kind: _store(backend, kind, tmp_path) for kind in KINDS}
    seed = VectorItem(id="mem_seed", bank_id=DOOMED, vector=[1.0] * 32, text="A 32-dimensional bank.")
    await stores["vector"].store_vectors([seed])
    async with _memory(stores, dimensions=64) as memory:
        with pytest.raises(DimensionMismatchError):
            await memory.retain("Alice visited Paris with Bob.", bank_id=DOOMED, deduplicate=False)
        assert [v.id for v in await stores["vector"].list_vectors(DOOMED)] == ["mem_seed"]
        assert await stores["document"].search_fulltext("Paris", DOOMED) == []
        assert await stores["graph"].query_entities("Alice", DOOMED) == []

"""QdrantVectorStore against qdrant-client's embedded engine and, given ``ASTROCYTE_QDRANT_URL``, a server.

The embedded engine runs everywhere (backend ``qdrant``, never skipped); the server run is backend
``qdrant-server`` so CI with a Qdrant service container can require it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from astrocyte_qdrant import QdrantVectorStore
from qdrant_client import AsyncQdrantClient

from astrocyte import Astrocyte
from astrocyte._discovery import install_hint, load_provider_class
from astrocyte.errors import ConfigError, DimensionMismatchError, StoreError
from astrocyte.testing import BatchSimilaritySearchContract, VectorStoreContract
from astrocyte.testing._data import axis
from astrocyte.types import VectorFilters, VectorItem

QDRANT_URL = os.environ.get("ASTROCYTE_QDRANT_URL")


class TestEmbeddedQdrantContract(VectorStoreContract, BatchSimilaritySearchContract):
    pytestmark = pytest.mark.backend("qdrant")

    @pytest.fixture
    async def store(self) -> AsyncIterator[QdrantVectorStore]:
        store = QdrantVectorStore(url=":memory:")
        yield store
        await store.close()


async def _server_store(url: str) -> AsyncIterator[QdrantVectorStore]:
    """A store on a fresh, uniquely named collection of the server, dropped afterwards."""
    collection = f"astrocyte-test-{uuid.uuid4().hex}"
    store = QdrantVectorStore(url=url, collection=collection, check_compatibility=False)
    health = await store.health()
    if not health.healthy:
        await store.close()
        pytest.skip(health.message)
    yield store
    await store.close()
    admin = AsyncQdrantClient(url=url, check_compatibility=False)
    try:
        await admin.delete_collection(collection)
    finally:
        await admin.close()


if QDRANT_URL:

    class TestServerQdrantContract(VectorStoreContract, BatchSimilaritySearchContract):
        pytestmark = pytest.mark.backend("qdrant-server")

        @pytest.fixture
        async def store(self) -> AsyncIterator[QdrantVectorStore]:
            async for store in _server_store(QDRANT_URL):
                yield store

else:

    @pytest.mark.backend("qdrant-server")
    def test_server_contract_needs_a_url() -> None:
        pytest.skip("qdrant server contract not run: set ASTROCYTE_QDRANT_URL=http://127.0.0.1:6333")


@pytest.mark.backend("qdrant")
async def test_persistent_path_survives_reopen(tmp_path: Path) -> None:
    item = VectorItem(id="m1", bank_id="b", vector=axis(4, 0), text="kept", tags=["t"])
    first = QdrantVectorStore(path=str(tmp_path / "qdrant"))
    await first.store_vectors([item])
    await first.close()
    second = QdrantVectorStore(path=str(tmp_path / "qdrant"))
    try:
        hits = await second.search_similar(axis(4, 0), "b", filters=VectorFilters(tags=["t"]))
        assert [(h.id, h.text) for h in hits] == [("m1", "kept")]
        with pytest.raises(DimensionMismatchError):
            await second.store_vectors([item.model_copy(update={"vector": [1.0] * 5})])
    finally:
        await second.close()


@pytest.mark.backend("qdrant")
async def test_configured_dimensions_are_enforced_from_the_first_write() -> None:
    store = QdrantVectorStore(dimensions=6)
    try:
        with pytest.raises(DimensionMismatchError, match="expected 6 dimensions"):
            await store.store_vectors([VectorItem(id="m1", bank_id="b", vector=axis(4, 0), text="x")])
        assert await store.list_banks() == []
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://localhost:6333", "path": "/tmp/x"}, "either url or path"),
        ({"collection": " "}, "collection must not be empty"),
        ({"dimensions": 0}, "dimensions must be positive"),
        ({"upsert_batch_size": 0}, "upsert_batch_size must be positive"),
    ],
)
def test_bad_configuration_is_a_config_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        QdrantVectorStore(**options)


@pytest.mark.backend("qdrant")
async def test_unreachable_server_is_unhealthy_and_a_store_error() -> None:
    store = QdrantVectorStore(url="http://127.0.0.1:9", timeout_s=1, check_compatibility=False)
    try:
        status = await store.health()
        assert not status.healthy
        assert "127.0.0.1:9" in status.message
        with pytest.raises(StoreError, match=r"qdrant .* failed at http://127\.0\.0\.1:9"):
            await store.search_similar(axis(4, 0), "b")
    finally:
        await store.close()


@pytest.mark.backend("qdrant")
async def test_from_config_retain_recall_forget(tmp_path: Path) -> None:
    db = str(tmp_path / "memory.db")
    config = {
        "vector_store": "qdrant",
        "vector_store_config": {"path": str(tmp_path / "qdrant"), "collection": "e2e"},
        "document_store_config": {"path": db},
        "graph_store_config": {"path": db},
    }
    async with Astrocyte.from_config(config) as memory:
        kept = await memory.retain("Alice moved to Lisbon in May 2023.", bank_id="alice")
        gone = await memory.retain("Bob keeps bees in Porto.", bank_id="alice")
        await memory.retain("Carol sails from Lisbon harbour.", bank_id="carol")

        recalled = await memory.recall("Where does Alice live? Lisbon", bank_id="alice")
        assert recalled.hits[0].memory_id == kept.memory_ids[0]
        assert {h.bank_id for h in recalled.hits} == {"alice"}
        assert "vector" in recalled.hits[0].strategies

        result = await memory.forget(bank_id="alice", memory_ids=gone.memory_ids)
        assert result.deleted_count == 1
        assert result.per_store.get("vector") == 1
        after = await memory.recall("bees in Porto", bank_id="alice")
        assert gone.memory_ids[0] not in {h.memory_id for h in after.hits}

    # The memories really live in Qdrant: reopen its directory directly.
    vectors = QdrantVectorStore(path=str(tmp_path / "qdrant"), collection="e2e")
    try:
        assert [i.id for i in await vectors.list_vectors("alice")] == kept.memory_ids
        assert await vectors.list_banks() == ["alice", "carol"]
    finally:
        await vectors.close()


def test_entry_point_loads_the_checked_store() -> None:
    # load_provider_class also checks SPI_VERSION and the Protocol's methods.
    assert load_provider_class("vector_store", "qdrant") is QdrantVectorStore
    assert install_hint("qdrant") == 'pip install "astrocyte[qdrant]"'

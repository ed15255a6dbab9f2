"""Reusable pytest contract suites: every adapter runs them against itself.

Subclass a contract in a test module and provide a ``store`` fixture that yields a fresh, empty
store::

    from astrocyte.testing import VectorStoreContract

    class TestSqliteVectorStore(VectorStoreContract):
        @pytest.fixture
        async def store(self, tmp_path):
            s = SqliteVectorStore(path=tmp_path / "m.db")
            yield s
            await s.close()

The tests are ``async def``: run them with pytest-asyncio in ``asyncio_mode = "auto"``. The 10k-item
tests carry ``@pytest.mark.slow`` (register the ``slow`` marker when running with
``--strict-markers``; deselect with ``-m "not slow"``). :class:`VectorStoreContract` reads the class
attribute ``dimensions`` (default 8, at least 4) for the vectors it writes.

Importing this package imports pytest: it is for test code only.
"""

from __future__ import annotations

from astrocyte.testing.batch_search import BatchSimilaritySearchContract
from astrocyte.testing.containers import docker_available, may_start_containers
from astrocyte.testing.document import DocumentStoreContract
from astrocyte.testing.embedding import EmbeddingProviderContract
from astrocyte.testing.graph import GraphStoreContract
from astrocyte.testing.ingest import IngestHarness, IngestSourceContract
from astrocyte.testing.llm import LLMProviderContract
from astrocyte.testing.neighbors import DocumentBatchLookupContract, NeighborLookupContract
from astrocyte.testing.vector import VectorStoreContract

__all__ = [
    "BatchSimilaritySearchContract",
    "DocumentBatchLookupContract",
    "DocumentStoreContract",
    "EmbeddingProviderContract",
    "GraphStoreContract",
    "IngestHarness",
    "IngestSourceContract",
    "LLMProviderContract",
    "NeighborLookupContract",
    "VectorStoreContract",
    "docker_available",
    "may_start_containers",
]

"""Neo4jGraphStore against a real Neo4j 5: ``ASTROCYTE_NEO4J_URL`` (+ ``ASTROCYTE_NEO4J_PASSWORD``) when
given, else a ``neo4j:5`` container started with testcontainers when a Docker engine answers, else
one skipped test saying how to run them. Each contract test starts from an emptied database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from astrocyte_neo4j import Neo4jGraphStore
from neo4j import AsyncGraphDatabase

from astrocyte import Astrocyte
from astrocyte.errors import ConfigError, StoreError
from astrocyte.testing import GraphStoreContract, docker_available
from astrocyte.types import Entity

NEO4J_URL = os.environ.get("ASTROCYTE_NEO4J_URL")
NEO4J_PASSWORD = os.environ.get("ASTROCYTE_NEO4J_PASSWORD")


_RUNNABLE = bool(NEO4J_URL) or docker_available()


@pytest.fixture(scope="module")
def neo4j_server() -> Iterator[tuple[str, str | None]]:
    """(bolt url, password) of the server the tests use."""
    if NEO4J_URL:
        yield NEO4J_URL, NEO4J_PASSWORD
        return
    from testcontainers.community.neo4j import Neo4jContainer

    with Neo4jContainer("neo4j:5") as container:
        yield container.get_connection_url(), container.password


async def _wipe(url: str, password: str | None) -> None:
    driver = AsyncGraphDatabase.driver(url, auth=("neo4j", password) if password is not None else None)
    try:
        await driver.execute_query("MATCH (n) WHERE n:AstrocyteEntity OR n:AstrocyteMemory DETACH DELETE n")
    finally:
        await driver.close()


if _RUNNABLE:

    class TestNeo4jGraphContract(GraphStoreContract):
        pytestmark = pytest.mark.backend("neo4j")

        @pytest.fixture
        async def store(self, neo4j_server: tuple[str, str | None]) -> AsyncIterator[Neo4jGraphStore]:
            url, password = neo4j_server
            store = Neo4jGraphStore(url=url, password=password)
            await store.store_entities([Entity(id="schema", name="schema")], "warm-up")  # creates constraints
            await _wipe(url, password)
            yield store
            await store.close()

    @pytest.mark.backend("neo4j")
    async def test_from_config_forget_reaches_the_graph(
        neo4j_server: tuple[str, str | None], tmp_path: Path
    ) -> None:
        url, password = neo4j_server
        await _wipe(url, password)
        db = str(tmp_path / "memory.db")
        config = {
            "graph_store": "neo4j",
            "graph_store_config": {"url": url, "password": password},
            "vector_store_config": {"path": db},
            "document_store_config": {"path": db},
        }
        async with Astrocyte.from_config(config) as memory:
            kept = await memory.retain("Alice Smith moved to Lisbon with Bob Jones.", bank_id="alice")
            gone = await memory.retain("Bob Jones keeps bees in Porto.", bank_id="alice")
            graph = Neo4jGraphStore(url=url, password=password)
            try:
                bob = await graph.query_entities("Bob Jones", "alice")
                assert bob, "retain extracted no 'Bob Jones' entity into neo4j"
                reached = {h.memory_id for h in await graph.query_neighbors([bob[0].id], "alice")}
                assert {kept.memory_ids[0], gone.memory_ids[0]} <= reached

                await memory.forget(bank_id="alice", memory_ids=gone.memory_ids)
                reached = {h.memory_id for h in await graph.query_neighbors([bob[0].id], "alice")}
                assert gone.memory_ids[0] not in reached
                assert kept.memory_ids[0] in reached
                assert await graph.query_entities("Bob Jones", "other-bank") == []
            finally:
                await graph.close()

else:

    @pytest.mark.backend("neo4j")
    def test_neo4j_contract_needs_a_server() -> None:
        pytest.skip(
            "neo4j tests not run: set ASTROCYTE_NEO4J_URL=neo4j://127.0.0.1:7687 (and ASTROCYTE_NEO4J_PASSWORD)"
            " or start a Docker engine for testcontainers"
        )


def test_empty_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="url must not be empty"):
        Neo4jGraphStore(url=" ")


def test_unsupported_url_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cannot use neo4j url 'http://127\.0\.0\.1:7474'"):
        Neo4jGraphStore(url="http://127.0.0.1:7474")


async def test_unreachable_server_is_unhealthy_and_a_store_error() -> None:
    store = Neo4jGraphStore(url="bolt://127.0.0.1:9", connection_timeout_s=1)
    try:
        status = await store.health()
        assert not status.healthy
        assert "127.0.0.1:9" in status.message
        with pytest.raises(StoreError, match=r"neo4j store_entities failed at bolt://127\.0\.0\.1:9"):
            await store.store_entities([Entity(id="e1", name="One")], "bank")
    finally:
        await store.close()

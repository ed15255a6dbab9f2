"""ElasticsearchDocumentStore against a real Elasticsearch 8: ``ASTROCYTE_ELASTICSEARCH_URL`` when given,
else an ``elasticsearch:8`` container (security off) started with testcontainers when a Docker engine
answers, else one skipped test saying how to run them. Each test uses its own index prefix and drops
its indexes and template afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from astrocyte_elasticsearch import ElasticsearchDocumentStore
from elasticsearch import AsyncElasticsearch

from astrocyte import Astrocyte
from astrocyte.errors import ConfigError, StoreError
from astrocyte.testing import DocumentStoreContract, docker_available
from astrocyte.types import Document

ES_URL = os.environ.get("ASTROCYTE_ELASTICSEARCH_URL")
_IMAGE = "elasticsearch:8.15.3"
_RUNNABLE = bool(ES_URL) or docker_available()


@pytest.fixture(scope="module")
def es_url() -> Iterator[str]:
    if ES_URL:
        yield ES_URL
        return
    from testcontainers.community.elasticsearch import ElasticSearchContainer

    container = ElasticSearchContainer(_IMAGE, mem_limit="1g").with_env("ES_JAVA_OPTS", "-Xms512m -Xmx512m")
    with container:
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(9200)}"


async def _drop(url: str, prefix: str) -> None:
    """Delete the prefix's indexes by name (wildcard deletes are refused by default) and its template."""
    admin = AsyncElasticsearch(url)
    try:
        found = await admin.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all")
        for index in found.body:
            await admin.indices.delete(index=index)
        if await admin.indices.exists_index_template(name=prefix):
            await admin.indices.delete_index_template(name=prefix)
    finally:
        await admin.close()


async def _store(url: str, **options: Any) -> AsyncIterator[ElasticsearchDocumentStore]:
    prefix = f"astrocyte-test-{uuid.uuid4().hex[:12]}"
    store = ElasticsearchDocumentStore(url=url, index_prefix=prefix, replicas=0, **options)
    yield store
    await store.close()
    await _drop(url, prefix)


if _RUNNABLE:

    class TestElasticsearchDocumentContract(DocumentStoreContract):
        pytestmark = pytest.mark.backend("elasticsearch")

        @pytest.fixture
        async def store(self, es_url: str) -> AsyncIterator[ElasticsearchDocumentStore]:
            async for store in _store(es_url, refresh="true"):
                yield store

    @pytest.mark.backend("elasticsearch")
    async def test_wait_for_refresh_makes_documents_searchable_on_return(es_url: str) -> None:
        async for store in _store(es_url, refresh="wait_for"):
            await store.store_documents([Document(id="d1", text="a zeppelin over the lake")], "bank")
            assert [h.id for h in await store.search_fulltext("zeppelin", "bank")] == ["d1"]
            assert await store.delete(["d1"], "bank") == 1
            assert await store.search_fulltext("zeppelin", "bank") == []

    @pytest.mark.backend("elasticsearch")
    async def test_large_batch_is_searchable_on_return(es_url: str) -> None:
        async for store in _store(es_url):
            docs = [Document(id=f"d{i}", text=f"entry {i} about walruses") for i in range(2500)]
            assert len(await store.store_documents(docs, "bank")) == 2500
            assert len(await store.search_fulltext("walruses", "bank", limit=3000)) == 2500

    @pytest.mark.backend("elasticsearch")
    async def test_banks_get_their_own_index_from_the_template(es_url: str) -> None:
        async for store in _store(es_url, refresh="true"):
            await store.store_documents([Document(id="d1", text="apple")], "Bank A/東京")
            await store.store_documents([Document(id="d1", text="banana")], "bank a 東京")
            admin = AsyncElasticsearch(es_url)
            try:
                indexes = (await admin.indices.get(index=f"{store._prefix}-*")).body
                assert len(indexes) == 2
                for body in indexes.values():
                    assert body["mappings"]["dynamic"] == "strict"
                    assert body["settings"]["index"]["number_of_shards"] == "1"
            finally:
                await admin.close()

    @pytest.mark.backend("elasticsearch")
    async def test_from_config_retain_recall_forget(es_url: str, tmp_path: Path) -> None:
        prefix = f"astrocyte-test-{uuid.uuid4().hex[:12]}"
        db = str(tmp_path / "memory.db")
        config = {
            "document_store": "elasticsearch",
            "document_store_config": {"url": es_url, "index_prefix": prefix, "replicas": 0},
            "vector_store_config": {"path": db},
            "graph_store_config": {"path": db},
        }
        try:
            async with Astrocyte.from_config(config) as memory:
                kept = await memory.retain("The zeppelin landed at Friedrichshafen.", bank_id="alice")
                gone = await memory.retain("Bob keeps bees in Porto.", bank_id="alice")
                recalled = await memory.recall("zeppelin Friedrichshafen", bank_id="alice")
                assert recalled.hits[0].memory_id == kept.memory_ids[0]
                assert "fulltext" in recalled.hits[0].strategies
                result = await memory.forget(bank_id="alice", memory_ids=gone.memory_ids)
                assert result.per_store.get("document") == 1
            documents = ElasticsearchDocumentStore(url=es_url, index_prefix=prefix)
            try:
                assert await documents.get_document(gone.memory_ids[0], "alice") is None
                assert await documents.get_document(kept.memory_ids[0], "alice") is not None
            finally:
                await documents.close()
        finally:
            await _drop(es_url, prefix)

else:

    @pytest.mark.backend("elasticsearch")
    def test_elasticsearch_contract_needs_a_server() -> None:
        pytest.skip(
            "elasticsearch tests not run: set ASTROCYTE_ELASTICSEARCH_URL=http://127.0.0.1:9200"
            " or start a Docker engine for testcontainers"
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"index_prefix": "Bad Prefix"}, "not a valid Elasticsearch index name"),
        ({"index_prefix": "_hidden"}, "not a valid Elasticsearch index name"),
        ({"shards": 0}, "shards must be >= 1"),
        ({"refresh": "false"}, "refresh must be 'wait_for' or 'true'"),
        ({"username": "elastic"}, "give both username and password"),
    ],
)
def test_bad_configuration_is_a_config_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ElasticsearchDocumentStore(**options)


async def test_unreachable_server_is_unhealthy_and_a_store_error() -> None:
    store = ElasticsearchDocumentStore(url="http://127.0.0.1:9", request_timeout_s=1)
    try:
        status = await store.health()
        assert not status.healthy
        assert "127.0.0.1:9" in status.message
        with pytest.raises(StoreError, match=r"elasticsearch search failed at http://127\.0\.0\.1:9"):
            await store.search_fulltext("anything", "bank")
    finally:
        await store.close()

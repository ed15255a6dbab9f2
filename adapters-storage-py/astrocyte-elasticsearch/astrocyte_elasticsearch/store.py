"""``ElasticsearchDocumentStore``: the DocumentStore SPI on the official async Elasticsearch 8 client.

Each bank is its own index (created on first write from the ``<index_prefix>-*`` index template, see
:mod:`astrocyte_elasticsearch._layout`), so BM25 statistics and deletions never cross banks; every
query also filters on ``bank_id``. Writes refresh before they return (``refresh="wait_for"`` by
default: up to the index's refresh interval, 1 s; ``"true"`` refreshes at once), so a stored document
is searchable as soon as :meth:`store_documents` returns. Deletes are ``delete_by_query`` on the ids
with an immediate refresh.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Literal

from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from elasticsearch import NotFoundError as EsNotFoundError

from astrocyte.errors import ConfigError, InvalidRequestError, StoreError
from astrocyte.types import Document, DocumentHit, HealthStatus, VectorFilters
from astrocyte_elasticsearch._layout import (
    from_source,
    index_name,
    index_template,
    match_query,
    to_hit,
    to_source,
)

__all__ = ["ElasticsearchDocumentStore"]

#: Documents per bulk request in large writes.
_BULK_CHUNK = 1000
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _already_exists(exc: ApiError) -> bool:
    # Another process created the index between our template check and our create.
    return exc.meta.status == 400 and exc.error == "resource_already_exists_exception"


class ElasticsearchDocumentStore:
    """Document store on Elasticsearch 8 (``url``: ``http(s)://host:9200``).

    Auth: ``api_key``, or ``username`` + ``password``. ``index_prefix``: prefix of every bank index and
    name of their index template (lowercase letters, digits, ``-``, ``_``). ``shards``/``replicas``:
    settings of new bank indexes (``replicas`` omitted: the cluster default). ``refresh``:
    ``"wait_for"`` or ``"true"`` (see the module docs). ``verify_certs``/``ca_certs``: TLS options.
    """

    SPI_VERSION: ClassVar[int] = 1

    def __init__(
        self,
        url: str = "http://127.0.0.1:9200",
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        index_prefix: str = "astrocyte-docs",
        shards: int = 1,
        replicas: int | None = None,
        refresh: Literal["wait_for", "true"] = "wait_for",
        request_timeout_s: float = 30.0,
        verify_certs: bool = True,
        ca_certs: str | None = None,
    ) -> None:
        if not _INDEX_NAME.match(index_prefix):
            raise ConfigError(
                f"index_prefix {index_prefix!r} is not a valid Elasticsearch index name",
                key_path="document_store_config.index_prefix",
                hint="use lowercase letters, digits, '-' and '_' (not first)",
            )
        if shards < 1 or (replicas is not None and replicas < 0):
            raise ConfigError(
                "shards must be >= 1 and replicas >= 0", key_path="document_store_config.shards"
            )
        if refresh not in ("wait_for", "true"):
            raise ConfigError(
                f"refresh must be 'wait_for' or 'true', got {refresh!r}",
                key_path="document_store_config.refresh",
            )
        if (username is None) != (password is None):
            raise ConfigError(
                "give both username and password, or neither", key_path="document_store_config.username"
            )
        tls: dict[str, Any] = {"verify_certs": verify_certs}
        if ca_certs is not None:
            tls["ca_certs"] = ca_certs
        try:
            self._client = AsyncElasticsearch(
                url,
                api_key=api_key,
                basic_auth=(username, password) if username is not None and password is not None else None,
                request_timeout=request_timeout_s,
                **tls,
            )
        except ValueError as exc:
            raise ConfigError(
                f"cannot use elasticsearch url {url!r}: {exc}", key_path="document_store_config.url"
            ) from exc
        self._url = url
        self._prefix = index_prefix
        self._template = index_template(index_prefix, shards, replicas)
        self._refresh = refresh
        self._template_ready = False
        self._known_indexes: set[str] = set()
        self._setup_lock = asyncio.Lock()

    # ----------------------------------------------------------------- plumbing

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        try:
            yield
        except (ApiError, TransportError) as exc:
            raise StoreError(f"elasticsearch {action} failed at {self._url}: {exc}") from exc

    def _index(self, bank_id: str) -> str:
        return index_name(self._prefix, bank_id)

    async def _ensure_index(self, bank_id: str) -> str:
        """Install the template once, then create the bank's index unless it exists."""
        index = self._index(bank_id)
        if index in self._known_indexes:
            return index
        async with self._setup_lock:
            if not self._template_ready:
                await self._client.indices.put_index_template(name=self._prefix, **self._template)
                self._template_ready = True
            try:
                await self._client.indices.create(index=index)
            except ApiError as exc:
                if not _already_exists(exc):
                    raise
            self._known_indexes.add(index)
        return index

    # ----------------------------------------------------------------- writes

    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        if not documents:
            return []
        async with self._errors("store_documents"):
            index = await self._ensure_index(bank_id)
            chunks = [
                documents[start : start + _BULK_CHUNK] for start in range(0, len(documents), _BULK_CHUNK)
            ]
            for chunk in chunks:
                operations: list[dict[str, Any]] = []
                for document in chunk:
                    operations.append({"index": {"_index": index, "_id": document.id}})
                    operations.append(to_source(document, bank_id))
                # One chunk: refresh with the write. Several: refresh once after the last.
                refresh = self._refresh if len(chunks) == 1 else False
                response = await self._client.bulk(operations=operations, refresh=refresh)
                if response.get("errors"):
                    failed = next(
                        item["index"] for item in response["items"] if item["index"].get("error") is not None
                    )
                    raise StoreError(
                        f"elasticsearch rejected document {failed.get('_id')!r} of bank {bank_id!r}:"
                        f" {failed['error'].get('reason', failed['error'])}"
                    )
            if len(chunks) > 1:
                await self._client.indices.refresh(index=index)
        return [document.id for document in documents]

    async def delete(self, ids: list[str], bank_id: str) -> int:
        if not ids:
            return 0
        async with self._errors("delete"):
            response = await self._client.delete_by_query(
                index=self._index(bank_id),
                query={
                    "bool": {
                        "filter": [
                            {"ids": {"values": list(dict.fromkeys(ids))}},
                            {"term": {"bank_id": bank_id}},
                        ]
                    }
                },
                refresh=True,
                conflicts="proceed",
                ignore_unavailable=True,
            )
        return int(response.get("deleted", 0))

    # ----------------------------------------------------------------- reads

    async def search_fulltext(
        self, query: str, bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[DocumentHit]:
        if limit < 1:
            raise InvalidRequestError("limit must be at least 1", field="limit")
        if not query.strip():
            return []
        async with self._errors("search"):
            response = await self._client.search(
                index=self._index(bank_id),
                query=match_query(query, bank_id, filters),
                size=limit,
                ignore_unavailable=True,
                track_total_hits=False,
            )
        return [
            to_hit(str(hit["_id"]), float(hit["_score"]), hit["_source"]) for hit in response["hits"]["hits"]
        ]

    async def get_document(self, document_id: str, bank_id: str) -> Document | None:
        async with self._errors("get_document"):
            try:
                response = await self._client.get(index=self._index(bank_id), id=document_id)
            except EsNotFoundError:
                return None  # no such document, or no index yet for the bank
        source = response.get("_source") or {}
        if source.get("bank_id") != bank_id:
            return None
        return from_source(document_id, source)

    # ----------------------------------------------------------------- lifecycle

    async def health(self) -> HealthStatus:
        started = time.perf_counter()
        try:
            cluster = await self._client.cluster.health()
        except (ApiError, TransportError) as exc:
            return HealthStatus(healthy=False, message=f"elasticsearch unreachable at {self._url}: {exc}")
        status = str(cluster.get("status", "unknown"))
        return HealthStatus(
            healthy=status in ("green", "yellow"),
            message=f"elasticsearch at {self._url} is {status}",
            latency_ms=(time.perf_counter() - started) * 1000,
            details={"cluster": str(cluster.get("cluster_name", "")), "status": status},
        )

    async def close(self) -> None:
        await self._client.close()

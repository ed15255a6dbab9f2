"""Elasticsearch 8 DocumentStore for Astrocyte (entry point ``elasticsearch`` in ``astrocyte.document_stores``)."""

from astrocyte_elasticsearch.store import ElasticsearchDocumentStore

__all__ = ["ElasticsearchDocumentStore"]

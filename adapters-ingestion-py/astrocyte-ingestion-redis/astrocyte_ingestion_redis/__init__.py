"""Redis Streams ingest for Astrocyte (entry point ``redis`` in ``astrocyte.ingest_sources``)."""

from astrocyte_ingestion_redis.source import RedisStreamSource

__all__ = ["RedisStreamSource"]

"""NATS JetStream ingest source for Astrocyte (entry point ``nats`` in ``astrocyte.ingest_sources``)."""

from astrocyte_ingestion_nats.source import NatsJetStreamSource

__all__ = ["NatsJetStreamSource"]

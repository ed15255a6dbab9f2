"""Kafka ingest source for Astrocyte (entry point ``kafka`` in ``astrocyte.ingest_sources``)."""

from astrocyte_ingestion_kafka.source import KafkaSource

__all__ = ["KafkaSource"]

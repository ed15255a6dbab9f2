"""GitHub poll source for Astrocyte (entry point ``github`` in ``astrocyte.ingest_sources``)."""

from astrocyte_ingestion_github.source import GitHubPollSource

__all__ = ["GitHubPollSource"]

"""Inbound ingest: the ``IngestSource`` SPI, source registry and supervisor, the message handler every
connector shares, extraction profiles and the signed webhook entry point.

Ingest always goes through ``Astrocyte.retain``, so policy (PII, limits, access) applies exactly as
for interactive calls. Connector packages (``astrocyte-ingestion-redis``...) subclass
:class:`StreamSource` and run the :class:`~astrocyte.testing.IngestSourceContract` suite.
"""

from astrocyte.ingest.errors import (
    IngestPayloadError,
    InvalidJsonError,
    InvalidSignatureError,
    PayloadTooLargeError,
    StaleTimestampError,
    UnknownSourceError,
    UnresolvedBankError,
)
from astrocyte.ingest.handler import (
    Disposition,
    HandleOutcome,
    InboundMessage,
    IngestHandler,
    SourceStats,
    ingest_context,
)
from astrocyte.ingest.jsonpath import JsonPath, JsonPathError
from astrocyte.ingest.mapping import apply_profile, map_metadata, matching_tags
from astrocyte.ingest.registry import SourceRegistry, build_source
from astrocyte.ingest.settings import (
    BUILTIN_PROFILES,
    ExtractionProfile,
    SourceConfig,
    TagRule,
    effective_profiles,
)
from astrocyte.ingest.stream import StreamSource
from astrocyte.ingest.supervisor import IngestSupervisor
from astrocyte.ingest.webhook import WebhookIngestResult, handle_webhook_ingest, sign_webhook
from astrocyte.provider import IngestSource, SourceType

__all__ = [
    "BUILTIN_PROFILES",
    "Disposition",
    "ExtractionProfile",
    "HandleOutcome",
    "InboundMessage",
    "IngestHandler",
    "IngestPayloadError",
    "IngestSource",
    "IngestSupervisor",
    "InvalidJsonError",
    "InvalidSignatureError",
    "JsonPath",
    "JsonPathError",
    "PayloadTooLargeError",
    "SourceConfig",
    "SourceRegistry",
    "SourceStats",
    "SourceType",
    "StaleTimestampError",
    "StreamSource",
    "TagRule",
    "UnknownSourceError",
    "UnresolvedBankError",
    "WebhookIngestResult",
    "apply_profile",
    "build_source",
    "effective_profiles",
    "handle_webhook_ingest",
    "ingest_context",
    "map_metadata",
    "matching_tags",
    "sign_webhook",
]

"""Signed webhook deliveries → memories: ``handle_webhook_ingest``.

The sender signs each delivery with HMAC-SHA256 over ``<timestamp>.<body>`` using the source's
``secret`` and sends the hex digest (optionally prefixed ``sha256=``) in ``signature_header`` and the
Unix time in seconds in ``timestamp_header``. Checks run cheapest first and each bad-input class
raises its own typed error (stable ``code``, suggested ``http_status``):

=====================  ========================  =====
unknown source         ``UnknownSourceError``     404
body too large         ``PayloadTooLargeError``   413
timestamp missing/old  ``StaleTimestampError``    401
signature bad/missing  ``InvalidSignatureError``  401
body not JSON          ``InvalidJsonError``       400
no content / no bank   ``IngestPayloadError``     422
=====================  ========================  =====

A delivery repeated inside the replay window (same timestamp and body) is an idempotent replay:
the idempotency key is the source id plus a digest of the signed bytes (or the message's own id at
``idempotency_path``), so it never creates a second memory.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from astrocyte.ingest.errors import (
    InvalidSignatureError,
    PayloadTooLargeError,
    StaleTimestampError,
    UnknownSourceError,
)
from astrocyte.ingest.handler import InboundMessage, IngestHandler
from astrocyte.ingest.settings import SourceConfig

if TYPE_CHECKING:
    from astrocyte._facade import Astrocyte

__all__ = ["WebhookIngestResult", "handle_webhook_ingest", "sign_webhook"]


class WebhookIngestResult(BaseModel):
    """What a webhook delivery became."""

    model_config = ConfigDict(extra="forbid")

    source_id: str
    bank_id: str
    delivery_id: str = Field(description="Digest of the signed bytes (the idempotency key's suffix).")
    memory_ids: list[str]
    chunk_count: int = 0
    idempotent_replay: bool = False


def sign_webhook(secret: str, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 signature a sender puts in the signature header."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _webhook_settings(memory: Astrocyte, source_id: str) -> SourceConfig:
    settings = memory.config.sources.get(source_id)
    if settings is None or settings.type != "webhook":
        known = sorted(sid for sid, s in memory.config.sources.items() if s.type == "webhook")
        raise UnknownSourceError(
            f"no webhook source {source_id!r} is configured (webhook sources: {', '.join(known) or 'none'})"
        )
    return settings


def _timestamp(raw: str | None, settings: SourceConfig, now: float) -> str:
    if raw is None:
        raise StaleTimestampError(
            f"missing {settings.timestamp_header} header", field=settings.timestamp_header
        )
    try:
        sent = int(raw.strip())
    except ValueError:
        raise StaleTimestampError(
            f"{settings.timestamp_header} must be Unix time in seconds, got {raw[:40]!r}",
            field=settings.timestamp_header,
        ) from None
    if abs(now - sent) > settings.replay_window_seconds:
        raise StaleTimestampError(
            f"timestamp is {int(now - sent)} s away from now; the replay window is "
            f"{settings.replay_window_seconds} s (check the sender's clock)",
            field=settings.timestamp_header,
        )
    return raw.strip()


def _verify_signature(raw: str | None, settings: SourceConfig, timestamp: str, body: bytes) -> None:
    if raw is None:
        raise InvalidSignatureError(
            f"missing {settings.signature_header} header", field=settings.signature_header
        )
    assert settings.secret is not None  # a webhook source always has one (SourceConfig)
    given = raw.strip().removeprefix("sha256=").lower()
    expected = sign_webhook(settings.secret.get_secret_value(), timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.encode("ascii", "replace")):
        raise InvalidSignatureError("signature does not match the body", field=settings.signature_header)


async def handle_webhook_ingest(
    source_id: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    memory: Astrocyte,
    principal: str | None = None,
    now: float | None = None,
) -> WebhookIngestResult:
    """Verify, parse and retain one webhook delivery of ``source_id`` into ``memory``.

    ``principal`` (the authenticated caller, when the gateway knows one) fills ``{principal}`` in
    ``target_bank_template``; header names are matched case-insensitively. Where context-less calls
    are not trusted (standalone mode) the delivery is retained as ``service:ingest-<source_id>``.
    """
    settings = _webhook_settings(memory, source_id)
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLargeError(
            f"body is {len(body)} bytes; source {source_id!r} accepts at most {settings.max_body_bytes}"
        )
    lowered = {key.lower(): value for key, value in headers.items()}
    current = time.time() if now is None else now
    timestamp = _timestamp(lowered.get(settings.timestamp_header.lower()), settings, current)
    _verify_signature(lowered.get(settings.signature_header.lower()), settings, timestamp, body)
    delivery_id = hashlib.sha256(f"{timestamp}.".encode() + body).hexdigest()
    handler = IngestHandler(memory, source_id, settings)
    message = InboundMessage(message_id=delivery_id, body=body, principal=principal)
    request = handler.build_request(message, require_json=True)
    result = await memory.retain(request, context=handler.context)
    return WebhookIngestResult(
        source_id=source_id,
        bank_id=result.bank_id,
        delivery_id=delivery_id,
        memory_ids=result.memory_ids,
        chunk_count=result.chunk_count,
        idempotent_replay=result.idempotent_replay,
    )

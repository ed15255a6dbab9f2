"""Message → ``RetainRequest`` → ``Astrocyte.retain`` → what the connector does with the message.

Every connector (webhook, Redis, NATS, Kafka, poll) hands each inbound message to an
:class:`IngestHandler` and acts on the returned :class:`Disposition`:

* ``ACK`` — retained (or an idempotent replay): acknowledge / commit it;
* ``RETRY`` — retain failed for a reason that may pass (a store down): do not acknowledge, let the
  backend redeliver it;
* ``DEAD_LETTER`` — the message can never be retained (bad payload, policy rejection) or failed
  ``max_attempts`` times: write :meth:`IngestHandler.dead_letter_record` to the dead letter, then
  acknowledge it so it never blocks the stream.

The message id becomes the ``idempotency_key``, so a redelivered message never creates a second
memory: at-least-once in, exactly-once memories.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import JsonValue, ValidationError

from astrocyte.errors import AccessDeniedError, InvalidRequestError
from astrocyte.identity import ActorIdentity, AstrocyteContext
from astrocyte.ingest.errors import IngestPayloadError, InvalidJsonError, UnresolvedBankError
from astrocyte.ingest.jsonpath import JsonPath
from astrocyte.ingest.mapping import apply_profile
from astrocyte.ingest.settings import ExtractionProfile, SourceConfig, effective_profiles
from astrocyte.types import HealthStatus, RetainRequest, RetainResult

if TYPE_CHECKING:
    from astrocyte._facade import Astrocyte

__all__ = [
    "Disposition",
    "HandleOutcome",
    "InboundMessage",
    "IngestHandler",
    "SourceStats",
    "ingest_context",
]

logger = logging.getLogger("astrocyte.ingest")

_MAX_KEY = 512


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as a connector received it.

    ``attempt`` is the delivery count (1 on first delivery); ``handle`` is the connector's own
    receipt (stream entry id, NATS message...) and plays no part in equality.
    """

    message_id: str
    body: bytes
    attempt: int = 1
    principal: str | None = None
    handle: object = field(default=None, compare=False, repr=False)


class Disposition(StrEnum):
    ACK = "ack"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class HandleOutcome:
    disposition: Disposition
    result: RetainResult | None = None
    error: str | None = None


@dataclass(slots=True)
class SourceStats:
    """Counters of one source; ``error_threshold`` consecutive failures mark it degraded."""

    error_threshold: int = 5
    retained: int = 0
    dead_lettered: int = 0
    retried: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_success_at: datetime | None = None

    @property
    def degraded(self) -> bool:
        return self.consecutive_failures >= self.error_threshold

    def record_success(self) -> None:
        self.retained += 1
        self.consecutive_failures = 0
        self.last_success_at = datetime.now(UTC)

    def record_failure(self, error: str, disposition: Disposition) -> None:
        self.consecutive_failures += 1
        self.last_error = error
        if disposition is Disposition.DEAD_LETTER:
            self.dead_lettered += 1
        else:
            self.retried += 1

    def status(self, message: str = "") -> HealthStatus:
        text = message or (f"degraded: {self.last_error}" if self.degraded else "ok")
        return HealthStatus(
            healthy=not self.degraded,
            message=text,
            details={
                "retained": self.retained,
                "dead_lettered": self.dead_lettered,
                "retried": self.retried,
                "consecutive_failures": self.consecutive_failures,
                "last_error": self.last_error,
                "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            },
        )


def _decode_json(body: bytes) -> tuple[bool, JsonValue]:
    try:
        parsed: JsonValue = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False, None
    return True, parsed


def _template_fields(document: JsonValue, principal: str | None, source_id: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                fields[key] = str(value)
    fields["source_id"] = source_id
    if principal:
        fields["principal"] = principal
    return fields


def ingest_context(memory: Astrocyte, source_id: str) -> AstrocyteContext | None:
    """The identity a source retains with: none where context-less calls are trusted (library mode),
    else the service principal ``service:ingest-<source_id>`` — grant it ``write`` on the source's
    target banks (``banks: {"team-*": {writers: ["service:ingest-*"]}}``)."""
    if memory.access.anonymous_allowed:
        return None
    return AstrocyteContext(actor=ActorIdentity(type="service", id=f"ingest-{source_id}"))


class IngestHandler:
    """Turns a source's messages into retains through one :class:`~astrocyte.Astrocyte`."""

    def __init__(self, memory: Astrocyte, source_id: str, settings: SourceConfig) -> None:
        self.memory = memory
        self.source_id = source_id
        self.settings = settings
        self.stats = SourceStats(error_threshold=settings.error_threshold)
        self._content = JsonPath.parse(settings.content_path)
        self._message_id = JsonPath.parse(settings.idempotency_path) if settings.idempotency_path else None
        self._profile = self._resolve_profile(memory, settings)
        self.context = ingest_context(memory, source_id)

    @staticmethod
    def _resolve_profile(memory: Astrocyte, settings: SourceConfig) -> ExtractionProfile | None:
        if settings.extraction_profile is None:
            return None
        return effective_profiles(memory.config.extraction_profiles)[settings.extraction_profile]

    @property
    def max_attempts(self) -> int:
        return self.settings.max_attempts

    # ------------------------------------------------------------------ building the request

    def parse(self, body: bytes, *, require_json: bool = False) -> tuple[str, JsonValue]:
        """The content text and the JSON document of a body (``{}`` for a plain-text body)."""
        is_json, document = _decode_json(body)
        if not is_json:
            if require_json:
                raise InvalidJsonError("body is not a JSON document")
            try:
                return body.decode("utf-8"), {}
            except UnicodeDecodeError as exc:
                raise IngestPayloadError(f"body is neither JSON nor UTF-8 text: {exc.reason}") from exc
        if isinstance(document, str):
            return document, {}
        found, content = self._content.find(document)
        if not found or not isinstance(content, str) or not content.strip():
            raise IngestPayloadError(
                f"message has no text at {self.settings.content_path} (set the source's content_path)",
                field="content",
            )
        return content, document

    def bank_for(self, document: JsonValue, principal: str | None) -> str:
        if self.settings.target_bank is not None:
            return self.settings.target_bank
        template = self.settings.target_bank_template
        assert template is not None  # SourceConfig requires one of the two
        try:
            return template.format_map(_template_fields(document, principal, self.source_id))
        except KeyError as exc:
            raise UnresolvedBankError(
                f"target_bank_template {template!r} needs {exc.args[0]!r}, which the message does not carry",
                field="bank_id",
            ) from None

    def idempotency_key(self, message: InboundMessage, document: JsonValue) -> str:
        own_id = message.message_id
        if self._message_id is not None:
            found, value = self._message_id.find(document)
            if found and isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                own_id = str(value)
        key = f"{self.source_id}:{own_id}"
        return (
            key
            if len(key) <= _MAX_KEY
            else f"{self.source_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
        )

    def build_request(self, message: InboundMessage, *, require_json: bool = False) -> RetainRequest:
        """The retain request for ``message``; bad payloads raise an :class:`IngestPayloadError`."""
        content, document = self.parse(message.body, require_json=require_json)
        try:
            request = RetainRequest(
                content=content,
                bank_id=self.bank_for(document, message.principal),
                metadata={"_message_id": message.message_id},
                tags=list(self.settings.tags),
                source=self.source_id,
                extraction_profile=self.settings.extraction_profile,
                idempotency_key=self.idempotency_key(message, document),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or None
            raise IngestPayloadError(f"message cannot be retained: {first['msg']}", field=where) from exc
        if self._profile is not None:
            request = apply_profile(request, self._profile, document)
        return request

    # ------------------------------------------------------------------ handling

    async def handle(self, message: InboundMessage) -> HandleOutcome:
        """Retain ``message`` and say what the connector must do with it (never raises for the
        message's own faults; cancellation propagates)."""
        try:
            request = self.build_request(message)
            result = await self.memory.retain(request, context=self.context)
        except (InvalidRequestError, AccessDeniedError) as exc:
            return self._failed(message, exc, Disposition.DEAD_LETTER)
        except Exception as exc:  # a store or provider failure may pass: retry until max_attempts
            final = message.attempt >= self.max_attempts
            return self._failed(message, exc, Disposition.DEAD_LETTER if final else Disposition.RETRY)
        self.stats.record_success()
        return HandleOutcome(Disposition.ACK, result=result)

    async def handle_batch(self, messages: list[InboundMessage]) -> list[HandleOutcome]:
        """:meth:`handle` for a batch, in order, with one ``retain_many`` (one embedding call, one write
        per store) for all well-formed messages; when that fails, each message is retried alone so
        one bad message cannot take the batch down with it."""
        outcomes: dict[int, HandleOutcome] = {}
        built: list[tuple[int, RetainRequest]] = []
        for index, message in enumerate(messages):
            try:
                built.append((index, self.build_request(message)))
            except InvalidRequestError as exc:
                outcomes[index] = self._failed(message, exc, Disposition.DEAD_LETTER)
        if built:
            try:
                results = await self.memory.retain_many(
                    [request for _, request in built], context=self.context
                )
            except Exception:  # isolate the culprit: every message on its own
                for index, _ in built:
                    outcomes[index] = await self.handle(messages[index])
            else:
                for (index, _), result in zip(built, results, strict=True):
                    self.stats.record_success()
                    outcomes[index] = HandleOutcome(Disposition.ACK, result=result)
        return [outcomes[index] for index in range(len(messages))]

    def _failed(self, message: InboundMessage, exc: Exception, disposition: Disposition) -> HandleOutcome:
        error = f"{type(exc).__name__}: {exc}"
        self.stats.record_failure(error, disposition)
        logger.warning(
            "ingest message failed",
            extra={
                "source_id": self.source_id,
                "message_id": message.message_id,
                "attempt": message.attempt,
                "disposition": disposition.value,
                "error": error,
            },
        )
        return HandleOutcome(disposition, error=error)

    def dead_letter_record(self, message: InboundMessage, error: str | None) -> dict[str, str]:
        """Flat string fields describing a dead-lettered message (body as UTF-8, else base64)."""
        try:
            body, encoding = message.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(message.body).decode("ascii"), "base64"
        return {
            "source_id": self.source_id,
            "message_id": message.message_id,
            "attempts": str(message.attempt),
            "error": error or "",
            "body": body,
            "body_encoding": encoding,
            "failed_at": datetime.now(UTC).isoformat(),
        }

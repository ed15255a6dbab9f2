"""``NatsJetStreamSource``: a JetStream durable pull consumer feeding ``Astrocyte.retain``.

A message is acked only after its retain succeeded (or after it was written to the dead letter).
A failed retain is nak'ed with a delay so JetStream redelivers it; the server's delivery count is
the attempt number, and on attempt ``max_attempts`` (``sources.<id>.max_attempts``) the message goes
to the dead-letter subject instead, so a poison message never blocks the stream. The message id
(``Nats-Msg-Id`` header, else the stream sequence) is the idempotency key: a redelivery after a
crash never creates a second memory. With ``principal_header`` set, that message header fills
``{principal}`` in ``target_bank_template``.
"""

from __future__ import annotations

import json
import re

from astrocyte.errors import ConfigError
from astrocyte.ingest import InboundMessage, IngestHandler, StreamSource
from astrocyte_ingestion_nats._client import Delivery, JetStreamPuller

__all__ = ["NatsJetStreamSource"]

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _safe_name(text: str) -> str:
    """A JetStream consumer/stream name: no dots, wildcards or whitespace."""
    return _NAME_UNSAFE.sub("_", text)


class NatsJetStreamSource(StreamSource):
    """Consume ``subject`` of JetStream ``stream`` with the durable pull consumer ``durable``."""

    def __init__(
        self,
        *,
        handler: IngestHandler,
        stream: str,
        subject: str,
        url: str = "nats://127.0.0.1:4222",
        durable: str | None = None,
        dead_letter_subject: str | None = None,
        batch_size: int = 64,
        fetch_timeout_seconds: float = 1.0,
        ack_wait_seconds: float = 30.0,
        retry_delay_seconds: float = 1.0,
        max_ack_pending: int = 1000,
        principal_header: str | None = None,
        backoff_initial_seconds: float = 0.2,
        backoff_max_seconds: float = 10.0,
    ) -> None:
        super().__init__(
            handler=handler,
            backoff_initial_seconds=backoff_initial_seconds,
            backoff_max_seconds=backoff_max_seconds,
        )
        _check_positive(
            batch_size=batch_size,
            fetch_timeout_seconds=fetch_timeout_seconds,
            ack_wait_seconds=ack_wait_seconds,
            max_ack_pending=max_ack_pending,
        )
        if retry_delay_seconds < 0:
            raise ConfigError("must be >= 0", key_path="retry_delay_seconds")
        self.stream = stream
        self.subject = subject
        self.durable = durable or f"astrocyte_{_safe_name(self.source_id)}"
        self.dead_letter_subject = (
            dead_letter_subject or f"astrocyte.dead_letter.{_safe_name(self.source_id)}"
        )
        if self.dead_letter_subject == subject:
            raise ConfigError(
                "the dead-letter subject must differ from the consumed subject",
                key_path="dead_letter_subject",
                hint="pick a subject the consumer's filter does not match",
            )
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout_seconds
        self._retry_delay = retry_delay_seconds
        self._principal_header = principal_header
        self._puller = JetStreamPuller(
            url=url,
            stream=stream,
            subject=subject,
            durable=self.durable,
            ack_wait_seconds=ack_wait_seconds,
            max_ack_pending=max_ack_pending,
        )

    async def _connect(self) -> None:
        await self._puller.connect()
        await self._puller.ensure_dead_letter_stream(self.dead_letter_subject)

    async def _disconnect(self) -> None:
        await self._puller.close()

    async def _fetch(self) -> list[InboundMessage]:
        deliveries = await self._puller.fetch(self._batch_size, self._fetch_timeout)
        return [_inbound(delivery, self._principal_header) for delivery in deliveries]

    async def _ack(self, messages: list[InboundMessage]) -> None:
        for message in messages:
            await _delivery(message).message.ack()
        await self._puller.flush()

    async def _retry(self, message: InboundMessage) -> None:
        await _delivery(message).message.nak(delay=self._retry_delay)

    async def _backlog(self) -> dict[str, int]:
        return await self._puller.backlog(self.dead_letter_subject)

    async def _dead_letter(self, message: InboundMessage, record: dict[str, str]) -> None:
        delivery = _delivery(message)
        headers = {
            "Astrocyte-Source": self.source_id,
            "Astrocyte-Message-Id": message.message_id,
            "Astrocyte-Original-Subject": delivery.message.subject,
            "Astrocyte-Stream-Sequence": str(delivery.stream_sequence),
        }
        await self._puller.publish(self.dead_letter_subject, json.dumps(record).encode(), headers)


def _inbound(delivery: Delivery, principal_header: str | None) -> InboundMessage:
    headers = delivery.message.headers or {}
    return InboundMessage(
        message_id=delivery.message_id,
        body=delivery.message.data,
        attempt=delivery.attempt,
        principal=(headers.get(principal_header) or None) if principal_header else None,
        handle=delivery,
    )


def _delivery(message: InboundMessage) -> Delivery:
    if not isinstance(message.handle, Delivery):
        raise TypeError("message was not fetched by this source")
    return message.handle


def _check_positive(**values: float) -> None:
    for key, value in values.items():
        if value <= 0:
            raise ConfigError(f"must be positive, got {value}", key_path=key)

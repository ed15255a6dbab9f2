"""``KafkaSource``: a kafka-python consumer-group member feeding ``Astrocyte.retain``.

Auto-commit is off; a partition's offset is committed only past records that were retained (or
written to the dead-letter topic). Kafka keeps no per-record delivery count, so the source counts
attempts itself: a failed retain seeks the partition back to the record (the offset is not committed
past it) and the record is tried again on the next poll; on attempt ``max_attempts``
(``sources.<id>.max_attempts``) it goes to the dead-letter topic instead, so a poison record never
blocks its partition. The id ``kafka:<topic>:<partition>:<offset>`` is the idempotency key, so the
records a crashed consumer retained but never committed are redelivered without a second memory.
Attempt counts live in the process: after a restart a record gets ``max_attempts`` fresh tries.
With ``principal_header`` set, that record header fills ``{principal}`` in ``target_bank_template``.
"""

from __future__ import annotations

import asyncio
import json
import re

from astrocyte.errors import ConfigError, StoreError
from astrocyte.ingest import InboundMessage, IngestHandler, StreamSource
from astrocyte_ingestion_kafka._client import AsyncKafkaConsumer, AsyncKafkaProducer, Record

__all__ = ["KafkaSource"]

_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: Options a user may pass through to kafka-python (security, timeouts); the source owns the rest.
_RESERVED = frozenset({"bootstrap_servers", "group_id", "enable_auto_commit", "value_deserializer"})


class KafkaSource(StreamSource):
    """Consume ``topics`` as member of consumer group ``group_id``."""

    def __init__(
        self,
        *,
        handler: IngestHandler,
        topics: list[str] | str,
        bootstrap_servers: str = "127.0.0.1:9092",
        group_id: str | None = None,
        dead_letter_topic: str | None = None,
        max_poll_records: int = 200,
        poll_timeout_ms: int = 1000,
        session_timeout_ms: int = 10000,
        auto_offset_reset: str = "earliest",
        retry_delay_seconds: float = 0.5,
        client_options: dict[str, str | int | float | bool] | None = None,
        principal_header: str | None = None,
        backoff_initial_seconds: float = 0.2,
        backoff_max_seconds: float = 10.0,
    ) -> None:
        super().__init__(
            handler=handler,
            backoff_initial_seconds=backoff_initial_seconds,
            backoff_max_seconds=backoff_max_seconds,
        )
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        if not self.topics or not all(self.topics):
            raise ConfigError("name at least one topic", key_path="topics")
        if auto_offset_reset not in ("earliest", "latest"):
            raise ConfigError(
                f"must be 'earliest' or 'latest', got {auto_offset_reset!r}", key_path="auto_offset_reset"
            )
        for key, value in {"max_poll_records": max_poll_records, "poll_timeout_ms": poll_timeout_ms}.items():
            if value <= 0:
                raise ConfigError(f"must be positive, got {value}", key_path=key)
        reserved = sorted(_RESERVED & set(client_options or {}))
        if reserved:
            raise ConfigError(
                f"{reserved} are set by the source itself",
                key_path="client_options",
                hint="use the source's own keys",
            )
        safe_id = _TOPIC_UNSAFE.sub("_", self.source_id)
        self.group_id = group_id or f"astrocyte-{safe_id}"
        self.dead_letter_topic = dead_letter_topic or f"astrocyte.dead_letter.{safe_id}"
        if self.dead_letter_topic in self.topics:
            raise ConfigError(
                "the dead-letter topic must not be a consumed topic", key_path="dead_letter_topic"
            )
        self._max_records = max_poll_records
        self._poll_timeout_ms = poll_timeout_ms
        self._retry_delay = retry_delay_seconds
        self._principal_header = principal_header
        common = {"bootstrap_servers": bootstrap_servers, **(client_options or {})}
        self._consumer_settings = {
            **common,
            "group_id": self.group_id,
            "auto_offset_reset": auto_offset_reset,
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": max(100, session_timeout_ms // 3),
        }
        self._producer_settings = common
        self._consumer: AsyncKafkaConsumer | None = None
        self._producer: AsyncKafkaProducer | None = None
        self._attempts: dict[str, int] = {}
        # Per (topic, partition): the lowest offset of this batch that must be tried again.
        self._rewound: dict[tuple[str, int], int] = {}

    async def _connect(self) -> None:
        consumer = AsyncKafkaConsumer(self.topics, self._consumer_settings)
        await consumer.start()
        self._consumer = consumer
        self._producer = AsyncKafkaProducer(self._producer_settings)

    async def _disconnect(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        if consumer is not None:
            await consumer.close()
        if producer is not None:
            await producer.close()
        self._attempts.clear()
        self._rewound.clear()

    def _require(self) -> AsyncKafkaConsumer:
        if self._consumer is None:
            raise StoreError("the Kafka source is not started")
        return self._consumer

    async def _fetch(self) -> list[InboundMessage]:
        if self._rewound:  # the previous batch had failures: pause briefly before trying them again
            self._rewound.clear()
            await asyncio.sleep(self._retry_delay)
        records = await self._require().poll(self._poll_timeout_ms, self._max_records)
        messages = []
        for record in records:
            attempt = self._attempts.get(record.message_id, 0) + 1
            self._attempts[record.message_id] = attempt
            messages.append(
                InboundMessage(
                    message_id=record.message_id,
                    body=record.value,
                    attempt=attempt,
                    principal=self._principal(record),
                    handle=record,
                )
            )
        return messages

    def _principal(self, record: Record) -> str | None:
        return (record.headers.get(self._principal_header) or None) if self._principal_header else None

    async def _ack(self, messages: list[InboundMessage]) -> None:
        """Commit each partition up to (not past) its first record that still needs a retry."""
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            record = _record(message)
            self._attempts.pop(record.message_id, None)
            partition = (record.topic, record.partition)
            limit = self._rewound.get(partition)
            if limit is not None and record.offset >= limit:
                continue
            offsets[partition] = max(offsets.get(partition, 0), record.offset + 1)
        await self._require().commit(offsets)

    async def _retry(self, message: InboundMessage) -> None:
        record = _record(message)
        partition = (record.topic, record.partition)
        if record.offset < self._rewound.get(partition, record.offset + 1):
            self._rewound[partition] = record.offset
            self._require().seek(record)

    async def _dead_letter(self, message: InboundMessage, record: dict[str, str]) -> None:
        original = _record(message)
        if self._producer is None:
            raise StoreError("the Kafka source is not started")
        headers = {
            "astrocyte-source": self.source_id,
            "astrocyte-message-id": message.message_id,
            "astrocyte-original-topic": original.topic,
        }
        await self._producer.send(self.dead_letter_topic, json.dumps(record).encode(), original.key, headers)


def _record(message: InboundMessage) -> Record:
    if not isinstance(message.handle, Record):
        raise TypeError("message was not fetched by this source")
    return message.handle

"""kafka-python, made safe for the event loop: every blocking call runs in a worker thread.

kafka-python's consumer is not thread-safe, so one consumer is only ever driven by one coroutine at
a time (the source's run loop); ``asyncio.to_thread`` merely moves each blocking call off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from astrocyte.errors import StoreError

__all__ = ["AsyncKafkaConsumer", "AsyncKafkaProducer", "Record"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Record:
    """One consumed Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def message_id(self) -> str:
        """Stable across redeliveries: a topic partition offset names exactly one record."""
        return f"kafka:{self.topic}:{self.partition}:{self.offset}"


def _headers(raw: object) -> dict[str, str]:
    pairs = raw if isinstance(raw, list | tuple) else []
    decoded: dict[str, str] = {}
    for pair in pairs:
        key, value = pair
        decoded[str(key)] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return decoded


class AsyncKafkaConsumer:
    """A consumer-group member with auto-commit off: offsets move only through :meth:`commit`.

    A cancelled caller does not stop a worker thread already inside kafka-python, so every call is
    remembered and :meth:`close` waits for it before closing: the consumer is never used by two
    threads at once.
    """

    def __init__(self, topics: list[str], settings: Mapping[str, object]) -> None:
        self._topics = topics
        self._settings = {**settings, "enable_auto_commit": False}
        self._consumer: KafkaConsumer | None = None
        self._inflight: asyncio.Future[Any] | None = None

    async def _call(self, function: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        future = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
        self._inflight = future
        return await asyncio.shield(future)

    async def start(self) -> None:
        try:
            self._consumer = await asyncio.to_thread(KafkaConsumer, *self._topics, **self._settings)
        except KafkaError as exc:
            raise StoreError(f"cannot connect a Kafka consumer to {self._topics}: {exc}") from exc

    def _require(self) -> KafkaConsumer:
        if self._consumer is None:
            raise StoreError("the Kafka consumer is not started")
        return self._consumer

    async def poll(self, timeout_ms: int, max_records: int) -> list[Record]:
        """The next records (possibly none), in offset order within each partition."""
        batches = await self._call(self._require().poll, timeout_ms, max_records)
        return [
            Record(r.topic, r.partition, r.offset, r.key, r.value or b"", _headers(r.headers))
            for records in batches.values()
            for r in records
        ]

    def seek(self, record: Record) -> None:
        """Make the next poll of ``record``'s partition start at it again (a local, non-blocking call)."""
        self._require().seek(TopicPartition(record.topic, record.partition), record.offset)

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit ``(topic, partition) -> next offset to read`` (everything before it is retained)."""
        if offsets:
            await self._call(
                self._require().commit,
                {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()},
            )

    async def close(self) -> None:
        """Leave the group without committing anything further."""
        consumer, self._consumer = self._consumer, None
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            with contextlib.suppress(Exception):
                await inflight
        if consumer is not None:
            await asyncio.to_thread(consumer.close, autocommit=False)


class AsyncKafkaProducer:
    """A producer for the dead-letter topic; :meth:`send` returns once the broker acknowledged."""

    def __init__(self, settings: Mapping[str, object]) -> None:
        self._settings = dict(settings)
        self._producer: KafkaProducer | None = None

    async def send(self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        producer = await self._ensure()
        encoded = [(name, text.encode("utf-8")) for name, text in headers.items()]
        try:
            future = await asyncio.to_thread(producer.send, topic, value=value, key=key, headers=encoded)
            await asyncio.to_thread(future.get, 30)
        except KafkaError as exc:
            raise StoreError(f"cannot write the dead letter to Kafka topic {topic!r}: {exc}") from exc

    async def _ensure(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = await asyncio.to_thread(KafkaProducer, **self._settings)
        return self._producer

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.to_thread(producer.close, 5)

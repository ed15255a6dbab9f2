"""``RedisStreamSource``: a Redis Streams consumer-group member feeding ``Astrocyte.retain``.

* New entries are read with ``XREADGROUP ... >`` (blocking ``block_ms`` when idle).
* Entries are ``XACK``-ed only after their retain succeeded (or after they were dead-lettered).
* Entries left pending longer than ``claim_idle_ms`` — a crashed consumer's, or this consumer's own
  failed ones — are taken over with ``XAUTOCLAIM``; their delivery count (``XPENDING``) is the
  attempt number, and after ``max_attempts`` the entry goes to the dead-letter stream.
* Entry ids become idempotency keys, so a reclaimed entry that was already retained is not stored
  twice.

An entry's payload is its ``body`` field (JSON or text); an entry without that field is read as a
JSON object of all its fields (``XADD s * content "..." user_id "42"``).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any, ClassVar

import redis.asyncio as redis_async
from redis.exceptions import ResponseError

from astrocyte.ingest import InboundMessage, IngestHandler, SourceType, StreamSource

__all__ = ["RedisStreamSource"]

_Entry = tuple[bytes, dict[bytes, bytes]]


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class RedisStreamSource(StreamSource):
    """Consume ``stream`` as ``consumer`` in ``group`` (created with MKSTREAM when missing)."""

    SPI_VERSION: ClassVar[int] = 1
    source_type: SourceType = "stream"

    def __init__(
        self,
        *,
        handler: IngestHandler,
        stream: str,
        url: str = "redis://127.0.0.1:6379/0",
        group: str = "astrocyte",
        consumer: str | None = None,
        dead_letter_stream: str | None = None,
        body_field: str = "body",
        start_id: str = "0",
        batch_size: int = 32,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        backoff_initial_seconds: float = 0.2,
        backoff_max_seconds: float = 10.0,
    ) -> None:
        super().__init__(
            handler=handler,
            backoff_initial_seconds=backoff_initial_seconds,
            backoff_max_seconds=backoff_max_seconds,
        )
        if not stream:
            raise ValueError("stream must be a non-empty stream key")
        if batch_size < 1 or block_ms < 1 or claim_idle_ms < 1:
            raise ValueError("batch_size, block_ms and claim_idle_ms must be positive")
        self.url = url
        self.stream = stream
        self.group = group
        self.consumer = consumer or _default_consumer()
        self.dead_letter_stream = dead_letter_stream or f"{stream}:dead-letter"
        self._body_field = body_field.encode()
        self._start_id = start_id
        self._batch_size = batch_size
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._claim_cursor = "0-0"
        self._last_claim = 0.0
        self._client: redis_async.Redis | None = None

    # ------------------------------------------------------------------ StreamSource hooks

    async def _connect(self) -> None:
        client = redis_async.Redis.from_url(self.url)
        try:
            await client.ping()
            await client.xgroup_create(self.stream, self.group, id=self._start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                await client.aclose()
                raise
        except BaseException:
            await client.aclose()
            raise
        self._client = client

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _fetch(self) -> list[InboundMessage]:
        reclaimed = await self._reclaim()
        if reclaimed:
            return reclaimed
        reply = await self._redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self._batch_size, block=self._block_ms
        )
        entries: list[_Entry] = [entry for _, stream_entries in reply or [] for entry in stream_entries]
        return [self._message(entry_id, fields, attempt=1) for entry_id, fields in entries]

    async def _ack(self, messages: list[InboundMessage]) -> None:
        await self._redis.xack(self.stream, self.group, *(m.message_id for m in messages))

    async def _dead_letter(self, message: InboundMessage, record: dict[str, str]) -> None:
        fields: dict[Any, Any] = {**record, "stream": self.stream, "group": self.group}
        await self._redis.xadd(self.dead_letter_stream, fields)

    async def _backlog(self) -> dict[str, int]:
        """``lag`` from XINFO GROUPS (Redis 7+; absent when Redis cannot tell) and the dead letter's length."""
        backlog = {"dead_letter_size": int(await self._redis.xlen(self.dead_letter_stream))}
        for group in await self._redis.xinfo_groups(self.stream):
            name = group.get("name")
            if (name.decode() if isinstance(name, bytes) else name) == self.group:
                lag = group.get("lag")
                if isinstance(lag, int):
                    backlog["lag"] = lag
        return backlog

    # ------------------------------------------------------------------ internals

    @property
    def _redis(self) -> redis_async.Redis:
        if self._client is None:
            raise RuntimeError(f"redis source {self.source_id!r} is not started")
        return self._client

    async def _reclaim(self) -> list[InboundMessage]:
        """Take over entries idle for ``claim_idle_ms`` (checked at most every half of that)."""
        now = time.monotonic()
        if (now - self._last_claim) * 1000 < min(self._claim_idle_ms / 2, 1000):
            return []
        self._last_claim = now
        cursor, entries, deleted = await self._redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self._claim_idle_ms,
            start_id=self._claim_cursor,
            count=self._batch_size,
        )
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._claim_cursor != "0-0":
            self._last_claim = 0.0  # more pending entries to scan: keep claiming on the next fetch
        if deleted:  # trimmed from the stream while pending: nothing left to retain
            await self._redis.xack(self.stream, self.group, *deleted)
        live = [(entry_id, fields) for entry_id, fields in entries if fields is not None]
        if not live:
            return []
        deliveries = await self._delivery_counts([entry_id for entry_id, _ in live])
        return [
            self._message(entry_id, fields, attempt=deliveries.get(entry_id, 2)) for entry_id, fields in live
        ]

    async def _delivery_counts(self, entry_ids: list[bytes]) -> dict[bytes, int]:
        pending = await self._redis.xpending_range(
            self.stream,
            self.group,
            min=entry_ids[0],
            max=entry_ids[-1],
            count=len(entry_ids) + 16,
            consumername=self.consumer,
        )
        return {row["message_id"]: int(row["times_delivered"]) for row in pending}

    def _message(self, entry_id: bytes, fields: dict[bytes, bytes], *, attempt: int) -> InboundMessage:
        body = fields.get(self._body_field)
        if body is None:
            decoded = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in fields.items()}
            body = json.dumps(decoded).encode()
        return InboundMessage(message_id=entry_id.decode(), body=body, attempt=attempt)

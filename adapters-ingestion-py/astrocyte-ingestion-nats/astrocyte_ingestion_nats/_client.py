"""A JetStream durable pull consumer: fetch batches, ack/nak one message at a time, dead-letter publish."""

from __future__ import annotations

from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from astrocyte.errors import StoreError

__all__ = ["Delivery", "JetStreamPuller"]


@dataclass(frozen=True)
class Delivery:
    """One delivered JetStream message and how often the server has delivered it."""

    message: Msg
    stream: str
    stream_sequence: int
    attempt: int

    @property
    def message_id(self) -> str:
        """The publisher's ``Nats-Msg-Id`` when given, else the stream sequence (stable across redeliveries)."""
        headers = self.message.headers or {}
        explicit = headers.get("Nats-Msg-Id")
        return (
            f"nats:{self.stream}:{explicit}" if explicit else f"nats:{self.stream}:seq:{self.stream_sequence}"
        )


class JetStreamPuller:
    """Connects, binds (creating when missing) a durable pull consumer, and fetches batches from it."""

    def __init__(
        self,
        *,
        url: str,
        stream: str,
        subject: str,
        durable: str,
        ack_wait_seconds: float,
        max_ack_pending: int,
    ) -> None:
        self._url = url
        self._stream = stream
        self._subject = subject
        self._durable = durable
        self._ack_wait = ack_wait_seconds
        self._max_ack_pending = max_ack_pending
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def connect(self) -> None:
        try:
            self._client = await nats.connect(
                self._url, connect_timeout=5, max_reconnect_attempts=3, allow_reconnect=True
            )
            self._js = self._client.jetstream()
            # The server keeps redelivering (no server-side max_deliver): the source dead-letters
            # itself on the last allowed attempt, so a crash during that attempt never loses a message.
            config = ConsumerConfig(
                durable_name=self._durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self._ack_wait,
                max_ack_pending=self._max_ack_pending,
                filter_subject=self._subject,
            )
            self._subscription = await self._js.pull_subscribe(
                self._subject, durable=self._durable, stream=self._stream, config=config
            )
        except (NatsError, OSError) as exc:
            await self.close()
            raise StoreError(
                f"cannot bind JetStream consumer {self._durable!r} on stream {self._stream!r} at {self._url}: "
                f"{exc}"
            ) from exc

    async def fetch(self, batch: int, timeout_seconds: float) -> list[Delivery]:
        """Up to ``batch`` messages; ``[]`` when none arrived within ``timeout_seconds``."""
        if self._subscription is None:
            raise StoreError("the JetStream consumer is not connected")
        try:
            messages = await self._subscription.fetch(batch, timeout=timeout_seconds)
        except NatsTimeoutError:
            return []
        return [
            Delivery(
                message=msg,
                stream=msg.metadata.stream,
                stream_sequence=msg.metadata.sequence.stream,
                attempt=msg.metadata.num_delivered,
            )
            for msg in messages
        ]

    async def ensure_dead_letter_stream(self, subject: str) -> None:
        """Make sure a stream stores ``subject``, creating ``<stream>_dead_letter`` when none does."""
        if self._js is None:
            raise StoreError("the JetStream consumer is not connected")
        try:
            await self._js.find_stream_name_by_subject(subject)
        except NotFoundError:
            await self._js.add_stream(name=f"{self._stream}_dead_letter", subjects=[subject])

    async def backlog(self, dead_letter_subject: str) -> dict[str, int]:
        """``lag``: messages of the subject the durable consumer has not been sent yet;
        ``dead_letter_size``: messages stored on the dead-letter subject."""
        if self._js is None or self._subscription is None:
            raise StoreError("the JetStream consumer is not connected")
        consumer = await self._subscription.consumer_info()
        stream = await self._js.find_stream_name_by_subject(dead_letter_subject)
        info = await self._js.stream_info(stream, subjects_filter=dead_letter_subject)
        subjects = info.state.subjects or {}
        return {
            "lag": int(consumer.num_pending or 0),
            "dead_letter_size": int(subjects.get(dead_letter_subject, 0)),
        }

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        """Publish durably and wait for the JetStream ack (used for dead letters)."""
        if self._js is None:
            raise StoreError("the JetStream consumer is not connected")
        try:
            await self._js.publish(subject, payload, headers=headers, timeout=5)
        except NatsError as exc:
            raise StoreError(f"cannot publish the dead letter to {subject!r}: {exc}") from exc

    async def flush(self) -> None:
        """Make sure acks sent so far reached the server."""
        if self._client is not None:
            await self._client.flush(timeout=5)

    async def close(self) -> None:
        client, self._client = self._client, None
        self._js = None
        self._subscription = None
        if client is not None and not client.is_closed:
            await client.close()

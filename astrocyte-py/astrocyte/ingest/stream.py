"""``StreamSource``: the consume loop every stream connector shares.

A connector implements five backend hooks — ``_connect``, ``_disconnect``, ``_fetch`` (a batch of
:class:`InboundMessage`, blocking briefly when idle), ``_ack`` and ``_dead_letter`` (optionally
``_retry``) — and inherits ``start``/``stop``/``abort``/``health_check``, per-message handling,
ack-after-retain and backoff on fetch failures.

``stop()`` is graceful: the batch in hand is finished and acknowledged. ``abort()`` is the hard kill
(used by tests to simulate a crash): the loop is cancelled where it stands, nothing more is
acknowledged, and the backend redelivers what was left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import ClassVar

from astrocyte.ingest.handler import Disposition, InboundMessage, IngestHandler
from astrocyte.provider import SourceType
from astrocyte.types import HealthStatus

__all__ = ["StreamSource"]

logger = logging.getLogger("astrocyte.ingest")


class StreamSource(ABC):
    """Base of stream (and poll) connectors; see the module docstring for the hooks."""

    SPI_VERSION: ClassVar[int] = 1
    source_type: SourceType = "stream"

    def __init__(
        self,
        *,
        handler: IngestHandler,
        backoff_initial_seconds: float = 0.2,
        backoff_max_seconds: float = 10.0,
        stop_timeout_seconds: float = 30.0,
    ) -> None:
        if backoff_initial_seconds <= 0 or backoff_max_seconds < backoff_initial_seconds:
            raise ValueError("need 0 < backoff_initial_seconds <= backoff_max_seconds")
        self.handler = handler
        self.source_id = handler.source_id
        self._backoff = (backoff_initial_seconds, backoff_max_seconds)
        self._stop_timeout = stop_timeout_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._fetch_failures = 0
        self._last_fetch_error: str | None = None

    # ------------------------------------------------------------------ backend hooks

    @abstractmethod
    async def _connect(self) -> None:
        """Open connections and create consumer groups/streams; raise when the backend is unreachable."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Release connections (must be safe to call twice)."""

    @abstractmethod
    async def _fetch(self) -> list[InboundMessage]:
        """The next batch (possibly redelivered messages); wait at most about a second when idle."""

    @abstractmethod
    async def _ack(self, messages: list[InboundMessage]) -> None:
        """Acknowledge messages that were retained or dead-lettered."""

    @abstractmethod
    async def _dead_letter(self, message: InboundMessage, record: dict[str, str]) -> None:
        """Write ``record`` to the dead letter (the base acknowledges the message afterwards)."""

    async def _retry(self, message: InboundMessage) -> None:  # noqa: B027 - optional hook
        """Ask for redelivery of a message whose retain failed (default: the backend redelivers
        unacknowledged messages by itself). Connectors whose acknowledgement is positional (Kafka
        offsets) must rewind here, since later messages of the batch are still acknowledged."""

    async def _backlog(self) -> dict[str, int]:
        """Optional: how far behind the source is, while connected — ``lag`` (messages not yet
        delivered to this consumer group) and ``dead_letter_size`` (entries in the dead letter).
        Reported in ``health_check().details``; the default reports nothing."""
        return {}

    # ------------------------------------------------------------------ IngestSource

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = asyncio.Event()
        await self._connect()
        self._task = asyncio.create_task(self._run(), name=f"ingest:{self.source_id}")

    async def stop(self) -> None:
        """Finish the batch in hand, acknowledge it and disconnect (cancel after ``stop_timeout_seconds``)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=self._stop_timeout)
            if not done:
                logger.warning("ingest source did not stop in time", extra={"source_id": self.source_id})
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif not task.cancelled() and task.exception() is not None:
                logger.warning(
                    "ingest consume loop had failed",
                    extra={"source_id": self.source_id, "error": repr(task.exception())},
                )
        await self._disconnect()

    async def abort(self) -> None:
        """Kill the consumer where it stands (a crash): no further acks, connections dropped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled():
                task.exception()  # retrieved: a crash is what abort() stands for
        await self._disconnect()

    async def health_check(self) -> HealthStatus:
        """Unhealthy when the loop died, fetching keeps failing, or the handler is degraded;
        ``details["running"]`` tells a supervisor whether a restart is needed."""
        status = self.handler.stats.status()
        if self._task is not None and self._task.done() and not self._stopping.is_set():
            status = status.model_copy(
                update={"healthy": False, "message": "consumer loop ended unexpectedly"}
            )
        elif self._fetch_failures:
            message = f"fetch failing: {self._last_fetch_error}"
            status = status.model_copy(update={"healthy": False, "message": message})
        backlog: dict[str, int] = {}
        if self.running:
            try:
                backlog = await self._backlog()
            except Exception as exc:  # a health check reports, it never raises
                logger.debug("backlog of source %r unavailable: %s", self.source_id, exc)
        details = {**status.details, **backlog, "running": self.running}
        return status.model_copy(update={"details": details})

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = await self._fetch()
            except Exception as exc:  # connection trouble: back off, keep consuming
                self._fetch_failures += 1
                self._last_fetch_error = f"{type(exc).__name__}: {exc}"
                logger.warning("ingest fetch failed", extra={"source_id": self.source_id, "error": str(exc)})
                await self._sleep(self._delay())
                continue
            self._fetch_failures = 0
            if batch:
                await self._process(batch)

    async def _process(self, batch: list[InboundMessage]) -> None:
        done: list[InboundMessage] = []
        outcomes = await self.handler.handle_batch(batch)
        for message, outcome in zip(batch, outcomes, strict=True):
            if outcome.disposition is Disposition.DEAD_LETTER:
                await self._dead_letter(message, self.handler.dead_letter_record(message, outcome.error))
            if outcome.disposition is Disposition.RETRY:
                await self._retry(message)
            else:
                done.append(message)
        if done:
            await self._ack(done)

    def _delay(self) -> float:
        initial, ceiling = self._backoff
        return float(min(ceiling, initial * 2.0 ** min(self._fetch_failures - 1, 16)))

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when stop() is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

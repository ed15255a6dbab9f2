"""Background retain of chat exchanges: off the response path, bounded, retried, never lost silently.

:meth:`ExchangeRetainer.submit` only puts the exchange on a bounded queue and returns. Workers
retain each one; transient failures (a store or provider down, a rate limit, an open circuit) are
retried with exponential backoff and jitter, up to ``max_attempts``. An exchange that cannot be
retained — queue full, attempts used up, rejected as invalid, or still queued when shutdown's
``drain_timeout`` ends — is *dead-lettered*: appended to ``dead_letter_path`` as a JSON line that
``astrocyte import FILE`` replays (the idempotency key makes a replay safe), and always logged at
ERROR level and counted in :attr:`ExchangeRetainer.stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from astrocyte.chat_proxy.settings import ChatProxyRetainSettings
from astrocyte.errors import InvalidRequestError, QuotaExceededError, RateLimitedError
from astrocyte.identity import AstrocyteContext
from astrocyte.types import RetainRequest

__all__ = ["ExchangeRetainer", "RetainFunction", "RetainStats"]

_LOG = logging.getLogger("astrocyte.chat_proxy")
_WORKERS = 2

#: Retains one request as the given caller (``Astrocyte.retain`` fits).
RetainFunction = Callable[[RetainRequest, AstrocyteContext | None], Awaitable[object]]


@dataclass(slots=True)
class RetainStats:
    """Counters of the background retain (since start)."""

    submitted: int = 0
    retained: int = 0
    retries: int = 0
    dead_lettered: int = 0

    @property
    def settled(self) -> int:
        return self.retained + self.dead_lettered


@dataclass(frozen=True, slots=True)
class _Job:
    request: RetainRequest
    context: AstrocyteContext | None


class ExchangeRetainer:
    """A bounded queue of retain jobs and the workers that drain it. ``await aclose()`` drains it."""

    def __init__(self, retain: RetainFunction, settings: ChatProxyRetainSettings | None = None) -> None:
        self._retain = retain
        self._settings = settings or ChatProxyRetainSettings()
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=self._settings.queue_size)
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self.stats = RetainStats()

    @property
    def pending(self) -> int:
        """Exchanges queued or being retained."""
        return self.stats.submitted - self.stats.settled

    def submit(self, request: RetainRequest, context: AstrocyteContext | None) -> None:
        """Queue ``request`` without waiting; a full queue or a closed retainer dead-letters it."""
        self.stats.submitted += 1
        job = _Job(request, context)
        if self._closed:
            self._dead_letter(job, "the chat proxy is shutting down")
            return
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self._dead_letter(job, f"the retain queue is full ({self._settings.queue_size} waiting)")
            return
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"chat-retain-{i}") for i in range(_WORKERS)
            ]

    async def drain(self) -> None:
        """Wait until every queued exchange is retained or dead-lettered."""
        await self._queue.join()

    async def aclose(self) -> None:
        """Stop accepting, wait up to ``drain_timeout`` for the queue, dead-letter what is left."""
        self._closed = True
        if self._workers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=self._settings.drain_timeout)
            for worker in self._workers:
                worker.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []
        while not self._queue.empty():
            self._dead_letter(self._queue.get_nowait(), "still queued when the chat proxy shut down")

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._attempt(job)
            except asyncio.CancelledError:
                self._dead_letter(job, "interrupted by shutdown")
                raise
            finally:
                self._queue.task_done()

    async def _attempt(self, job: _Job) -> None:
        settings = self._settings
        for attempt in range(1, settings.max_attempts + 1):
            try:
                await self._retain(job.request, job.context)
            except (InvalidRequestError, QuotaExceededError) as exc:
                self._dead_letter(job, f"rejected: {exc}")  # retrying cannot help
                return
            except Exception as exc:  # a worker must survive anything; the exchange is retried or kept
                if attempt == settings.max_attempts:
                    self._dead_letter(job, f"failed {attempt} time(s), last: {type(exc).__name__}: {exc}")
                    return
                self.stats.retries += 1
                delay = _delay(settings, attempt, exc)
                _LOG.warning(
                    "retain of a chat exchange in bank %r failed (attempt %d of %d), retrying in %.2fs: %s",
                    job.request.bank_id,
                    attempt,
                    settings.max_attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
            else:
                self.stats.retained += 1
                return

    def _dead_letter(self, job: _Job, reason: str) -> None:
        self.stats.dead_lettered += 1
        path = self._settings.dead_letter_path
        request = job.request
        if path is not None:
            try:
                line = json.dumps(request.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
                with Path(path).open("a", encoding="utf-8") as file:
                    file.write(line + "\n")
            except OSError as exc:
                reason = f"{reason}; and writing the dead-letter file {path!r} failed: {exc}"
                path = None
        where = (
            f"written to {path}" if path is not None else "set chat_proxy.retain.dead_letter_path to keep it"
        )
        _LOG.error(
            "chat exchange for bank %r (idempotency key %s, %d chars) was not retained: %s (%s)",
            request.bank_id,
            request.idempotency_key,
            len(request.content),
            reason,
            where,
        )


def _delay(settings: ChatProxyRetainSettings, attempt: int, exc: Exception) -> float:
    if isinstance(exc, RateLimitedError):
        return min(settings.max_backoff, exc.retry_after)
    backoff = settings.backoff_base * (2.0 ** (attempt - 1))
    return min(settings.max_backoff, backoff * random.uniform(0.5, 1.0))  # jitter

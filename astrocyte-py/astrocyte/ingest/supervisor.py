"""``IngestSupervisor``: keeps a registry's stream and poll sources running.

Each source gets one watcher task: it starts the source (retrying with exponential backoff while the
backend is unreachable), then checks its health every ``check_interval`` seconds and restarts it
when its consume loop is no longer running. ``stop()`` stops every source gracefully, concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from astrocyte.ingest.registry import RUNNABLE_TYPES, SourceRegistry
from astrocyte.provider import IngestSource

__all__ = ["IngestSupervisor"]

logger = logging.getLogger("astrocyte.ingest")


class IngestSupervisor:
    def __init__(
        self,
        registry: SourceRegistry,
        *,
        backoff_initial_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        check_interval: float = 5.0,
        stop_timeout: float = 30.0,
    ) -> None:
        if (
            backoff_initial_seconds <= 0
            or backoff_max_seconds < backoff_initial_seconds
            or check_interval <= 0
        ):
            raise ValueError("need 0 < backoff_initial_seconds <= backoff_max_seconds and check_interval > 0")
        self.registry = registry
        self._backoff = (backoff_initial_seconds, backoff_max_seconds)
        self._check_interval = check_interval
        self._stop_timeout = stop_timeout
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._started: dict[str, asyncio.Event] = {}
        self._stopping = asyncio.Event()
        #: Start attempts that failed, per source (reset by a successful start).
        self.start_failures: dict[str, int] = {}

    async def start(self) -> None:
        """Watch every registered stream/poll source (returns at once; starting happens in the background)."""
        self._stopping = asyncio.Event()
        for source in self.registry.sources():
            self._watch(source)

    async def wait_started(self) -> None:
        """Wait until every watched source has started once (wrap in ``asyncio.timeout``)."""
        await asyncio.gather(*(event.wait() for event in self._started.values()))

    async def add(self, source: IngestSource) -> None:
        """Register ``source`` at run time and start watching it."""
        self.registry.register(source)
        self._watch(source)

    async def remove(self, source_id: str) -> None:
        """Stop ``source_id`` gracefully and deregister it."""
        source = self.registry.get(source_id)
        await self._unwatch(source_id)
        await self._stop_source(source)
        self.registry.deregister(source_id)

    async def stop(self) -> None:
        self._stopping.set()
        for source_id in list(self._watchers):
            await self._unwatch(source_id)
        await asyncio.gather(*(self._stop_source(s) for s in self.registry.sources()))

    # ------------------------------------------------------------------ internals

    def _watch(self, source: IngestSource) -> None:
        if source.source_type in RUNNABLE_TYPES and source.source_id not in self._watchers:
            self.start_failures[source.source_id] = 0
            self._started[source.source_id] = asyncio.Event()
            self._watchers[source.source_id] = asyncio.create_task(
                self._supervise(source), name=f"supervise:{source.source_id}"
            )

    async def _unwatch(self, source_id: str) -> None:
        task = self._watchers.pop(source_id, None)
        self._started.pop(source_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _stop_source(self, source: IngestSource) -> None:
        try:
            await asyncio.wait_for(source.stop(), self._stop_timeout)
        except Exception:
            logger.exception("ingest source failed to stop", extra={"source_id": source.source_id})

    async def _supervise(self, source: IngestSource) -> None:
        while not self._stopping.is_set():
            await self._start_with_backoff(source)
            while not self._stopping.is_set():
                await self._sleep(self._check_interval)
                if not await self._running(source):
                    logger.warning(
                        "ingest source stopped running; restarting", extra={"source_id": source.source_id}
                    )
                    await self._stop_source(source)
                    break

    async def _start_with_backoff(self, source: IngestSource) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await source.start()
            except Exception as exc:
                failures += 1
                self.start_failures[source.source_id] = failures
                initial, ceiling = self._backoff
                delay = min(ceiling, initial * 2 ** min(failures - 1, 16))
                logger.warning(
                    "ingest source failed to start",
                    extra={"source_id": source.source_id, "error": str(exc), "retry_in": delay},
                )
                await self._sleep(delay)
            else:
                self.start_failures[source.source_id] = 0
                self._started[source.source_id].set()
                return

    @staticmethod
    async def _running(source: IngestSource) -> bool:
        try:
            status = await source.health_check()
        except Exception:
            return False
        return status.details.get("running", True) is not False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

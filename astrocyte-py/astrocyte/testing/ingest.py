"""``IngestSourceContract``: the behaviour every stream connector must show against its real backend.

Subclass it and provide a ``harness`` fixture yielding an :class:`IngestHarness` bound to a fresh,
uniquely named stream/subject/topic (so parallel runs never collide)::

    class TestRedisSource(IngestSourceContract):
        @pytest.fixture
        async def harness(self):
            h = RedisHarness(stream=f"test-{uuid.uuid4().hex}")
            yield h
            await h.cleanup()

The suite retains into in-memory stores through a real :class:`~astrocyte.Astrocyte` and checks the
result by counting memories per idempotency key: every message exactly once, none lost, none
duplicated — also across a consumer killed mid-batch — and poison messages in the dead letter
without blocking the stream. Redelivery must happen within ``redelivery_timeout`` seconds (configure
the connector's reclaim/ack-wait interval short in the harness).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar, Protocol

import pytest

from astrocyte._facade import Astrocyte
from astrocyte.errors import StoreError
from astrocyte.identity import AstrocyteContext
from astrocyte.ingest.handler import HandleOutcome, InboundMessage, IngestHandler
from astrocyte.ingest.settings import SourceConfig
from astrocyte.pipeline.retain import IDEMPOTENCY_KEY
from astrocyte.provider import IngestSource, VectorStore
from astrocyte.types import RetainRequest, RetainResult

__all__ = ["IngestHarness", "IngestSourceContract", "KillableSource", "count_by_idempotency_key"]

_WORDS = (
    "invoice", "billing", "router", "firmware", "outage", "refund", "laptop", "keyboard",
    "battery", "printer", "shipping", "warranty", "password", "login", "account", "upgrade",
    "downgrade", "screen", "camera", "speaker", "latency", "timeout", "database", "backup",
)  # fmt: skip


class KillableSource(IngestSource, Protocol):
    async def abort(self) -> None:
        """Kill the consumer where it stands, like a crash (nothing more is acknowledged)."""
        ...


class IngestHarness(Protocol):
    """What a connector's test supplies to the contract suite."""

    async def publish(self, bodies: list[bytes]) -> None:
        """Append messages to the test's stream, in order."""
        ...

    def make_source(self, handler: IngestHandler, consumer: str) -> KillableSource:
        """A source consuming the test's stream as ``consumer`` of one shared group (not started)."""
        ...

    async def dead_letters(self) -> list[dict[str, str]]:
        """The dead-letter records written so far (fields of :meth:`IngestHandler.dead_letter_record`)."""
        ...


def _body(index: int, run: str, **extra: object) -> bytes:
    words = " ".join(_WORDS[(index * 7 + k * 3) % len(_WORDS)] for k in range(5))
    payload: dict[str, object] = {
        "content": f"Ticket {run}-{index}: customer reports {words} problem number {index * 7919}."
    }
    payload.update(extra)
    return json.dumps(payload).encode()


class _Stalling(IngestHandler):
    """Retains normally, then hangs *after* the ``stall_after``-th retain: retained but never acked."""

    stall_after = 5
    stalled: asyncio.Event

    async def handle(self, message: InboundMessage) -> HandleOutcome:
        outcome = await super().handle(message)
        await self._maybe_stall()
        return outcome

    async def handle_batch(self, messages: list[InboundMessage]) -> list[HandleOutcome]:
        outcomes = await super().handle_batch(messages)
        await self._maybe_stall()
        return outcomes

    async def _maybe_stall(self) -> None:
        if self.stats.retained >= self.stall_after:
            self.stalled.set()
            await asyncio.Event().wait()  # until the consumer is killed


class _FailingMemory:
    """The real Astrocyte, except that retains of content containing ``marker`` raise a
    :class:`StoreError` ``failures`` times (a store outage seen by that message only)."""

    def __init__(self, memory: Astrocyte, marker: str, failures: int) -> None:
        self._memory = memory
        self._marker = marker
        self._left = failures
        self.config = memory.config
        self.access = memory.access  # the handler picks its ingest identity from the access policy

    async def retain(
        self, content: RetainRequest, *, context: AstrocyteContext | None = None
    ) -> RetainResult:
        if self._marker in content.content and self._left > 0:
            self._left -= 1
            raise StoreError("vector store unavailable (injected outage)")
        return await self._memory.retain(content, context=context)

    async def retain_many(
        self, requests: list[RetainRequest], *, context: AstrocyteContext | None = None
    ) -> list[RetainResult]:
        """A batch holding the marked message fails as a whole (the outage is counted per message)."""
        if self._left > 0 and any(self._marker in request.content for request in requests):
            raise StoreError("vector store unavailable (injected outage)")
        return await self._memory.retain_many(requests, context=context)


async def count_by_idempotency_key(store: VectorStore, bank: str) -> Counter[str]:
    """How many memories of ``bank`` carry each idempotency key (one per message when ingest is exact)."""
    counts: Counter[str] = Counter()
    offset = 0
    while True:
        page = await store.list_vectors(bank, offset=offset, limit=500)
        counts.update(str(item.metadata.get(IDEMPOTENCY_KEY)) for item in page)
        if len(page) < 500:
            return counts
        offset += len(page)


class IngestSourceContract:
    """The connector contract; subclasses provide the ``harness`` fixture."""

    max_attempts: ClassVar[int] = 3
    #: Seconds within which the connector redelivers an unacknowledged message.
    redelivery_timeout: ClassVar[float] = 15.0
    bank: ClassVar[str] = "ingest-contract"

    @pytest.fixture
    async def memory(self) -> AsyncIterator[Astrocyte]:
        memory = Astrocyte.from_config(
            {
                "vector_store": "memory",
                "document_store": "memory",
                "graph_store": None,
                "embedding_provider": "hashing",
            }
        )
        yield memory
        await memory.close()

    def settings(self, **overrides: Any) -> SourceConfig:
        fields: dict[str, Any] = {
            "type": "stream",
            "driver": "contract",
            "target_bank": self.bank,
            "max_attempts": self.max_attempts,
        }
        fields.update(overrides)
        return SourceConfig.model_validate(fields)

    @staticmethod
    async def _eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await check():
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"timed out after {within}s waiting for {what}")

    async def _counts(self, memory: Astrocyte, bank: str | None = None) -> Counter[str]:
        return await count_by_idempotency_key(memory.stores.vector, bank or self.bank)

    async def _retained_all(
        self, memory: Astrocyte, expected: int, bank: str | None = None
    ) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(await self._counts(memory, bank)) >= expected

        return check

    # ------------------------------------------------------------------ the contract

    async def test_every_message_is_retained_exactly_once(
        self, harness: IngestHarness, memory: Astrocyte
    ) -> None:
        run = uuid.uuid4().hex[:8]
        await harness.publish([_body(i, run) for i in range(20)])
        source = harness.make_source(IngestHandler(memory, "contract", self.settings()), "c1")
        await source.start()
        try:
            await self._eventually(
                await self._retained_all(memory, 20), self.redelivery_timeout, "20 memories"
            )
        finally:
            await source.stop()
        counts = await self._counts(memory)
        assert len(counts) == 20
        assert set(counts.values()) == {1}
        assert await harness.dead_letters() == []

    async def test_consumer_killed_mid_batch_loses_and_duplicates_nothing(
        self, harness: IngestHarness, memory: Astrocyte
    ) -> None:
        run = uuid.uuid4().hex[:8]
        total = 40
        await harness.publish([_body(i, run) for i in range(total)])
        stalling = _Stalling(memory, "contract", self.settings())
        stalling.stalled = asyncio.Event()
        first = harness.make_source(stalling, "crashing")
        await first.start()
        async with asyncio.timeout(self.redelivery_timeout):
            await stalling.stalled.wait()
        await first.abort()  # the 5th message is retained but was never acknowledged
        assert 0 < len(await self._counts(memory)) < total

        second = harness.make_source(IngestHandler(memory, "contract", self.settings()), "survivor")
        await second.start()
        try:
            await self._eventually(
                await self._retained_all(memory, total), self.redelivery_timeout * 2, f"{total} memories"
            )
        finally:
            await second.stop()
        counts = await self._counts(memory)
        assert len(counts) == total, "messages were lost"
        assert set(counts.values()) == {1}, "a redelivered message created a second memory"

    async def test_poison_message_is_dead_lettered_and_does_not_block(
        self, harness: IngestHarness, memory: Astrocyte
    ) -> None:
        run = uuid.uuid4().hex[:8]
        poison = json.dumps({"no_content_here": True}).encode()
        await harness.publish([_body(0, run), poison, _body(1, run), _body(2, run)])
        source = harness.make_source(IngestHandler(memory, "contract", self.settings()), "c1")
        await source.start()
        try:
            await self._eventually(await self._retained_all(memory, 3), self.redelivery_timeout, "3 memories")

            async def dead_lettered() -> bool:
                return len(await harness.dead_letters()) == 1

            await self._eventually(dead_lettered, self.redelivery_timeout, "the dead letter")
        finally:
            await source.stop()
        (record,) = await harness.dead_letters()
        assert record["body"] == poison.decode()
        assert "IngestPayloadError" in record["error"]
        assert record["source_id"] == "contract"
        assert len(await self._counts(memory)) == 3

    async def test_failed_retain_is_not_acknowledged_and_is_redelivered(
        self, harness: IngestHarness, memory: Astrocyte
    ) -> None:
        run = uuid.uuid4().hex[:8]
        flaky = _FailingMemory(memory, f"{run}-1:", failures=1)
        handler = IngestHandler(flaky, "contract", self.settings())  # type: ignore[arg-type]
        await harness.publish([_body(i, run) for i in range(3)])
        source = harness.make_source(handler, "c1")
        await source.start()
        try:
            await self._eventually(
                await self._retained_all(memory, 3), self.redelivery_timeout * 2, "the redelivered message"
            )
        finally:
            await source.stop()
        counts = await self._counts(memory)
        assert len(counts) == 3
        assert set(counts.values()) == {1}
        assert handler.stats.retried == 1
        assert await harness.dead_letters() == []

    async def test_message_failing_every_attempt_is_dead_lettered_after_max_attempts(
        self, harness: IngestHarness, memory: Astrocyte
    ) -> None:
        run = uuid.uuid4().hex[:8]
        broken = _FailingMemory(memory, f"{run}-0:", failures=1000)
        handler = IngestHandler(broken, "contract", self.settings())  # type: ignore[arg-type]
        await harness.publish([_body(i, run) for i in range(2)])
        source = harness.make_source(handler, "c1")
        await source.start()
        try:

            async def dead_lettered() -> bool:
                return len(await harness.dead_letters()) == 1

            await self._eventually(
                dead_lettered, self.redelivery_timeout * (self.max_attempts + 1), "the dead letter"
            )
        finally:
            await source.stop()
        (record,) = await harness.dead_letters()
        assert int(record["attempts"]) == self.max_attempts
        assert "StoreError" in record["error"]
        assert len(await self._counts(memory)) == 1  # the healthy message went through

    async def test_bank_template_and_profile_mapping(self, harness: IngestHarness, memory: Astrocyte) -> None:
        run = uuid.uuid4().hex[:8]
        settings = self.settings(
            target_bank=None, target_bank_template="user-{user}", extraction_profile="builtin_conversation"
        )
        bodies = [_body(i, run, user=f"u{i % 2}-{run}", participant_name=f"P{i}") for i in range(4)]
        await harness.publish(bodies)
        source = harness.make_source(IngestHandler(memory, "contract", settings), "c1")
        await source.start()
        try:
            for user in (f"u0-{run}", f"u1-{run}"):
                await self._eventually(
                    await self._retained_all(memory, 2, f"user-{user}"),
                    self.redelivery_timeout,
                    f"bank {user}",
                )
        finally:
            await source.stop()
        items = await memory.stores.vector.list_vectors(f"user-u0-{run}", limit=10)
        assert sorted(str(item.metadata["participant"]) for item in items) == ["P0", "P2"]
        assert {item.metadata["_content_type"] for item in items} == {"conversation"}

    async def test_health_reports_running_and_stop_is_graceful(
        self, harness: IngestHarness, memory: Astrocyte
    ) -> None:
        source = harness.make_source(IngestHandler(memory, "contract", self.settings()), "c1")
        await source.start()
        try:
            status = await source.health_check()
            assert status.healthy, status.message
            assert status.details.get("running") is True
            assert source.source_type in ("stream", "poll")
            assert source.source_id == "contract"
        finally:
            await source.stop()
        assert (await source.health_check()).details.get("running") is False
        await source.stop()  # stopping twice is harmless

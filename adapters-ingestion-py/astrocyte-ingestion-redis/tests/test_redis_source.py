"""RedisStreamSource against the real Redis at 127.0.0.1:6379 (``ASTROCYTE_REDIS_URL`` overrides)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis as redis_sync
import redis.asyncio as redis_async
from astrocyte_ingestion_redis import RedisStreamSource
from redis.exceptions import RedisError

from astrocyte import Astrocyte
from astrocyte.cli import main
from astrocyte.errors import ConfigError
from astrocyte.ingest import IngestHandler, IngestSupervisor, SourceRegistry
from astrocyte.ingest.settings import SourceConfig
from astrocyte.testing import IngestSourceContract

REDIS_URL = os.environ.get("ASTROCYTE_REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.backend("redis")


async def _client() -> redis_async.Redis:
    client = redis_async.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"redis not reachable at {REDIS_URL}: {exc}")
    return client


class RedisHarness:
    def __init__(self, client: redis_async.Redis) -> None:
        self.client = client
        self.stream = f"astrocyte-test-{uuid.uuid4().hex}"
        self.dead_letter = f"{self.stream}:dead-letter"

    async def publish(self, bodies: list[bytes]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for body in bodies:
                pipe.xadd(self.stream, {"body": body})
            await pipe.execute()

    def make_source(self, handler: IngestHandler, consumer: str) -> RedisStreamSource:
        return RedisStreamSource(
            handler=handler,
            url=REDIS_URL,
            stream=self.stream,
            group="contract",
            consumer=consumer,
            batch_size=8,
            block_ms=100,
            claim_idle_ms=300,
        )

    async def dead_letters(self) -> list[dict[str, str]]:
        entries = await self.client.xrange(self.dead_letter)
        return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]

    async def cleanup(self) -> None:
        await self.client.delete(self.stream, self.dead_letter)
        await self.client.aclose()


class TestRedisStreamContract(IngestSourceContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[RedisHarness]:
        harness = RedisHarness(await _client())
        yield harness
        await harness.cleanup()


@pytest.fixture
async def redis_harness() -> AsyncIterator[RedisHarness]:
    harness = RedisHarness(await _client())
    yield harness
    await harness.cleanup()


def _memory(stream: str, **source: object) -> Astrocyte:
    return Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {
                "tickets": {
                    "type": "stream",
                    "driver": "redis",
                    "target_bank_template": "customer-{customer_id}",
                    "config": {"url": REDIS_URL, "stream": stream, "block_ms": 100, **source},
                }
            },
        }
    )


async def test_config_sources_run_under_the_supervisor(redis_harness: RedisHarness) -> None:
    memory = _memory(redis_harness.stream)
    registry = SourceRegistry.from_config(memory)
    supervisor = IngestSupervisor(registry, check_interval=0.2)
    # An entry without a body field is read as a JSON object of its fields.
    await redis_harness.client.xadd(
        redis_harness.stream, {"content": "Printer jams on page two.", "customer_id": "42"}
    )
    await supervisor.start()
    try:
        async with asyncio.timeout(10):
            await supervisor.wait_started()
        for _ in range(200):  # bounded: 10 s
            if await memory.stores.vector.list_vectors("customer-42"):
                break
            await asyncio.sleep(0.05)
        health = await registry.health()
        assert health["tickets"].healthy
        await supervisor.stop()
        (item,) = await memory.stores.vector.list_vectors("customer-42")
    finally:
        await supervisor.stop()
        await memory.close()
    assert item.text == "Printer jams on page two."
    assert item.metadata["_source"] == "tickets"
    pending = await redis_harness.client.xpending(redis_harness.stream, "astrocyte")
    assert pending["pending"] == 0


async def test_unreachable_redis_is_retried_with_backoff_not_raised() -> None:
    memory = _memory(f"astrocyte-test-{uuid.uuid4().hex}", url="redis://127.0.0.1:1/0")
    supervisor = IngestSupervisor(
        SourceRegistry.from_config(memory), backoff_initial_seconds=0.05, check_interval=0.1
    )
    await supervisor.start()
    try:
        for _ in range(250):  # bounded: 5 s
            if supervisor.start_failures.get("tickets", 0) >= 2:
                break
            await asyncio.sleep(0.02)
        assert supervisor.start_failures["tickets"] >= 2
        assert not (await supervisor.registry.health())["tickets"].details["running"]
    finally:
        await supervisor.stop()
        await memory.close()


def test_bad_driver_options_name_the_source_key_path() -> None:
    memory = _memory("s", strem="typo")
    with pytest.raises(ConfigError) as caught:
        SourceRegistry.from_config(memory)
    assert caught.value.key_path == "sources.tickets.config"
    assert "strem" in str(caught.value)


def test_cli_ingest_run_consumes_until_told_to_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = redis_sync.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        pytest.skip(f"redis not reachable at {REDIS_URL}: {exc}")
    stream = f"astrocyte-test-{uuid.uuid4().hex}"
    database = tmp_path / "memory.db"
    config = tmp_path / "astrocyte.yaml"
    config.write_text(
        f"vector_store_config: {{path: {database}}}\ndocument_store_config: {{path: {database}}}\n"
        f"graph_store_config: {{path: {database}}}\n"
        "sources:\n"
        f"  notes: {{type: stream, driver: redis, target_bank: notes, config: {{url: '{REDIS_URL}', stream: {stream}, block_ms: 100}}}}\n",
        encoding="utf-8",
    )
    try:
        client.xadd(stream, {"body": b'{"content": "The staging database moved to host db-2."}'})
        assert main(["ingest", "run", "--for", "1.5", "-c", str(config)]) == 0
        assert client.xpending(stream, "astrocyte")["pending"] == 0
    finally:
        client.delete(stream, f"{stream}:dead-letter")
        client.close()
    output = capsys.readouterr().out
    assert "running notes" in output
    assert '"retained": 1' in output
    assert main(["recall", "staging database", "--bank", "notes", "-c", str(config)]) == 0
    assert "db-2" in capsys.readouterr().out


async def test_health_reports_lag_and_dead_letter_size(redis_harness: RedisHarness) -> None:
    memory = Astrocyte.from_config(
        {"vector_store": "memory", "document_store": "memory", "graph_store": None}
    )
    settings = SourceConfig.model_validate({"type": "stream", "driver": "redis", "target_bank": "b"})
    source = redis_harness.make_source(IngestHandler(memory, "tickets", settings), "c1")
    await redis_harness.publish([b'{"content": "Printer jams on page two."}', b'{"no_content": true}'])
    await source._connect()  # connected, nothing read yet: both entries are behind
    assert await source._backlog() == {"lag": 2, "dead_letter_size": 0}
    await source._disconnect()
    await source.start()
    try:
        for _ in range(200):  # bounded: 10 s
            details = (await source.health_check()).details
            if details.get("dead_letter_size") == 1 and details.get("retained") == 1:
                break
            await asyncio.sleep(0.05)
        assert (details["lag"], details["dead_letter_size"], details["retained"]) == (0, 1, 1)
    finally:
        await source.stop()
        await memory.close()
    assert "lag" not in (await source.health_check()).details  # reported only while connected

"""NatsJetStreamSource against the real NATS JetStream at 127.0.0.1:4222 (unique stream per test)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from astrocyte_ingestion_nats import NatsJetStreamSource
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from astrocyte import Astrocyte
from astrocyte._discovery import load_provider_class
from astrocyte.errors import ConfigError, StoreError
from astrocyte.ingest import IngestHandler, SourceConfig, SourceRegistry
from astrocyte.testing import IngestSourceContract

NATS_URL = os.environ.get("ASTROCYTE_NATS_URL", "nats://127.0.0.1:4222")

pytestmark = pytest.mark.backend("nats")


async def _connect() -> Client:
    try:
        return await nats.connect(
            NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False
        )
    except Exception as exc:
        pytest.skip(f"nats: JetStream server not reachable at {NATS_URL} ({type(exc).__name__})")


class NatsHarness:
    """One uniquely named stream + subject + dead-letter subject on the real server."""

    def __init__(self, client: Client) -> None:
        run = uuid.uuid4().hex[:10]
        self.client = client
        self.js = client.jetstream()
        self.stream = f"astrocyte_test_{run}"
        self.subject = f"astrocyte.test.{run}.in"
        self.dead_letter_subject = f"astrocyte.test.{run}.dead"
        self.sources: list[NatsJetStreamSource] = []

    async def setup(self) -> None:
        await self.js.add_stream(name=self.stream, subjects=[self.subject])

    async def publish(self, bodies: list[bytes]) -> None:
        for body in bodies:
            await self.js.publish(self.subject, body)

    def make_source(
        self, handler: IngestHandler, consumer: str, principal_header: str | None = None
    ) -> NatsJetStreamSource:
        source = NatsJetStreamSource(
            principal_header=principal_header,
            handler=handler,
            url=NATS_URL,
            stream=self.stream,
            subject=self.subject,
            durable=f"{self.stream}_durable",  # one durable consumer shared by every instance
            dead_letter_subject=self.dead_letter_subject,
            ack_wait_seconds=2.0,
            retry_delay_seconds=0.2,
            fetch_timeout_seconds=0.5,
            batch_size=8,  # several batches per test, so a kill lands mid-stream
        )
        self.sources.append(source)
        return source

    async def dead_letters(self) -> list[dict[str, str]]:
        try:
            name = await self.js.find_stream_name_by_subject(self.dead_letter_subject)
        except NotFoundError:
            return []
        info = await self.js.stream_info(name)
        records = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
            stored = await self.js.get_msg(name, seq)
            records.append(json.loads(stored.data or b"{}"))
        return records

    async def cleanup(self) -> None:
        for source in self.sources:
            await source.abort()
        for name in (self.stream, f"{self.stream}_dead_letter"):
            with contextlib.suppress(NotFoundError):
                await self.js.delete_stream(name)


@pytest.fixture
async def nats_harness() -> AsyncIterator[NatsHarness]:
    client = await _connect()
    harness = NatsHarness(client)
    await harness.setup()
    yield harness
    await harness.cleanup()
    await client.close()


class TestNatsJetStreamSourceContract(IngestSourceContract):
    redelivery_timeout = 15.0

    @pytest.fixture
    async def harness(self, nats_harness: NatsHarness) -> NatsHarness:
        return nats_harness


@pytest.fixture
async def memory() -> AsyncIterator[Astrocyte]:
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


async def test_publisher_message_id_is_the_idempotency_key(
    nats_harness: NatsHarness, memory: Astrocyte
) -> None:
    """``Nats-Msg-Id`` (the publisher's own id) names the memory; without it the stream sequence does."""
    body = json.dumps({"content": "The router firmware upgrade fixed the outage."}).encode()
    await nats_harness.js.publish(nats_harness.subject, body, headers={"Nats-Msg-Id": "evt-1"})
    other = json.dumps({"content": "Billing moved the refund to the new account."}).encode()
    await nats_harness.js.publish(nats_harness.subject, other)
    settings = SourceConfig(type="stream", driver="nats", target_bank="b1")
    source = nats_harness.make_source(IngestHandler(memory, "events", settings), "c1")
    await source.start()
    try:
        await IngestSourceContract._eventually(lambda: _handled(source, 2), 10.0, "two handled messages")
    finally:
        await source.stop()
    items = await memory.stores.vector.list_vectors("b1")
    assert sorted(str(item.metadata["_message_id"]) for item in items) == [
        f"nats:{nats_harness.stream}:evt-1",
        f"nats:{nats_harness.stream}:seq:2",
    ]


async def _handled(source: NatsJetStreamSource, retained: int) -> bool:
    return source.handler.stats.retained >= retained


async def test_principal_header_fills_the_bank_template(nats_harness: NatsHarness, memory: Astrocyte) -> None:
    body = json.dumps({"content": "Prefers the window seat on long flights."}).encode()
    await nats_harness.js.publish(nats_harness.subject, body, headers={"X-Astrocyte-Principal": "ana"})
    settings = SourceConfig(type="stream", driver="nats", target_bank_template="user-{principal}")
    source = nats_harness.make_source(
        IngestHandler(memory, "events", settings), "c1", principal_header="X-Astrocyte-Principal"
    )
    await source.start()
    try:
        await IngestSourceContract._eventually(lambda: _handled(source, 1), 10.0, "the message")
    finally:
        await source.stop()
    assert len(await memory.stores.vector.list_vectors("user-ana")) == 1


async def test_health_reports_lag_and_dead_letter_size(nats_harness: NatsHarness, memory: Astrocyte) -> None:
    await nats_harness.publish([json.dumps({"content": "Printer jams on page two."}).encode(), b"{}"])
    settings = SourceConfig(type="stream", driver="nats", target_bank="b1", max_attempts=1)
    source = nats_harness.make_source(IngestHandler(memory, "events", settings), "c1")
    await source._connect()  # bound, nothing fetched yet: both messages are behind
    assert (await source._backlog())["lag"] == 2
    await source._disconnect()
    await source.start()
    try:

        async def caught_up() -> bool:
            details = (await source.health_check()).details
            return details.get("dead_letter_size") == 1 and details.get("lag") == 0

        await IngestSourceContract._eventually(caught_up, 10.0, "lag 0 and one dead letter")
    finally:
        await source.stop()
    assert "lag" not in (await source.health_check()).details  # reported only while connected


async def test_registry_builds_the_source_from_yaml_config(nats_harness: NatsHarness) -> None:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {
                "tickets": {
                    "type": "stream",
                    "driver": "nats",
                    "target_bank": "support",
                    "config": {
                        "url": NATS_URL,
                        "stream": nats_harness.stream,
                        "subject": nats_harness.subject,
                    },
                }
            },
        }
    )
    try:
        source = SourceRegistry.from_config(memory).get("tickets")
        assert isinstance(source, NatsJetStreamSource)
        assert source.durable == "astrocyte_tickets"
        assert source.dead_letter_subject == "astrocyte.dead_letter.tickets"
    finally:
        await memory.close()


def test_entry_point_is_registered() -> None:
    assert load_provider_class("ingest_source", "nats") is NatsJetStreamSource


async def test_invalid_options_name_the_key(memory: Astrocyte) -> None:
    handler = IngestHandler(memory, "s", SourceConfig(type="stream", driver="nats", target_bank="b"))
    with pytest.raises(ConfigError, match="batch_size"):
        NatsJetStreamSource(handler=handler, stream="s", subject="a.b", batch_size=0)
    with pytest.raises(ConfigError, match="dead_letter_subject"):
        NatsJetStreamSource(handler=handler, stream="s", subject="a.b", dead_letter_subject="a.b")


async def test_unreachable_server_fails_start_with_a_store_error(memory: Astrocyte) -> None:
    handler = IngestHandler(memory, "s", SourceConfig(type="stream", driver="nats", target_bank="b"))
    source = NatsJetStreamSource(handler=handler, url="nats://127.0.0.1:1", stream="s", subject="a.b")
    with pytest.raises(StoreError, match="cannot bind JetStream consumer"):
        await source.start()


async def test_benchmark_command_reports_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    probe = await _connect()  # skip with one line when the server is down
    await probe.close()
    from astrocyte_ingestion_nats import bench

    await asyncio.to_thread(
        bench.main, ["--messages", "30", "--runs", "1", "--store", "memory", "--url", NATS_URL]
    )
    report = capsys.readouterr().out
    assert "nats/direct-batch" in report
    assert float(report.split("nats ")[1].split()[0]) > 0

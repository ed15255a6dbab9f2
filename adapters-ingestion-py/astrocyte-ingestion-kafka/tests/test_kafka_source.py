"""KafkaSource against a real Kafka-protocol broker (Tansu from the dev deps, or ASTROCYTE_KAFKA_URL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from astrocyte_ingestion_kafka import KafkaSource
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from astrocyte import Astrocyte
from astrocyte._discovery import load_provider_class
from astrocyte.errors import ConfigError, StoreError
from astrocyte.ingest import IngestHandler, SourceConfig, SourceRegistry
from astrocyte.testing import IngestSourceContract

pytestmark = pytest.mark.backend("kafka")

#: The default session timeout makes the first group join take ~23 s on Tansu.
SESSION_TIMEOUT_MS = 6000


class KafkaHarness:
    """A uniquely named two-partition topic, consumer group and dead-letter topic."""

    def __init__(self, bootstrap: str) -> None:
        run = uuid.uuid4().hex[:10]
        self.bootstrap = bootstrap
        self.topic = f"astrocyte-test-{run}"
        self.dead_letter_topic = f"astrocyte-test-{run}-dead"
        self.group = f"astrocyte-test-{run}"
        self.sources: list[KafkaSource] = []
        self._producer: KafkaProducer | None = None

    def setup(self) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(self.topic, num_partitions=2, replication_factor=1)])
        finally:
            admin.close()
        self._producer = KafkaProducer(bootstrap_servers=self.bootstrap)

    async def publish(self, bodies: list[bytes]) -> None:
        producer = self._producer
        assert producer is not None

        def send_all() -> None:
            for index, body in enumerate(bodies):
                producer.send(self.topic, value=body, key=str(index).encode())
            producer.flush(timeout=30)

        await asyncio.to_thread(send_all)

    def make_source(self, handler: IngestHandler, consumer: str) -> KafkaSource:
        source = KafkaSource(
            handler=handler,
            topics=[self.topic],
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            dead_letter_topic=self.dead_letter_topic,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            poll_timeout_ms=300,
            max_poll_records=8,  # several batches per test, so a kill lands mid-stream
            retry_delay_seconds=0.1,
            client_options={"client_id": f"{self.group}-{consumer}"},
        )
        self.sources.append(source)
        return source

    async def dead_letters(self) -> list[dict[str, str]]:
        def read() -> list[dict[str, str]]:
            consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            try:
                partitions = consumer.partitions_for_topic(self.dead_letter_topic) or set()
                assigned = [TopicPartition(self.dead_letter_topic, p) for p in sorted(partitions)]
                if not assigned:
                    return []
                consumer.assign(assigned)
                consumer.seek_to_beginning()
                ends = consumer.end_offsets(assigned)
                records: list[dict[str, str]] = []
                for _ in range(20):
                    if all(consumer.position(tp) >= ends[tp] for tp in assigned):
                        break
                    for batch in consumer.poll(timeout_ms=200).values():
                        records.extend(json.loads(r.value) for r in batch)
                return records
            finally:
                consumer.close()

        return await asyncio.to_thread(read)

    async def cleanup(self) -> None:
        for source in self.sources:
            await source.abort()
        if self._producer is not None:
            await asyncio.to_thread(self._producer.close, 5)


@pytest.fixture
async def kafka_harness(kafka_bootstrap: str) -> AsyncIterator[KafkaHarness]:
    harness = KafkaHarness(kafka_bootstrap)
    await asyncio.to_thread(harness.setup)
    yield harness
    await harness.cleanup()


class TestKafkaSourceContract(IngestSourceContract):
    redelivery_timeout = 30.0  # a consumer-group (re)join is part of every redelivery here

    @pytest.fixture
    async def harness(self, kafka_harness: KafkaHarness) -> KafkaHarness:
        return kafka_harness


@pytest.fixture
async def memory() -> AsyncIterator[Astrocyte]:
    memory = Astrocyte.from_config(
        {"vector_store": "memory", "document_store": "memory", "graph_store": None}
    )
    yield memory
    await memory.close()


def _handler(memory: Astrocyte) -> IngestHandler:
    return IngestHandler(memory, "events", SourceConfig(type="stream", driver="kafka", target_bank="b"))


async def test_committed_offsets_cover_exactly_the_retained_records(
    kafka_harness: KafkaHarness, memory: Astrocyte
) -> None:
    bodies = [json.dumps({"content": f"Order {i} shipped to warehouse {i * 31}."}).encode() for i in range(6)]
    await kafka_harness.publish(bodies)
    source = kafka_harness.make_source(_handler(memory), "c1")
    await source.start()
    try:
        await IngestSourceContract._eventually(_retained(source, 6), 30.0, "six retains")
    finally:
        await source.stop()

    def committed() -> int:
        consumer = KafkaConsumer(bootstrap_servers=kafka_harness.bootstrap, group_id=kafka_harness.group)
        try:
            return sum(consumer.committed(TopicPartition(kafka_harness.topic, p)) or 0 for p in (0, 1))
        finally:
            consumer.close(autocommit=False)

    assert await asyncio.to_thread(committed) == 6


def _retained(source: KafkaSource, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return source.handler.stats.retained >= count

    return check


async def test_registry_builds_the_source_from_config(kafka_bootstrap: str) -> None:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {
                "orders": {
                    "type": "stream",
                    "driver": "kafka",
                    "target_bank": "orders",
                    "config": {"bootstrap_servers": kafka_bootstrap, "topics": "orders-in"},
                }
            },
        }
    )
    try:
        source = SourceRegistry.from_config(memory).get("orders")
        assert isinstance(source, KafkaSource)
        assert source.topics == ["orders-in"]
        assert source.group_id == "astrocyte-orders"
        assert source.dead_letter_topic == "astrocyte.dead_letter.orders"
    finally:
        await memory.close()


def test_entry_point_is_registered() -> None:
    assert load_provider_class("ingest_source", "kafka") is KafkaSource


def test_invalid_options_name_the_key(memory: Astrocyte) -> None:
    with pytest.raises(ConfigError, match="topics"):
        KafkaSource(handler=_handler(memory), topics=[])
    with pytest.raises(ConfigError, match="client_options"):
        KafkaSource(handler=_handler(memory), topics="t", client_options={"enable_auto_commit": True})
    with pytest.raises(ConfigError, match="dead_letter_topic"):
        KafkaSource(handler=_handler(memory), topics="t", dead_letter_topic="t")
    with pytest.raises(ConfigError, match="auto_offset_reset"):
        KafkaSource(handler=_handler(memory), topics="t", auto_offset_reset="middle")


async def test_unreachable_broker_fails_start_with_a_store_error(memory: Astrocyte) -> None:
    source = KafkaSource(
        handler=_handler(memory),
        topics="t",
        bootstrap_servers="127.0.0.1:1",
        client_options={"request_timeout_ms": 2000, "api_version_auto_timeout_ms": 1000},
    )
    with pytest.raises(StoreError, match="cannot connect a Kafka consumer"):
        await source.start()


async def test_benchmark_command_reports_throughput(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from astrocyte_ingestion_kafka import bench

    argv = ["--messages", "30", "--runs", "1", "--store", "memory", "--bootstrap", kafka_bootstrap]
    await asyncio.to_thread(bench.main, argv)
    report = capsys.readouterr().out
    assert "kafka/direct-batch" in report
    assert float(report.split("kafka ")[1].split()[0]) > 0

"""IngestHandler (message → retain → disposition), SourceRegistry and IngestSupervisor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from astrocyte import Astrocyte
from astrocyte.cli import main
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.ingest import (
    Disposition,
    InboundMessage,
    IngestHandler,
    IngestPayloadError,
    IngestSource,
    IngestSupervisor,
    SourceConfig,
    SourceRegistry,
    StreamSource,
    UnknownSourceError,
    UnresolvedBankError,
)


def _memory(**sources: dict[str, object]) -> Astrocyte:
    return Astrocyte.from_config(
        {"vector_store": "memory", "document_store": "memory", "graph_store": None, "sources": sources}
    )


@pytest.fixture
async def memory() -> AsyncIterator[Astrocyte]:
    memory = _memory()
    yield memory
    await memory.close()


def settings(**fields: object) -> SourceConfig:
    base: dict[str, object] = {"type": "stream", "driver": "x", "target_bank": "inbox", "max_attempts": 3}
    return SourceConfig.model_validate({**base, **fields})


# --------------------------------------------------------------------------- building requests


def test_plain_text_and_json_string_bodies_become_content(memory: Astrocyte) -> None:
    handler = IngestHandler(memory, "src", settings())
    text = handler.build_request(InboundMessage("1-0", b"Just a plain note."))
    assert text.content == "Just a plain note."
    quoted = handler.build_request(InboundMessage("1-1", json.dumps("A JSON string.").encode()))
    assert quoted.content == "A JSON string."
    assert text.idempotency_key == "src:1-0"
    assert text.metadata == {"_message_id": "1-0"}
    assert text.source == "src"
    with pytest.raises(InvalidRequestError):
        handler.build_request(InboundMessage("1-2", b"plain"), require_json=True)


def test_bank_template_reads_message_fields_principal_and_source_id(memory: Astrocyte) -> None:
    handler = IngestHandler(
        memory, "src", settings(target_bank=None, target_bank_template="{source_id}-{team}-{principal}")
    )
    body = json.dumps({"content": "hi there", "team": 7}).encode()
    request = handler.build_request(InboundMessage("m", body, principal="ana"))
    assert request.bank_id == "src-7-ana"
    with pytest.raises(UnresolvedBankError, match="needs 'principal'"):
        handler.build_request(InboundMessage("m", body))


def test_idempotency_key_prefers_the_messages_own_id_and_stays_bounded(memory: Astrocyte) -> None:
    handler = IngestHandler(memory, "src", settings(idempotency_path="$.event.id"))
    body = json.dumps({"content": "x y z", "event": {"id": "evt-9"}}).encode()
    assert handler.build_request(InboundMessage("transport-1", body)).idempotency_key == "src:evt-9"
    long_id = "n" * 600
    key = handler.build_request(InboundMessage(long_id, b"text")).idempotency_key
    assert key is not None
    assert key.startswith("src:sha256:")
    assert len(key) <= 512


@pytest.mark.parametrize(
    "body", [b"{}", json.dumps({"content": "   "}).encode(), json.dumps({"content": 5}).encode(), b"\xff\xfe"]
)
def test_bodies_without_usable_content_are_payload_errors(memory: Astrocyte, body: bytes) -> None:
    with pytest.raises(IngestPayloadError):
        IngestHandler(memory, "src", settings()).build_request(InboundMessage("m", body))


# --------------------------------------------------------------------------- dispositions


async def test_retained_message_is_acked_and_redelivery_is_a_replay(memory: Astrocyte) -> None:
    handler = IngestHandler(memory, "src", settings())
    message = InboundMessage("5-0", b"The router firmware was upgraded on Monday.")
    first = await handler.handle(message)
    again = await handler.handle(InboundMessage("5-0", message.body, attempt=2))
    assert first.disposition is Disposition.ACK
    assert again.disposition is Disposition.ACK
    assert again.result is not None
    assert again.result.idempotent_replay
    assert len(await memory.stores.vector.list_vectors("inbox")) == 1
    assert handler.stats.retained == 2


async def test_poison_message_is_dead_lettered_at_once(memory: Astrocyte) -> None:
    handler = IngestHandler(memory, "src", settings())
    outcome = await handler.handle(InboundMessage("6-0", b'{"nothing": 1}'))
    assert outcome.disposition is Disposition.DEAD_LETTER
    assert outcome.error is not None
    assert "IngestPayloadError" in outcome.error
    record = handler.dead_letter_record(InboundMessage("6-0", b"\xff\x00"), outcome.error)
    assert record["body_encoding"] == "base64"
    assert record["body"] == "/wA="
    assert record["attempts"] == "1"


async def test_store_failure_is_retried_then_dead_lettered_and_marks_degraded() -> None:
    memory = _memory()
    await memory.close()  # every retain now fails in the store: a real outage
    handler = IngestHandler(memory, "src", settings(error_threshold=2))
    body = b"Battery replacement scheduled."
    first = await handler.handle(InboundMessage("7-0", body, attempt=1))
    last = await handler.handle(InboundMessage("7-0", body, attempt=3))
    assert first.disposition is Disposition.RETRY
    assert last.disposition is Disposition.DEAD_LETTER
    assert handler.stats.degraded
    status = handler.stats.status()
    assert not status.healthy
    assert status.details["dead_lettered"] == 1
    assert status.details["retried"] == 1


# --------------------------------------------------------------------------- registry and supervisor


class QueueSource(StreamSource):
    """An in-process stream (an asyncio.Queue) exercising the shared consume loop."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(self, *, handler: IngestHandler, fail_connects: int = 0) -> None:
        super().__init__(handler=handler, backoff_initial_seconds=0.01, backoff_max_seconds=0.05)
        self.queue: asyncio.Queue[InboundMessage] = asyncio.Queue()
        self.acked: list[str] = []
        self.dead: list[dict[str, str]] = []
        self.fail_connects = fail_connects
        self.connects = 0

    async def _connect(self) -> None:
        self.connects += 1
        if self.connects <= self.fail_connects:
            raise ConnectionError("backend down")

    async def _disconnect(self) -> None:
        return None

    async def _fetch(self) -> list[InboundMessage]:
        try:
            return [await asyncio.wait_for(self.queue.get(), 0.05)]
        except TimeoutError:
            return []

    async def _ack(self, messages: list[InboundMessage]) -> None:
        self.acked.extend(m.message_id for m in messages)

    async def _dead_letter(self, message: InboundMessage, record: dict[str, str]) -> None:
        self.dead.append(record)


def test_queue_source_satisfies_the_spi(memory: Astrocyte) -> None:
    source = QueueSource(handler=IngestHandler(memory, "q", settings()))
    assert isinstance(source, IngestSource)


def test_registry_registers_deregisters_and_names_unknown_sources(memory: Astrocyte) -> None:
    registry = SourceRegistry()
    source = QueueSource(handler=IngestHandler(memory, "q", settings()))
    registry.register(source)
    assert "q" in registry
    with pytest.raises(InvalidRequestError, match="already registered"):
        registry.register(source)
    assert registry.deregister("q") is source
    with pytest.raises(UnknownSourceError, match="no ingest source 'q'"):
        registry.get("q")
    assert len(registry) == 0


def test_registry_from_config_reports_a_missing_driver_at_its_key_path() -> None:
    memory = _memory(
        hooks={"type": "webhook", "secret": "0123456789abcdef", "target_bank": "b"},
        feed={"type": "stream", "driver": "no-such-driver", "target_bank": "b"},
    )
    with pytest.raises(ConfigError) as caught:
        SourceRegistry.from_config(memory)
    assert caught.value.key_path == "sources.feed.driver"
    assert "not installed" in str(caught.value)


async def test_supervisor_retries_start_and_restarts_a_dead_loop(memory: Astrocyte) -> None:
    source = QueueSource(handler=IngestHandler(memory, "q", settings()), fail_connects=2)
    registry = SourceRegistry()
    supervisor = IngestSupervisor(
        registry, backoff_initial_seconds=0.01, backoff_max_seconds=0.02, check_interval=0.02
    )
    await supervisor.add(source)
    async with asyncio.timeout(5):
        await supervisor.wait_started()
    assert source.connects == 3

    await source.queue.put(InboundMessage("1", b"Printer jams on page two."))
    await source.queue.put(InboundMessage("2", b'{"no": "content"}'))
    for _ in range(200):
        if len(source.acked) == 2:
            break
        await asyncio.sleep(0.01)
    assert source.acked == ["1", "2"]  # the poison message is acked after being dead-lettered
    assert [record["message_id"] for record in source.dead] == ["2"]

    assert source._task is not None
    source._task.cancel()  # the consume loop dies underneath the supervisor
    for _ in range(300):
        if source.running and source.connects == 4:
            break
        await asyncio.sleep(0.01)
    assert source.running
    assert source.connects == 4

    await supervisor.remove("q")
    assert not source.running
    assert "q" not in registry
    await supervisor.stop()


# --------------------------------------------------------------------------- CLI


def test_cli_ingest_sources_lists_and_checks_drivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text(
        "vector_store: memory\ndocument_store: memory\ngraph_store: null\n"
        "sources:\n"
        "  hooks: {type: webhook, secret: 0123456789abcdef, target_bank_template: 'user-{principal}'}\n"
        "  feed: {type: stream, driver: no-such-driver, target_bank: feed}\n",
        encoding="utf-8",
    )
    assert main(["ingest", "sources", "-c", str(config)]) == 0
    listed = capsys.readouterr().out
    assert "hooks  type=webhook  bank=user-{principal}" in listed
    assert "feed  type=stream  driver=no-such-driver  bank=feed" in listed
    assert main(["ingest", "sources", "--check", "--json", "-c", str(config)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "sources.feed.driver" in report["feed"]["status"]
    assert "status" not in report["hooks"]


def test_cli_ingest_run_without_runnable_sources_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text("vector_store: memory\ndocument_store: memory\ngraph_store: null\n", encoding="utf-8")
    assert main(["ingest", "run", "--for", "0.1", "-c", str(config)]) == 1
    assert "nothing to run" in capsys.readouterr().err


# --------------------------------------------------------------------------- standalone identity


async def test_standalone_ingest_retains_as_the_source_service_principal() -> None:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "deployment": {"mode": "standalone"},
            "banks": {"inbox": {"writers": ["service:ingest-granted"]}},
        }
    )
    try:
        granted = IngestHandler(memory, "granted", settings())
        assert granted.context is not None and granted.context.principal == "service:ingest-granted"
        ok = await granted.handle(InboundMessage("m1", b'{"content": "Order 7 shipped."}'))
        assert ok.disposition is Disposition.ACK
        batch = await granted.handle_batch([InboundMessage("m2", b'{"content": "Order 8 shipped."}')])
        assert [outcome.disposition for outcome in batch] == [Disposition.ACK]
        denied = await IngestHandler(memory, "other", settings()).handle(
            InboundMessage("m3", b'{"content": "Order 9 shipped."}')
        )
        assert denied.disposition is Disposition.DEAD_LETTER
        assert denied.error is not None and "service:ingest-other" in denied.error
    finally:
        await memory.close()


async def test_library_mode_ingest_stays_context_free(memory: Astrocyte) -> None:
    assert IngestHandler(memory, "s", settings()).context is None

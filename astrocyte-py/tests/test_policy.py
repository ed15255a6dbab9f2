"""The policy layer on the embedded SQLite stores: PII barrier, validation, rate limits, quotas,
circuit breakers and audit events."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocyte import (
    AccessDeniedError,
    Astrocyte,
    AstrocyteContext,
    AstrocyteError,
    CircuitOpenError,
    InvalidRequestError,
    PayloadTooLargeError,
    PiiRejectedError,
    QuotaExceededError,
    RateLimitedError,
)
from astrocyte.config import load_config
from astrocyte.errors import ConfigError, StoreError
from astrocyte.policy.audit import AuditEvent
from astrocyte.policy.breaker import CircuitBreaker
from astrocyte.policy.pii import PiiBarrier
from astrocyte.policy.ratelimit import BucketRequest, TokenBucketLimiter

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"  # passes Luhn
IBAN = "DE89 3704 0044 0532 0130 00"  # passes mod-97
SECRET_TEXT = f"Jane ({EMAIL}) paid with {CARD} from {IBAN} on Monday."


def _sqlite(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    db = str(tmp_path / "memory.db")
    return {
        "vector_store_config": {"path": db},
        "document_store_config": {"path": db},
        "graph_store_config": {"path": db},
        **extra,
    }


def _all_text_in(db: Path) -> str:
    """Every text cell of every table of the SQLite file (read directly, not through Astrocyte)."""
    connection = sqlite3.connect(db)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells: list[str] = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                cells.extend(str(cell) for cell in row if isinstance(cell, str))
        return "\n".join(cells)
    finally:
        connection.close()


class _Events:
    """An audit sink keeping events in a list."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)


# --------------------------------------------------------------------------- PII barrier


async def test_pii_redact_keeps_raw_values_out_of_every_store_and_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = _sqlite(tmp_path, compliance_profile="gdpr")
    async with Astrocyte.from_config(config) as memory:
        result = await memory.retain(
            SECRET_TEXT,
            context=AstrocyteContext(principal="user:jane"),
            metadata={"contact": EMAIL, "kind": "payment"},
        )
        stored = await memory.stores.vector.list_vectors("user-jane")
        assert [item.id for item in stored] == result.memory_ids
        text = stored[0].text
        assert "[REDACTED:email]" in text and "[REDACTED:credit_card]" in text and "[REDACTED:iban]" in text
        assert stored[0].metadata["contact"] == "[REDACTED:email]"
        assert memory.stores.document is not None
        document = await memory.stores.document.get_document(result.memory_ids[0], "user-jane")
        assert document is not None and EMAIL not in document.text
        assert memory.stores.graph is not None
        assert await memory.stores.graph.query_entities("jane.doe", "user-jane") == []
    everything = _all_text_in(tmp_path / "memory.db")
    for raw in (EMAIL, CARD, IBAN, CARD.replace(" ", ""), IBAN.replace(" ", "")):
        assert raw not in everything
        assert raw.encode() not in (tmp_path / "memory.db").read_bytes()
        assert all(
            raw not in record.getMessage() and raw not in str(record.__dict__) for record in caplog.records
        )
    assert any(record.name == "astrocyte.pii" for record in caplog.records)


async def test_pii_action_per_bank_and_per_extraction_profile(tmp_path: Path) -> None:
    pii = {
        "action": "warn",
        "banks": {"secure-*": {"action": "reject"}, "hr-*": {"action": "redact", "types": ["email"]}},
        "profiles": {"builtin_text": {"action": "redact"}},
    }
    async with Astrocyte.from_config(_sqlite(tmp_path, pii=pii)) as memory:
        with pytest.raises(PiiRejectedError, match="'secure-1'") as info:
            await memory.retain(SECRET_TEXT, bank_id="secure-1")
        assert info.value.code == "pii_rejected" and EMAIL not in str(info.value)
        assert await memory.stores.vector.list_vectors("secure-1") == []
        await memory.retain(SECRET_TEXT, bank_id="hr-1")  # only emails are redacted there
        (hr,) = await memory.stores.vector.list_vectors("hr-1")
        assert EMAIL not in hr.text and CARD in hr.text
        await memory.retain(
            SECRET_TEXT, bank_id="secure-2", extraction_profile="builtin_text"
        )  # profile wins
        (chat,) = await memory.stores.vector.list_vectors("secure-2")
        assert EMAIL not in chat.text and CARD not in chat.text
        await memory.retain(SECRET_TEXT, bank_id="notes")  # warn: kept as is
        (notes,) = await memory.stores.vector.list_vectors("notes")
        assert EMAIL in notes.text


def test_pii_barrier_rule_precedence() -> None:
    barrier = PiiBarrier(load_config({"pii": {"action": "redact", "banks": {"a-*": {"types": ["ssn"]}}}}).pii)
    assert barrier.rule_for("a-1") == ("redact", ("ssn",))
    assert barrier.rule_for("b-1")[0] == "redact" and len(barrier.rule_for("b-1")[1]) == 7
    assert barrier.scrub("ssn 123-45-6789 mail x@y.org", "a-1") == "ssn [REDACTED:ssn] mail x@y.org"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("GB82 WEST 1234 5698 7654 32", "iban"),
        ("5500 0000 0000 0004", "credit_card"),
        ("2001:db8::ff00:42:8329", "ip_address"),
        ("192.168.10.200", "ip_address"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"),
        ("(415) 555-0134", "phone"),
        ("078-05-1120", "ssn"),
    ],
)
def test_each_detector_fires(text: str, kind: str) -> None:
    barrier = PiiBarrier(load_config({"pii": {"action": "redact"}}).pii)
    assert barrier.scrub(f"value: {text}.", "b") == f"value: [REDACTED:{kind}]."


@pytest.mark.parametrize(
    "text",
    ["GB82 WEST 1234 5698 7654 33", "4111 1111 1111 1112", "999.1.1.1", "version 1.2.3"],
)
def test_checksums_and_ranges_reject_lookalikes(text: str) -> None:
    barrier = PiiBarrier(
        load_config({"pii": {"action": "redact", "types": ["iban", "credit_card", "ip_address"]}}).pii
    )
    assert barrier.scrub(text, "b") == text


# --------------------------------------------------------------------------- validation


async def test_input_validation_limits(tmp_path: Path) -> None:
    validation = {
        "max_content_bytes": 64,
        "max_query_chars": 20,
        "max_batch_size": 2,
        "max_banks_per_request": 2,
    }
    async with Astrocyte.from_config(_sqlite(tmp_path, policy={"validation": validation})) as memory:
        with pytest.raises(PayloadTooLargeError, match="max_content_bytes") as info:
            await memory.retain("é" * 40, bank_id="b")  # 80 UTF-8 bytes
        assert info.value.field == "content" and info.value.code == "payload_too_large"
        with pytest.raises(PayloadTooLargeError, match="max_batch_size"):
            await memory.retain_many([{"content": "x", "bank_id": "b"}] * 3)
        with pytest.raises(PayloadTooLargeError, match="max_query_chars"):
            await memory.recall("a much longer question than allowed", bank_id="b")
        with pytest.raises(InvalidRequestError, match="max_banks_per_request"):
            await memory.recall("q", bank_ids=["a", "b", "c"])
        with pytest.raises(InvalidRequestError, match="blank"):
            await memory.recall("   ", bank_id="b")
        with pytest.raises(InvalidRequestError, match="content"):
            await memory.retain(" \n\t ", bank_id="b")
        assert await memory.banks() == []


@pytest.mark.parametrize("bank", ["my bank", "team-*", "a[1]", "tab\tbank", "nul\x00"])
async def test_bank_id_syntax_is_checked_on_every_verb(tmp_path: Path, bank: str) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path)) as memory:
        with pytest.raises(InvalidRequestError, match="bank id"):
            await memory.retain("hello", bank_id=bank)
        with pytest.raises(InvalidRequestError, match="bank id"):
            await memory.recall("hello", bank_id=bank)
        with pytest.raises(InvalidRequestError, match="bank id"):
            await memory.forget(bank_id=bank, all=True)
    async with Astrocyte.from_config(_sqlite(tmp_path)) as memory:  # unicode bank ids stay valid
        assert (await memory.retain("hello", bank_id="bänk-日本")).bank_id == "bänk-日本"


# --------------------------------------------------------------------------- rate limits


def test_token_bucket_refills_and_is_all_or_nothing() -> None:
    limiter = TokenBucketLimiter()
    principal = BucketRequest("principal", "user:1", rate=1.0, burst=2)
    bank = BucketRequest("bank", "b", rate=0.1, burst=1)
    assert limiter.acquire([principal], now=0.0).allowed
    assert limiter.acquire([principal, bank], now=0.0).allowed
    denied = limiter.acquire([principal], now=0.0)
    assert not denied.allowed and denied.denied == principal and denied.retry_after == pytest.approx(1.0)
    assert limiter.acquire([principal], now=1.0).allowed
    # the bank bucket is empty: the principal bucket (refilled) must not be charged
    assert not limiter.acquire([principal, bank], now=2.0).allowed
    assert limiter.acquire([principal], now=2.0).allowed  # its one refilled token is still there
    assert not limiter.acquire([principal], now=2.0).allowed
    # principal and bank scopes never share a bucket even with equal keys
    assert limiter.acquire([BucketRequest("bank", "user:1", rate=1.0, burst=1)], now=2.0).allowed


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=0.1, max_value=50.0),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=200),
)
def test_token_bucket_never_allows_more_than_burst_plus_refill(
    rate: float, burst: int, gaps: list[float]
) -> None:
    limiter = TokenBucketLimiter()
    bucket = BucketRequest("principal", "p", rate=rate, burst=burst)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        decision = limiter.acquire([bucket], now=now)
        allowed += decision.allowed
        assert decision.allowed or 0 < decision.retry_after <= 1 / rate + 1e-9
    assert allowed <= burst + rate * now + 1e-9
    assert allowed >= min(len(gaps), burst)  # a full bucket serves its burst


def test_token_bucket_forgets_least_recently_used_keys() -> None:
    limiter = TokenBucketLimiter(max_keys=2)
    for key in ("a", "b", "c"):
        assert limiter.acquire([BucketRequest("principal", key, 0.001, 1)], now=0.0).allowed
    assert limiter.acquire([BucketRequest("principal", "a", 0.001, 1)], now=0.0).allowed  # evicted: full
    assert not limiter.acquire([BucketRequest("principal", "c", 0.001, 1)], now=0.0).allowed


async def test_in_process_rate_limit_per_principal_and_per_bank(tmp_path: Path) -> None:
    rate_limits = {"per_principal": {"rate": 0.001, "burst": 3}, "per_bank": {"rate": 0.001, "burst": 4}}
    events = _Events()
    config = _sqlite(tmp_path, policy={"rate_limits": rate_limits})
    async with Astrocyte.from_config(config, audit_sink=events) as memory:
        alice = AstrocyteContext(principal="user:alice")
        for _ in range(3):
            await memory.retain("Alice likes figs.", context=alice)
        with pytest.raises(RateLimitedError) as info:
            await memory.recall("figs", context=alice)
        error = info.value
        assert (error.code, error.scope, error.key) == ("rate_limited", "principal", "user:alice")
        assert error.retry_after > 100
        await memory.recall("figs", bank_id="user-alice")  # anonymous: its own principal bucket
        with pytest.raises(RateLimitedError) as bank_info:
            await memory.recall("figs", bank_id="user-alice")  # the bank's 4 tokens are gone
        assert bank_info.value.scope == "bank"
    denials = [e for e in events.events if e.result == "rate_limited"]
    assert [(e.action, e.principal, e.bank_id) for e in denials] == [
        ("recall", "user:alice", "user-alice"),
        ("recall", None, "user-alice"),
    ]


def test_redis_backend_needs_a_limit() -> None:
    with pytest.raises(ConfigError, match="no limit is set"):
        load_config({"policy": {"rate_limits": {"backend": "redis"}}})


def test_bad_bank_id_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"policy\.validation\.bank_id_pattern.*regular expression"):
        load_config({"policy": {"validation": {"bank_id_pattern": "(["}}})


# --------------------------------------------------------------------------- quotas


async def test_quota_on_memories_per_bank(tmp_path: Path) -> None:
    quotas = {"max_memories": 2, "banks": {"big-*": {"max_memories": 100}}}
    async with Astrocyte.from_config(_sqlite(tmp_path, policy={"quotas": quotas})) as memory:
        await memory.retain("First fact about apples.", bank_id="small")
        await memory.retain("Second fact about pears.", bank_id="small")
        with pytest.raises(QuotaExceededError) as info:
            await memory.retain("Third fact about plums.", bank_id="small")
        error = info.value
        assert (error.code, error.bank_id, error.quota, error.limit, error.usage) == (
            "quota_exceeded",
            "small",
            "max_memories",
            2,
            2,
        )
        assert len(await memory.stores.vector.list_vectors("small")) == 2
        for index in range(3):
            await memory.retain(f"Fact number {index} about kiwis.", bank_id="big-1")
        await memory.forget(
            bank_id="small", memory_ids=[(await memory.stores.vector.list_vectors("small"))[0].id]
        )
        await memory.retain("Third fact about plums.", bank_id="small")  # room again after forget


async def test_quota_counts_existing_memories_and_bytes(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path)) as memory:
        await memory.retain("x" * 60, bank_id="q")
    async with Astrocyte.from_config(_sqlite(tmp_path, policy={"quotas": {"max_bytes": 100}})) as memory:
        with pytest.raises(QuotaExceededError, match="max_bytes"):
            await memory.retain("y" * 50, bank_id="q")  # 60 stored + 50 > 100
        await memory.retain("z" * 30, bank_id="q")


async def test_concurrent_retains_never_overshoot_a_quota(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path, policy={"quotas": {"max_memories": 3}})) as memory:
        texts = [f"Distinct fact {i}: {'abcdefghij'[i]} is a letter." for i in range(8)]
        outcomes = await asyncio.gather(
            *(memory.retain(t, bank_id="c") for t in texts), return_exceptions=True
        )
        assert sum(isinstance(o, QuotaExceededError) for o in outcomes) == 5
        assert len(await memory.stores.vector.list_vectors("c")) == 3


# --------------------------------------------------------------------------- circuit breaker


def test_circuit_breaker_state_machine() -> None:
    breaker = CircuitBreaker("document store", failure_threshold=2, reset_timeout=10.0)
    breaker.before_call(0.0)
    breaker.record_failure(0.0)
    assert breaker.state(0.0) == "closed"
    breaker.record_failure(1.0)
    assert breaker.state(1.0) == "open"
    with pytest.raises(CircuitOpenError, match=r"circuit open for document store.*next probe in 5\.0s"):
        breaker.before_call(6.0)
    assert breaker.state(11.0) == "half_open"
    breaker.before_call(11.0)  # the probe goes through...
    with pytest.raises(CircuitOpenError):
        breaker.before_call(11.0)  # ...and only the probe
    breaker.record_failure(11.5)  # failed probe: open again for a full timeout
    assert breaker.state(20.0) == "open"
    breaker.before_call(21.6)
    breaker.record_success()
    assert breaker.state(21.6) == "closed"
    breaker.before_call(21.7)


async def test_recall_skips_a_store_whose_breaker_is_open(tmp_path: Path) -> None:
    config = _sqlite(tmp_path, policy={"circuit_breaker": {"failure_threshold": 2, "reset_timeout_s": 60}})
    async with Astrocyte.from_config(config) as memory:
        await memory.retain("Caroline moved from Sweden in 2019.", bank_id="b")
        assert memory.stores.document is not None
        await memory.stores.document.close()  # a real store that now fails on every call
        # The first failing recall reports the error; one recall may make several document-store
        # calls (search, then hydration), so the breaker opens within the next two recalls.
        result = await memory.recall("Where did Caroline move from?", bank_id="b")
        fulltext = next(s for s in result.trace.strategies if s.name == "fulltext")
        assert fulltext.error and not fulltext.skipped
        for _ in range(2):
            result = await memory.recall("Where did Caroline move from?", bank_id="b")
        assert result.hits and "Sweden" in result.hits[0].text  # the vector store still answers
        fulltext = next(s for s in result.trace.strategies if s.name == "fulltext")
        assert fulltext.skipped and fulltext.error is not None
        assert "circuit open for document store" in fulltext.error
        with pytest.raises(StoreError, match="circuit open"):  # retain fails fast, writes nothing
            await memory.retain("Melanie paints.", bank_id="b")
        assert len(await memory.stores.vector.list_vectors("b")) == 1


# --------------------------------------------------------------------------- audit


async def test_audit_events_are_json_without_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="astrocyte.audit")
    alice = AstrocyteContext(principal="user:alice")
    bob = AstrocyteContext(principal="user:bob")
    async with Astrocyte.from_config(_sqlite(tmp_path)) as memory:
        result = await memory.retain("Alice's secret garden is behind the mill.", context=alice)
        with pytest.raises(AccessDeniedError):
            await memory.recall("garden", bank_id="user-alice", context=bob)
        await memory.forget(memory_ids=result.memory_ids, context=alice)
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "astrocyte.audit"]
    assert [(e["action"], e["result"], e["principal"], e["bank_id"]) for e in events] == [
        ("retain", "ok", "user:alice", "user-alice"),
        ("recall", "access_denied", "user:bob", "user-alice"),
        ("forget", "ok", "user:alice", "user-alice"),
    ]
    assert events[0]["memory_count"] == 1 and events[2]["memory_count"] == 1
    assert events[0]["memory_ids"] == result.memory_ids == events[2]["memory_ids"]  # a memory's trail
    assert events[1]["permission"] == "read"
    assert all("timestamp" in e for e in events)
    assert not any("garden" in r.getMessage() for r in caplog.records)


async def test_audit_can_be_switched_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="astrocyte.audit")
    async with Astrocyte.from_config(_sqlite(tmp_path, policy={"audit": {"enabled": False}})) as memory:
        await memory.retain("Nothing to see.", bank_id="b")
    assert not [r for r in caplog.records if r.name == "astrocyte.audit"]


async def test_recall_falls_back_to_full_text_while_the_embedder_circuit_is_open(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path)) as memory:
        await memory.retain("Caroline moved from Sweden in 2019.", bank_id="b")
    unreachable = {  # a real OpenAI-compatible client pointed at a closed loopback port
        "embedding_provider": "openai",
        "embedding_provider_config": {
            "base_url": "http://127.0.0.1:1/v1",
            "api_key": "test",
            "dimensions": 384,
            "max_retries": 0,
            "timeout": 2.0,
        },
        "policy": {"circuit_breaker": {"failure_threshold": 1, "reset_timeout_s": 60}},
    }
    async with Astrocyte.from_config(_sqlite(tmp_path, **unreachable)) as memory:
        with pytest.raises(AstrocyteError):  # the first failure propagates and opens the circuit
            await memory.recall("Where did Caroline move from?", bank_id="b")
        result = await memory.recall("Where did Caroline move from?", bank_id="b")
        assert result.hits and "Sweden" in result.hits[0].text
        assert "vector" not in {s.name for s in result.trace.strategies}
        assert any("skipped: circuit open for embedding provider" in note for note in result.trace.notes)

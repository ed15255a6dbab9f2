"""handle_webhook_ingest: every bad-input class has its own typed error; a signed delivery is retained."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from astrocyte import Astrocyte
from astrocyte.errors import AstrocyteError
from astrocyte.ingest import (
    IngestPayloadError,
    InvalidJsonError,
    InvalidSignatureError,
    PayloadTooLargeError,
    StaleTimestampError,
    UnknownSourceError,
    UnresolvedBankError,
    handle_webhook_ingest,
    sign_webhook,
)

SECRET = "whsec-0123456789abcdef"
NOW = 1_760_000_000


@pytest.fixture
async def memory() -> AsyncIterator[Astrocyte]:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {
                "crm": {
                    "type": "webhook",
                    "secret": SECRET,
                    "target_bank_template": "user-{principal}",
                    "extraction_profile": "builtin_conversation",
                    "max_body_bytes": 2048,
                    "signature_header": "X-Signature",
                    "timestamp_header": "X-Timestamp",
                    "tags": ["crm"],
                },
                "orders": {"type": "stream", "driver": "redis", "target_bank": "orders"},
            },
        }
    )
    yield memory
    await memory.close()


def signed(body: bytes, *, timestamp: int = NOW, secret: str = SECRET, prefix: str = "") -> dict[str, str]:
    return {"x-signature": prefix + sign_webhook(secret, timestamp, body), "X-TIMESTAMP": str(timestamp)}


BODY = json.dumps({"content": "Ana: I renewed the premium plan today.", "participant_name": "Ana"}).encode()


async def test_valid_signed_delivery_is_retained_end_to_end(memory: Astrocyte) -> None:
    result = await handle_webhook_ingest(
        "crm", BODY, signed(BODY, prefix="sha256="), memory=memory, principal="ana", now=NOW + 10
    )
    assert result.bank_id == "user-ana"
    assert result.chunk_count == 1
    assert not result.idempotent_replay
    (item,) = await memory.stores.vector.list_vectors("user-ana")
    assert item.text == "Ana: I renewed the premium plan today."
    assert item.metadata["participant"] == "Ana"
    assert item.metadata["_source"] == "crm"
    assert item.tags == ["crm"]
    hits = await memory.recall("premium plan", bank_id="user-ana")
    assert hits.hits[0].memory_id == result.memory_ids[0]


async def test_repeated_delivery_is_an_idempotent_replay(memory: Astrocyte) -> None:
    first = await handle_webhook_ingest("crm", BODY, signed(BODY), memory=memory, principal="ana", now=NOW)
    again = await handle_webhook_ingest(
        "crm", BODY, signed(BODY), memory=memory, principal="ana", now=NOW + 1
    )
    assert again.idempotent_replay
    assert again.memory_ids == first.memory_ids
    assert len(await memory.stores.vector.list_vectors("user-ana")) == 1


async def test_principal_can_come_from_the_signed_payload(memory: Astrocyte) -> None:
    body = json.dumps({"content": "Ben: call me on Friday.", "principal": "ben"}).encode()
    result = await handle_webhook_ingest("crm", body, signed(body), memory=memory, now=NOW)
    assert result.bank_id == "user-ben"


def _delivery(case: str) -> tuple[str, bytes, dict[str, str], str | None]:
    """(source, body, headers, principal) of one bad delivery."""
    big = json.dumps({"content": "x" * 4096}).encode()
    plain = b"Ana: plain text is not accepted here"
    wrong_field = json.dumps({"text": "wrong field"}).encode()
    deliveries: dict[str, tuple[str, bytes, dict[str, str], str | None]] = {
        "unknown source": ("nope", BODY, signed(BODY), "ana"),
        "stream source": ("orders", BODY, signed(BODY), "ana"),
        "oversized": ("crm", big, signed(big), "ana"),
        "no timestamp": ("crm", BODY, {"X-Signature": signed(BODY)["x-signature"]}, "ana"),
        "bad timestamp": ("crm", BODY, {**signed(BODY), "X-TIMESTAMP": "yesterday"}, "ana"),
        "stale": ("crm", BODY, signed(BODY, timestamp=NOW - 301), "ana"),
        "future": ("crm", BODY, signed(BODY, timestamp=NOW + 301), "ana"),
        "no signature": ("crm", BODY, {"X-Timestamp": str(NOW)}, "ana"),
        "wrong secret": ("crm", BODY, signed(BODY, secret="another-secret-0123456789"), "ana"),
        "tampered body": ("crm", BODY.replace(b"premium", b"basic!!"), signed(BODY), "ana"),
        "not json": ("crm", plain, signed(plain), "ana"),
        "no content": ("crm", wrong_field, signed(wrong_field), "ana"),
        "no principal": ("crm", BODY, signed(BODY), None),
    }
    return deliveries[case]


@pytest.mark.parametrize(
    ("case", "error", "code", "status"),
    [
        ("unknown source", UnknownSourceError, "unknown_source", 404),
        ("stream source", UnknownSourceError, "unknown_source", 404),
        ("oversized", PayloadTooLargeError, "payload_too_large", 413),
        ("no timestamp", StaleTimestampError, "stale_timestamp", 401),
        ("bad timestamp", StaleTimestampError, "stale_timestamp", 401),
        ("stale", StaleTimestampError, "stale_timestamp", 401),
        ("future", StaleTimestampError, "stale_timestamp", 401),
        ("no signature", InvalidSignatureError, "invalid_signature", 401),
        ("wrong secret", InvalidSignatureError, "invalid_signature", 401),
        ("tampered body", InvalidSignatureError, "invalid_signature", 401),
        ("not json", InvalidJsonError, "invalid_json", 400),
        ("no content", IngestPayloadError, "invalid_payload", 422),
        ("no principal", UnresolvedBankError, "unresolved_bank", 422),
    ],
)
async def test_each_bad_input_class_has_a_distinct_typed_error(
    memory: Astrocyte, case: str, error: type[AstrocyteError], code: str, status: int
) -> None:
    source, body, headers, principal = _delivery(case)
    with pytest.raises(error) as caught:
        await handle_webhook_ingest(source, body, headers, memory=memory, principal=principal, now=NOW)
    assert type(caught.value) is error
    assert caught.value.code == code
    assert getattr(caught.value, "http_status", None) == status
    assert await memory.banks() == []  # nothing was written


async def test_real_clock_is_used_when_now_is_omitted(memory: Astrocyte) -> None:
    current = int(time.time())
    result = await handle_webhook_ingest(
        "crm", BODY, signed(BODY, timestamp=current), memory=memory, principal="ana"
    )
    assert result.memory_ids

"""Webhook delivery end to end in standalone mode: HMAC-signed body → memory, retained as
``service:ingest-<source_id>``; every webhook error class keeps its own 4xx problem."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from _gateway import ADMIN_KEY, ALICE_KEY, WEBHOOK_SECRET, Client, base_config, key

from astrocyte.ingest import sign_webhook


def _config(**grants: Any) -> dict[str, Any]:
    config = base_config()
    config["sources"] = {
        "crm": {
            "type": "webhook",
            "secret": WEBHOOK_SECRET,
            "target_bank_template": "user-{customer}",
            "max_body_bytes": 2048,
        },
        "orders": {"type": "webhook", "secret": WEBHOOK_SECRET, "target_bank": "orders"},
    }
    config["banks"] = grants or {"user-*": {"writers": ["service:ingest-crm"]}}
    return config


def _signed(body: bytes, *, timestamp: int | None = None, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    sent = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Astrocyte-Signature": "sha256=" + sign_webhook(secret, sent, body),
        "X-Astrocyte-Timestamp": str(sent),
        "Content-Type": "application/json",
    }


async def _deliver(client: httpx.AsyncClient, source: str, body: bytes, **kwargs: Any) -> httpx.Response:
    return await client.post(f"/v1/ingest/webhook/{source}", content=body, headers=_signed(body, **kwargs))


async def test_signed_delivery_is_retained_and_replay_is_idempotent(gateway: Client) -> None:
    body = json.dumps({"content": "Alice renewed the premium plan.", "customer": "alice"}).encode()
    async with gateway(_config()) as client:
        headers = _signed(body)
        first = await client.post("/v1/ingest/webhook/crm", content=body, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["bank_id"] == "user-alice"
        assert first.json()["idempotent_replay"] is False
        replay = await client.post("/v1/ingest/webhook/crm", content=body, headers=headers)
        assert replay.status_code == 200
        assert replay.json()["idempotent_replay"] is True
        assert replay.json()["memory_ids"] == first.json()["memory_ids"]
        recalled = await client.post(
            "/v1/recall", json={"query": "premium plan", "bank_id": "user-alice"}, headers=key(ALICE_KEY)
        )
        assert [hit["text"] for hit in recalled.json()["hits"]] == ["Alice renewed the premium plan."]
        health = await client.get("/health/ingest")
        assert health.status_code == 200
        assert health.json()["components"]["crm"]["details"]["retained"] == 2
        sources = await client.get("/v1/admin/sources", headers=key(ADMIN_KEY))
        assert [s["source_id"] for s in sources.json()["sources"]] == ["crm", "orders"]


async def test_service_principal_needs_a_grant(gateway: Client) -> None:
    body = json.dumps({"content": "Order 42 shipped."}).encode()
    async with gateway(_config()) as client:
        denied = await _deliver(client, "orders", body)  # service:ingest-orders has no grant on 'orders'
        assert denied.status_code == 403
        assert denied.json()["code"] == "access_denied"
        assert "service:ingest-orders" in denied.json()["detail"]


async def test_every_webhook_error_class_has_its_status(gateway: Client) -> None:
    good = json.dumps({"content": "hello", "customer": "alice"}).encode()
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("nope", good, _signed(good), 404, "unknown_source"),
        ("crm", b"x" * 4096, _signed(b"x" * 4096), 413, "payload_too_large"),
        ("crm", good, _signed(good, timestamp=int(time.time()) - 3600), 401, "stale_timestamp"),
        ("crm", good, {**_signed(good), "X-Astrocyte-Timestamp": "yesterday"}, 401, "stale_timestamp"),
        ("crm", good, _signed(good, secret="another-secret-0123456789"), 401, "invalid_signature"),
        ("crm", good, {"X-Astrocyte-Timestamp": str(int(time.time()))}, 401, "invalid_signature"),
        ("crm", b"not json", _signed(b"not json"), 400, "invalid_json"),
        ("crm", b'{"text": "no content"}', _signed(b'{"text": "no content"}'), 422, "invalid_payload"),
        (
            "crm",
            b'{"content": "no customer"}',
            _signed(b'{"content": "no customer"}'),
            422,
            "unresolved_bank",
        ),
    ]
    async with gateway(_config()) as client:
        for source, body, headers, status, code in cases:
            response = await client.post(f"/v1/ingest/webhook/{source}", content=body, headers=headers)
            assert response.status_code == status, (code, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == code
        health = await client.get("/health/ingest")
        assert health.json()["components"]["crm"]["details"]["dead_lettered"] == len(cases) - 1

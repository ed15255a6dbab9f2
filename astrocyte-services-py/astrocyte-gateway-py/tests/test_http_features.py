"""Problem+json on every bad-input class, body limit, rate limits, request ids, CORS, metrics and the
JSON access log — all through real uvicorn."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _gateway import ALICE_KEY, Client, base_config, key

ALICE = key(ALICE_KEY)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_problem_json_for_every_bad_input_class(gateway: Client) -> None:
    config = base_config()
    config["policy"] = {"validation": {"max_query_chars": 50}}
    config["pii"] = {"action": "reject"}
    async with gateway(config) as client:
        cases: list[tuple[str, Any, int, str, str | None]] = [
            ("/v1/retain", b"{not json", 422, "invalid_request", None),
            ("/v1/retain", [1, 2], 422, "invalid_request", None),
            ("/v1/retain", {"bank_id": "user-alice"}, 422, "invalid_request", "content"),
            ("/v1/retain", {"content": "   ", "bank_id": "user-alice"}, 422, "invalid_request", "content"),
            (
                "/v1/retain",
                {"content": "x", "bank_id": "user-alice", "extra": 1},
                422,
                "invalid_request",
                "extra",
            ),
            ("/v1/retain", {"content": "x", "bank_id": ""}, 422, "invalid_request", "bank_id"),
            ("/v1/retain", {"content": 5, "bank_id": "user-alice"}, 422, "invalid_request", "content"),
            ("/v1/retain", {"content": "x", "bank_id": "bad bank!"}, 422, "invalid_request", None),
            (
                "/v1/retain",
                {"content": "mail alice@example.com", "bank_id": "user-alice"},
                422,
                "pii_rejected",
                None,
            ),
            ("/v1/recall", {"query": "x", "bank_id": "a", "bank_ids": ["b"]}, 422, "invalid_request", None),
            ("/v1/recall", {"query": "x", "max_results": 0}, 422, "invalid_request", "max_results"),
            ("/v1/recall", {"query": "q" * 51}, 413, "payload_too_large", None),
            ("/v1/reflect", {"query": ""}, 422, "invalid_request", "query"),
            ("/v1/forget", {"bank_id": "user-alice"}, 422, "invalid_request", None),
            (
                "/v1/recall",
                {
                    "query": "x",
                    "time_range": {"start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
                },
                422,
                "invalid_request",
                None,
            ),
        ]
        for path, body, status, code, field in cases:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = await client.post(
                path, content=content, headers={**ALICE, "Content-Type": "application/json"}
            )
            problem = _problem(response, status, code)
            if field is not None:
                assert field in {error["field"] for error in problem["errors"]}, problem
        _problem(await client.get("/v1/nowhere"), 404, "not_found")
        _problem(await client.get("/v1/retain", headers=ALICE), 405, "method_not_allowed")


async def test_body_limit_is_413_declared_or_streamed(gateway: Client) -> None:
    async with gateway(base_config(max_body_bytes=2048)) as client:
        big = json.dumps({"content": "x" * 4096, "bank_id": "user-alice"}).encode()
        _problem(await client.post("/v1/retain", content=big, headers=ALICE), 413, "payload_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 512

        streamed = await client.post("/v1/retain", content=chunks(), headers=ALICE)
        _problem(streamed, 413, "payload_too_large")
        small = await client.post(
            "/v1/retain", json={"content": "fits", "bank_id": "user-alice"}, headers=ALICE
        )
        assert small.status_code == 200


async def test_rate_limit_is_429_with_retry_after(gateway: Client) -> None:
    config = base_config()
    config["policy"] = {"rate_limits": {"per_principal": {"rate": 0.5, "burst": 2}}}
    async with gateway(config) as client:
        statuses = [
            (await client.post("/v1/recall", json={"query": "x"}, headers=ALICE)).status_code
            for _ in range(2)
        ]
        assert statuses == [200, 200]
        limited = await client.post("/v1/recall", json={"query": "x"}, headers=ALICE)
        problem = _problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert problem["retry_after"] > 0


async def test_quota_is_409(gateway: Client) -> None:
    config = base_config()
    config["policy"] = {"quotas": {"max_memories": 1}}
    async with gateway(config) as client:
        first = await client.post(
            "/v1/retain", json={"content": "one", "bank_id": "user-alice"}, headers=ALICE
        )
        assert first.status_code == 200
        second = await client.post(
            "/v1/retain", json={"content": "two different", "bank_id": "user-alice"}, headers=ALICE
        )
        _problem(second, 409, "quota_exceeded")


async def test_request_id_is_echoed_or_generated(gateway: Client) -> None:
    async with gateway() as client:
        echoed = await client.get("/health", headers={"X-Request-ID": "trace-123"})
        assert echoed.headers["x-request-id"] == "trace-123"
        generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
        assert len(generated.headers["x-request-id"]) == 32
        assert generated.headers["x-request-id"] != (await client.get("/health")).headers["x-request-id"]


async def test_cors_preflight_and_simple_request(gateway: Client) -> None:
    async with gateway(base_config(cors={"allow_origins": ["https://app.example"]})) as client:
        preflight = await client.options(
            "/v1/recall",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        other = await client.options(
            "/v1/recall", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert other.status_code == 400
        simple = await client.get("/health", headers={"Origin": "https://app.example"})
        assert simple.headers["access-control-allow-origin"] == "https://app.example"
        assert "X-Request-ID" in simple.headers["access-control-expose-headers"]


async def test_metrics_count_requests_by_route_template(gateway: Client) -> None:
    async with gateway() as client:
        await client.post("/v1/recall", json={"query": "x"}, headers=ALICE)
        await client.post("/v1/recall", json={"query": "x"})
        text = (await client.get("/metrics")).text
        assert 'astrocyte_gateway_requests_total{method="POST",route="/v1/recall",status="200"} 1.0' in text
        assert 'astrocyte_gateway_requests_total{method="POST",route="/v1/recall",status="401"} 1.0' in text
        assert "astrocyte_gateway_request_duration_seconds_bucket" in text


async def test_health_reports_each_store(gateway: Client) -> None:
    async with gateway() as client:
        health = await client.get("/health")
        assert health.status_code == 200
        components = health.json()["components"]
        assert set(components) == {"vector_store", "document_store", "graph_store", "gateway"}
        assert all(component["healthy"] for component in components.values())


async def test_access_log_is_json_without_secrets_or_content(
    gateway: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="astrocyte.gateway.access")
    async with gateway() as client:
        await client.post(
            "/v1/retain?token=leak",
            json={"content": "The vault code is 7731.", "bank_id": "user-alice"},
            headers={**ALICE, "X-Request-ID": "req-1"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "astrocyte.gateway.access"]
    entry = json.loads(next(line for line in lines if '"req-1"' in line))
    assert entry["principal"] == "user:alice"
    assert entry["route"] == "/v1/retain"
    assert entry["status"] == 200
    for line in lines:
        assert ALICE_KEY not in line and "7731" not in line and "leak" not in line

"""``POST /v1/chat/completions`` end to end: real uvicorn, httpx, and a local OpenAI-compatible upstream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from _gateway import ALICE_KEY, BOB_KEY, Client, base_config, key

from astrocyte.bench.chat_upstream import (
    ChatUpstreamServer,
    ScriptedReply,
    openai_error_body,
    running_chat_upstream,
)
from astrocyte.chat_proxy import MEMORY_BLOCK_START, StreamTranscript

UPSTREAM_KEY = "sk-upstream-e2e-5d2c81f0aa"
QUESTION = "Where did Alice move?"


@pytest.fixture
def upstream() -> Iterator[ChatUpstreamServer]:
    with running_chat_upstream(api_key=UPSTREAM_KEY) as server:
        yield server


def _config(upstream: ChatUpstreamServer, **chat_proxy: Any) -> dict[str, Any]:
    config = base_config()
    config["retain"] = {"dedup_threshold": 1.0}
    config["chat_proxy"] = {
        "upstream": {"base_url": upstream.base_url, "api_key": UPSTREAM_KEY},
        **chat_proxy,
    }
    return config


def _chat(text: str = QUESTION, *, stream: bool = False) -> dict[str, Any]:
    return {
        "model": "local-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        "stream": stream,
    }


async def _remember(client: Any) -> None:
    retained = await client.post(
        "/v1/retain",
        json={"content": "Alice moved to Lisbon in May 2023.", "bank_id": "user-alice"},
        headers=key(ALICE_KEY),
    )
    assert retained.status_code == 200, retained.text


async def _eventually_recalled(client: Any, text: str) -> list[str]:
    """The exchange is retained in the background: poll recall for up to five seconds."""
    for _ in range(100):
        recalled = await client.post(
            "/v1/recall", json={"query": text, "bank_id": "user-alice"}, headers=key(ALICE_KEY)
        )
        hits = [hit["text"] for hit in recalled.json()["hits"]]
        if any(text in hit and "assistant:" in hit for hit in hits):
            return hits
        await asyncio.sleep(0.05)
    raise AssertionError(f"the exchange was not retained: {hits}")


async def test_completion_with_memory_and_background_retain(
    gateway: Client, upstream: ChatUpstreamServer
) -> None:
    async with gateway(_config(upstream)) as client:
        await _remember(client)
        reply = await client.post("/v1/chat/completions", json=_chat(), headers=key(ALICE_KEY))
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/json"
        assert reply.headers["x-astrocyte-memory"] == "on"
        assert reply.headers["x-astrocyte-memories"] == "1"
        assert reply.headers["x-astrocyte-bank"] == "user-alice"
        assert reply.json()["choices"][0]["message"]["content"] == f"You said: {QUESTION} (1 memories)"
        sent = upstream.received[-1].body["messages"]
        assert isinstance(sent, list) and len(sent) == 3
        assert sent[1]["content"].startswith(MEMORY_BLOCK_START)  # type: ignore[index, union-attr]
        assert upstream.received[-1].headers["Authorization"] == f"Bearer {UPSTREAM_KEY}"
        await _eventually_recalled(client, QUESTION)
        metrics = (await client.get("/metrics")).text
        assert "astrocyte_chat_proxy_requests_total 1.0" in metrics
        assert "astrocyte_chat_proxy_retain_retained_total 1.0" in metrics
        assert "astrocyte_chat_proxy_retain_dead_lettered_total 0.0" in metrics


async def test_streaming_passes_events_through(gateway: Client, upstream: ChatUpstreamServer) -> None:
    async with gateway(_config(upstream)) as client:
        await _remember(client)
        async with client.stream(
            "POST", "/v1/chat/completions", json=_chat(stream=True), headers=key(ALICE_KEY)
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-astrocyte-memories"] == "1"
            raw = b"".join([chunk async for chunk in response.aiter_bytes()])
        assert raw.endswith(b"data: [DONE]\n\n")
        transcript = StreamTranscript()
        transcript.feed(raw)
        assert transcript.text == f"You said: {QUESTION} (1 memories)"
        await _eventually_recalled(client, QUESTION)


@pytest.mark.parametrize(("status", "expected"), [(503, 502), (500, 502), (429, 429)])
async def test_upstream_failures_are_problem_json(
    gateway: Client, upstream: ChatUpstreamServer, status: int, expected: int
) -> None:
    async with gateway(_config(upstream)) as client:
        for stream in (False, True):
            upstream.script(
                ScriptedReply(status, openai_error_body("the model is overloaded"), {"Retry-After": "7"})
            )
            reply = await client.post(
                "/v1/chat/completions", json=_chat(stream=stream), headers=key(ALICE_KEY)
            )
            assert reply.status_code == expected
            assert reply.headers["content-type"] == "application/problem+json"
            problem = reply.json()
            assert problem["code"] == "upstream_failed"
            assert f"HTTP {status}: the model is overloaded" in problem["detail"]
            assert UPSTREAM_KEY not in reply.text
            assert ("retry-after" in reply.headers) == (expected == 429)


async def test_unreachable_upstream_is_502(gateway: Client) -> None:
    with running_chat_upstream() as stopped:
        base_url = stopped.base_url
    config = base_config()
    config["chat_proxy"] = {"upstream": {"base_url": base_url}}
    async with gateway(config) as client:
        reply = await client.post("/v1/chat/completions", json=_chat(), headers=key(ALICE_KEY))
        assert reply.status_code == 502
        assert reply.json()["code"] == "upstream_failed"


async def test_memory_header_opt_out_and_bad_values(gateway: Client, upstream: ChatUpstreamServer) -> None:
    async with gateway(_config(upstream)) as client:
        await _remember(client)
        off = await client.post(
            "/v1/chat/completions", json=_chat(), headers={**key(ALICE_KEY), "X-Astrocyte-Memory": "off"}
        )
        assert off.status_code == 200
        assert off.headers["x-astrocyte-memory"] == "off"
        assert [m["role"] for m in upstream.received[-1].body["messages"]] == ["system", "user"]  # type: ignore[index, union-attr]
        bad = await client.post(
            "/v1/chat/completions", json=_chat(), headers={**key(ALICE_KEY), "X-Astrocyte-Memory": "maybe"}
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "X-Astrocyte-Memory"
        for body in (b"not json", json.dumps({"model": "m"}).encode()):
            invalid = await client.post("/v1/chat/completions", content=body, headers=key(ALICE_KEY))
            assert invalid.status_code == 422
            assert invalid.headers["content-type"] == "application/problem+json"


async def test_identity_and_bank_access(gateway: Client, upstream: ChatUpstreamServer) -> None:
    async with gateway(_config(upstream)) as client:
        anonymous = await client.post("/v1/chat/completions", json=_chat())
        assert anonymous.status_code == 401
        denied = await client.post(
            "/v1/chat/completions", json=_chat(), headers={**key(BOB_KEY), "X-Astrocyte-Bank": "user-alice"}
        )
        assert denied.status_code == 403
        assert denied.json()["code"] == "access_denied"
        own = await client.post("/v1/chat/completions", json=_chat(), headers=key(BOB_KEY))
        assert own.status_code == 200
        assert own.headers["x-astrocyte-bank"] == "user-bob"
        assert own.headers["x-astrocyte-memories"] == "0"


async def test_disabled_and_unconfigured_proxy(
    gateway: Client, upstream: ChatUpstreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with gateway(_config(upstream, enabled=False)) as client:
        disabled = await client.post("/v1/chat/completions", json=_chat(), headers=key(ALICE_KEY))
        assert disabled.status_code == 404
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with gateway(base_config()) as client:
        unconfigured = await client.post("/v1/chat/completions", json=_chat(), headers=key(ALICE_KEY))
        assert unconfigured.status_code == 503
        assert unconfigured.json()["code"] == "chat_proxy_not_configured"
        assert "api_key" in unconfigured.json()["detail"]
        health = await client.get("/health")
        assert health.status_code == 200  # the gateway itself started and serves

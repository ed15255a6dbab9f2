"""MCP: every tool through the SDK's own client, over stdio (``astrocyte mcp``) and over streamable
HTTP mounted on the gateway (identity from the request's API key)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _gateway import ALICE_KEY, BOB_KEY, base_config
from astrocyte_gateway import create_app
from astrocyte_gateway.server import serving
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

TOOLS = {"memory_retain", "memory_recall", "memory_reflect", "memory_forget", "memory_list_banks"}


def _structured(result: Any) -> Any:
    assert not result.isError, result.content
    return result.structuredContent


@asynccontextmanager
async def _stdio_session(params: StdioServerParameters) -> AsyncIterator[ClientSession]:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def _http_session(url: str, http: httpx.AsyncClient) -> AsyncIterator[ClientSession]:
    async with (
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def _exercise_tools(client: ClientSession, bank: str) -> None:
    listed = await client.list_tools()
    assert {tool.name for tool in listed.tools} == TOOLS
    retained = _structured(await client.call_tool("memory_retain", {"content": "Alice keeps bees in Porto."}))
    assert retained["bank_id"] == bank
    recalled = _structured(await client.call_tool("memory_recall", {"query": "Who keeps bees?"}))
    assert recalled["hits"][0]["memory_id"] == retained["memory_ids"][0]
    reflected = _structured(await client.call_tool("memory_reflect", {"query": "Where are the bees?"}))
    assert "Porto" in reflected["answer"]
    banks = _structured(await client.call_tool("memory_list_banks", {}))
    assert banks == {"result": [bank]}
    denied = await client.call_tool("memory_recall", {"query": "bees", "bank_id": "user-somebody-else"})
    assert denied.isError
    assert "access_denied: " in denied.content[0].text
    forgotten = _structured(await client.call_tool("memory_forget", {"all": True}))
    assert forgotten["deleted_count"] == 1


async def test_every_tool_over_stdio(tmp_path: Path) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text(json.dumps(base_config()), encoding="utf-8")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "astrocyte", "mcp", "--config", str(config), "--principal", "user:alice"],
        cwd=str(tmp_path),
    )
    async with _stdio_session(params) as client:
        await _exercise_tools(client, "user-alice")


async def test_every_tool_over_http_with_the_callers_key() -> None:
    async with serving(create_app(base_config())) as url:
        async with (
            httpx.AsyncClient(headers={"Authorization": f"Bearer {ALICE_KEY}"}, timeout=30) as http,
            _http_session(f"{url}/mcp", http) as client,
        ):
            await _exercise_tools(client, "user-alice")
        async with (
            httpx.AsyncClient(headers={"X-API-Key": BOB_KEY}, timeout=30) as http,
            _http_session(f"{url}/mcp", http) as client,
        ):
            banks = _structured(await client.call_tool("memory_list_banks", {}))
            assert banks == {"result": []}


async def test_http_without_credentials_is_401() -> None:
    async with serving(create_app(base_config())) as url, httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert response.status_code == 401
        assert response.json()["code"] == "missing_credentials"


def test_stdio_needs_a_principal(monkeypatch: pytest.MonkeyPatch) -> None:
    from astrocyte.cli import main

    monkeypatch.delenv("ASTROCYTE_MCP_PRINCIPAL", raising=False)
    assert main(["mcp", "--config", "/nonexistent.yaml"]) == 2

"""MCP: every tool through the SDK's own client, over stdio (``astrocyte mcp``) and over streamable
HTTP mounted on the gateway (identity from the request's API key)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from _gateway import ALICE_KEY, BOB_KEY, base_config
from astrocyte_gateway import create_app
from astrocyte_gateway.server import serving
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

TOOLS = {"memory_retain", "memory_recall", "memory_reflect", "memory_forget", "memory_list_banks"}


def _structured(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


async def _exercise_tools(client: Client, bank: str) -> None:
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
    assert denied.is_error
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
    async with Client(params) as client:
        await _exercise_tools(client, "user-alice")


async def test_every_tool_over_http_with_the_callers_key() -> None:
    async with serving(create_app(base_config())) as url:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE_KEY}"}, timeout=30) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            await _exercise_tools(client, "user-alice")
        async with (
            httpx2.AsyncClient(headers={"X-API-Key": BOB_KEY}, timeout=30) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            banks = _structured(await client.call_tool("memory_list_banks", {}))
            assert banks == {"result": []}


async def test_http_without_credentials_is_401() -> None:
    async with serving(create_app(base_config())) as url, httpx2.AsyncClient() as http:
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

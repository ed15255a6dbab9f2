"""OpenAI Agents SDK: the function tools invoked the way the SDK's runner invokes them."""

from __future__ import annotations

import json

import pytest
from _frameworks import FACTS
from agents import FunctionTool
from agents.tool_context import ToolContext

from astrocyte import Astrocyte, AstrocyteContext, SyncAstrocyte
from astrocyte.integrations.openai_agents import astrocyte_function_tools

pytestmark = pytest.mark.backend("sqlite")


async def _call(tool: FunctionTool, **arguments: object) -> str:
    raw = json.dumps(arguments)
    context = ToolContext(context=None, tool_name=tool.name, tool_call_id="call-1", tool_arguments=raw)
    return str(await tool.on_invoke_tool(context, raw))


def _tools(memory: Astrocyte | SyncAstrocyte, **kwargs: object) -> dict[str, FunctionTool]:
    return {tool.name: tool for tool in astrocyte_function_tools(memory, **kwargs)}  # type: ignore[arg-type]


async def test_schemas_are_strict_and_name_the_arguments(memory: Astrocyte) -> None:
    tools = _tools(memory, bank_id="b")
    assert set(tools) == {"retain_memory", "recall_memory"}
    retain = tools["retain_memory"].params_json_schema
    assert tools["retain_memory"].strict_json_schema and retain["additionalProperties"] is False
    assert set(retain["properties"]) == {"content", "tags"}
    assert tools["recall_memory"].params_json_schema["required"] == ["query"]
    assert "long-term memory" in tools["recall_memory"].description


async def test_retain_then_recall(memory: Astrocyte) -> None:
    tools = _tools(memory, bank_id="alice", max_results=2)
    for fact in FACTS:
        assert await _call(tools["retain_memory"], content=fact, tags=["facts"]) == "Remembered (1 memory)."
    assert await _call(tools["retain_memory"], content=FACTS[0], tags=None) == "Already remembered."
    answer = await _call(tools["recall_memory"], query="Where did Alice move?")
    assert answer.startswith("1. Alice moved to Lisbon") and "\n2. " in answer
    assert (await memory.recall("Lisbon", bank_id="alice", tags=["facts"])).hits


async def test_tools_over_sync_astrocyte_keep_the_loop_free(sync_memory: SyncAstrocyte) -> None:
    tools = _tools(sync_memory, bank_id="team")
    await _call(tools["retain_memory"], content=FACTS[2])
    assert (await _call(tools["recall_memory"], query="planning")).startswith("1. The quarterly planning")


async def test_bad_arguments_and_denied_access_come_back_as_tool_errors(memory: Astrocyte) -> None:
    tools = _tools(memory, bank_id="user-bob", context=AstrocyteContext(principal="user:alice"))
    denied = await _call(tools["recall_memory"], query="bob's secrets")
    assert "error" in denied.lower() and "user-bob" in denied
    schema_violation = await _call(tools["retain_memory"], tags=["x"])  # no content: the SDK refuses it
    assert "invalid json input" in schema_violation.lower()
    own = _tools(memory, bank_id="team")
    blank = await _call(own["retain_memory"], content="   ", tags=None)  # Astrocyte's typed error
    assert "content" in blank and "blank" in blank

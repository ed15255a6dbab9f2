"""Pydantic AI: the toolset driven by a real ``Agent`` whose offline ``FunctionModel`` calls the tools."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _frameworks import FACTS
from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext, SyncAstrocyte
from astrocyte.integrations.pydantic_ai import astrocyte_toolset

pytestmark = pytest.mark.backend("sqlite")


def _scripted(calls: list[tuple[str, dict[str, Any]]]) -> tuple[FunctionModel, list[str]]:
    """A model that makes ``calls`` one per turn, then answers with every tool result it saw."""
    returns: list[str] = []
    pending = iter(calls)

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        if isinstance(last, ModelRequest):
            returns.extend(str(p.content) for p in last.parts if isinstance(p, ToolReturnPart))
        step = next(pending, None)
        if step is None:
            return ModelResponse(parts=[TextPart("\n---\n".join(returns))])
        return ModelResponse(parts=[ToolCallPart(step[0], step[1])])

    return FunctionModel(respond), returns


async def test_agent_retains_then_recalls_through_the_tools(memory: Astrocyte) -> None:
    model, returns = _scripted(
        [("retain_memory", {"content": fact, "tags": ["people"]}) for fact in FACTS]
        + [("recall_memory", {"query": "Where did Alice move?"})]
    )
    agent = Agent(model, toolsets=[astrocyte_toolset(memory, bank_id="alice")])
    result = await agent.run("Remember these facts, then tell me where Alice lives.")
    assert returns[:3] == ["Remembered (1 memory)."] * 3
    assert returns[3].startswith("1. Alice moved to Lisbon")
    assert "Lisbon" in result.output
    stored = await memory.recall("green tea", bank_id="alice", tags=["people"])
    assert stored.hits and "green tea" in stored.hits[0].text


async def test_tool_schemas_reach_the_model(memory: Astrocyte) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.update({tool.name: tool.parameters_json_schema for tool in info.function_tools})
        return ModelResponse(parts=[TextPart("ok")])

    agent = Agent(FunctionModel(respond), toolsets=[astrocyte_toolset(memory, bank_id="b")])
    await agent.run("hi")
    assert set(seen) == {"retain_memory", "recall_memory"}
    assert seen["retain_memory"]["required"] == ["content"]
    assert seen["recall_memory"]["required"] == ["query"]


async def test_a_repeated_fact_is_reported_as_already_remembered(memory: Astrocyte) -> None:
    fact = FACTS[1]
    model, returns = _scripted([("retain_memory", {"content": fact}), ("retain_memory", {"content": fact})])
    await Agent(model, toolsets=[astrocyte_toolset(memory, bank_id="bob")]).run("remember twice")
    assert returns == ["Remembered (1 memory).", "Already remembered."]


def test_sync_agent_over_sync_astrocyte(sync_memory: SyncAstrocyte) -> None:
    model, returns = _scripted(
        [("retain_memory", {"content": FACTS[2]}), ("recall_memory", {"query": "planning meeting"})]
    )
    agent = Agent(model, toolsets=[astrocyte_toolset(sync_memory, bank_id="team")])
    try:
        agent.run_sync("remember and recall")
    finally:  # run_sync leaves the event loop it created set (and open) for later calls
        asyncio.get_event_loop_policy().get_event_loop().close()
        asyncio.set_event_loop(None)
    assert returns[1].startswith("1. The quarterly planning meeting")


async def test_context_is_enforced_on_tool_calls(memory: Astrocyte) -> None:
    alice = AstrocyteContext(principal="user:alice")
    model, _ = _scripted([("recall_memory", {"query": "anything"})])
    agent = Agent(model, toolsets=[astrocyte_toolset(memory, bank_id="user-bob", context=alice)])
    with pytest.raises(AccessDeniedError):
        await agent.run("peek at bob")

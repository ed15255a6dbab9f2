"""AutoGen: the autogen-core ``Memory`` protocol driven with real model contexts."""

from __future__ import annotations

import pytest
from _frameworks import FACTS
from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import SystemMessage, UserMessage

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext, InvalidRequestError
from astrocyte.integrations.autogen import AstrocyteMemory

pytestmark = pytest.mark.backend("sqlite")


async def _filled(memory: Astrocyte, bank_id: str = "team") -> AstrocyteMemory:
    agent_memory = AstrocyteMemory(memory, bank_id=bank_id, max_results=2)
    for fact in FACTS:
        await agent_memory.add(
            MemoryContent(content=fact, mime_type=MemoryMimeType.TEXT, metadata={"by": "t"})
        )
    return agent_memory


async def test_add_then_query_returns_the_relevant_memory_first(memory: Astrocyte) -> None:
    agent_memory = await _filled(memory)
    result = await agent_memory.query("What does Bob like to drink?")
    assert result.results, "the memory just added is recalled"
    best = result.results[0]
    assert "green tea" in str(best.content)
    assert best.mime_type == "text/plain"
    assert best.metadata is not None and best.metadata["by"] == "t" and best.metadata["memory_id"]


async def test_json_content_is_stored_as_its_text(memory: Astrocyte) -> None:
    agent_memory = AstrocyteMemory(memory, bank_id="prefs")
    await agent_memory.add(MemoryContent(content={"unit": "celsius"}, mime_type=MemoryMimeType.JSON))
    result = await agent_memory.query("celsius")
    assert result.results[0].content == '{"unit": "celsius"}'
    assert result.results[0].mime_type == "application/json"


async def test_update_context_adds_one_system_message_with_recalled_memories(memory: Astrocyte) -> None:
    agent_memory = await _filled(memory)
    context = UnboundedChatCompletionContext()
    await context.add_message(UserMessage(content="Where did Alice move to?", source="user"))
    update = await agent_memory.update_context(context)
    messages = await context.get_messages()
    assert len(messages) == 2 and isinstance(messages[-1], SystemMessage)
    assert "Lisbon" in messages[-1].content
    assert len(update.memories.results) <= 2


async def test_update_context_on_an_empty_context_adds_nothing(memory: Astrocyte) -> None:
    agent_memory = await _filled(memory)
    context = UnboundedChatCompletionContext()
    update = await agent_memory.update_context(context)
    assert update.memories.results == [] and await context.get_messages() == []


async def test_clear_forgets_the_bank_only(memory: Astrocyte) -> None:
    team = await _filled(memory, "team")
    other = await _filled(memory, "other")
    await team.clear()
    assert (await team.query("green tea")).results == []
    assert (await other.query("green tea")).results
    await team.close()  # the shared Astrocyte stays usable
    assert (await other.query("Lisbon")).results


async def test_images_are_rejected_with_a_typed_error(memory: Astrocyte) -> None:
    agent_memory = AstrocyteMemory(memory, bank_id="team")
    with pytest.raises(InvalidRequestError, match="mime_type"):
        await agent_memory.add(MemoryContent(content=b"\x89PNG", mime_type=MemoryMimeType.IMAGE))


async def test_context_resolves_the_bank_and_is_checked(memory: Astrocyte) -> None:
    alice = AstrocyteContext(principal="user:alice")
    own = AstrocyteMemory(memory, context=alice)
    await own.add(MemoryContent(content="Alice prefers window seats.", mime_type=MemoryMimeType.TEXT))
    assert "window" in str((await own.query("seats")).results[0].content)
    assert await memory.banks() == ["user-alice"]
    foreign = AstrocyteMemory(memory, bank_id="user-bob", context=alice)
    with pytest.raises(AccessDeniedError):
        await foreign.query("anything")

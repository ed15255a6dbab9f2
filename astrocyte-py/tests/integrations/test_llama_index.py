"""LlamaIndex: the retriever through ``retrieve``/``aretrieve`` and a query engine, the memory block
inside LlamaIndex's own ``Memory`` (short-term window flushing into the block)."""

from __future__ import annotations

import pytest
from _frameworks import FACTS
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.retrievers import QueryFusionRetriever

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext, SyncAstrocyte
from astrocyte.integrations import SyncCallError
from astrocyte.integrations.llama_index import AstrocyteMemoryBlock, AstrocyteRetriever

pytestmark = pytest.mark.backend("sqlite")


async def test_aretrieve_returns_nodes_with_memory_metadata(memory: Astrocyte) -> None:
    for fact in FACTS:
        await memory.retain(fact, bank_id="kb", metadata={"source": "test"})
    nodes = await AstrocyteRetriever(memory, bank_id="kb", max_results=2).aretrieve("What does Bob drink?")
    assert 1 <= len(nodes) <= 2
    best = nodes[0]
    assert "green tea" in best.get_content() and best.score is not None
    assert best.node.node_id == best.metadata["memory_id"] and best.metadata["source"] == "test"


def test_retrieve_and_fusion_retriever_over_sync_astrocyte(sync_memory: SyncAstrocyte) -> None:
    for fact in FACTS:
        sync_memory.retain(fact, bank_id="kb")
    retriever = AstrocyteRetriever(sync_memory, bank_id="kb", max_results=1)
    assert "Lisbon" in retriever.retrieve("Where does Alice live?")[0].get_content()
    # composed by LlamaIndex's own fusion retriever (one query: no LLM rewriting)
    fused = QueryFusionRetriever([retriever], llm=MockLLM(), num_queries=1, use_async=False)
    assert "planning meeting" in fused.retrieve("When is the planning meeting?")[0].get_content()


async def test_sync_retrieve_over_async_astrocyte_is_a_typed_error(memory: Astrocyte) -> None:
    with pytest.raises(SyncCallError, match="retrieve"):
        AstrocyteRetriever(memory, bank_id="kb").retrieve("anything")


def _words(text: str) -> list[str]:
    return text.split()  # offline tokenizer for Memory's token budget


async def test_memory_block_receives_flushed_messages_and_feeds_the_prompt(memory: Astrocyte) -> None:
    block = AstrocyteMemoryBlock(memory=memory, bank_id="alice", max_results=3)
    chat = Memory.from_defaults(
        session_id="s1", memory_blocks=[block], token_limit=40, token_flush_size=10, tokenizer_fn=_words
    )
    turns = [
        (MessageRole.USER, "I moved to Lisbon in May and I love the trams there."),
        (MessageRole.ASSISTANT, "Lisbon trams are lovely, enjoy the city."),
        (MessageRole.USER, "My sister Carla is visiting me next week from Berlin."),
        (MessageRole.ASSISTANT, "Have a wonderful visit with Carla."),
        (MessageRole.USER, "Which city did I move to?"),
    ]
    for role, text in turns:
        await chat.aput(ChatMessage(role=role, content=text))
    stored = await memory.recall("Lisbon trams", bank_id="alice")
    texts = {h.text for h in stored.hits}
    assert "user: I moved to Lisbon in May and I love the trams there." in texts  # flushed into the block
    assert all(h.metadata["session_id"] == "s1" for h in stored.hits)
    system, *window = await chat.aget()
    assert system.role == MessageRole.SYSTEM and "<astrocyte>" in (system.content or "")
    assert "user: I moved to Lisbon in May" in (system.content or "")  # recalled by the block
    assert all("Lisbon" not in (m.content or "") for m in window)  # flushed out of the short-term window
    await chat.areset()


async def test_memory_block_returns_nothing_for_no_messages(memory: Astrocyte) -> None:
    block = AstrocyteMemoryBlock(memory=memory, bank_id="alice")
    assert await block.aget([]) == ""
    await block.aput([ChatMessage(role=MessageRole.USER, content="I keep bees.")])
    assert await block.aget([ChatMessage(role=MessageRole.USER, content="bees")]) == "1. user: I keep bees."


async def test_memory_block_checks_the_context(memory: Astrocyte) -> None:
    alice = AstrocyteContext(principal="user:alice")
    block = AstrocyteMemoryBlock(memory=memory, bank_id="user-bob", context=alice)
    with pytest.raises(AccessDeniedError):
        await block.aput([ChatMessage(role=MessageRole.USER, content="sneaky")])

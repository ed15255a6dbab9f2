"""LangChain: retriever, chat message history and tools, driven through LangChain's own runnables."""

from __future__ import annotations

import pytest
from _frameworks import FACTS
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext, SyncAstrocyte
from astrocyte.integrations import SyncCallError
from astrocyte.integrations.langchain import (
    AstrocyteChatMessageHistory,
    AstrocyteRetriever,
    astrocyte_tools,
)

pytestmark = pytest.mark.backend("sqlite")


# --------------------------------------------------------------------------- retriever


async def test_retriever_ainvoke_returns_documents_with_memory_metadata(memory: Astrocyte) -> None:
    for fact in FACTS:
        await memory.retain(fact, bank_id="kb", tags=["facts"], metadata={"source": "test"})
    retriever = AstrocyteRetriever(memory=memory, bank_id="kb", max_results=2)
    docs = await retriever.ainvoke("What does Bob drink?")
    assert 1 <= len(docs) <= 2
    best = docs[0]
    assert "green tea" in best.page_content
    assert best.metadata["bank_id"] == "kb" and best.metadata["source"] == "test"
    assert best.metadata["tags"] == ["facts"] and best.id == best.metadata["memory_id"]
    assert best.metadata["strategies"]


def test_retriever_in_a_sync_chain_over_sync_astrocyte(sync_memory: SyncAstrocyte) -> None:
    for fact in FACTS:
        sync_memory.retain(fact, bank_id="kb")
    retriever = AstrocyteRetriever(memory=sync_memory, bank_id="kb", max_results=1)
    chain = retriever | RunnableLambda(lambda docs: docs[0].page_content)
    assert "Lisbon" in chain.invoke("Where does Alice live now?")
    answers = chain.batch(["planning meeting Porto", "green tea"])
    assert "planning" in answers[0] and "tea" in answers[1]


async def test_retriever_tag_filter(memory: Astrocyte) -> None:
    await memory.retain("Lisbon has trams.", bank_id="kb", tags=["travel"])
    await memory.retain("Lisbon office opens at nine.", bank_id="kb", tags=["work"])
    docs = await AstrocyteRetriever(memory=memory, bank_id="kb", tags=["work"]).ainvoke("Lisbon")
    assert [d.page_content for d in docs] == ["Lisbon office opens at nine."]


async def test_sync_invoke_over_async_astrocyte_is_a_typed_error(memory: Astrocyte) -> None:
    retriever = AstrocyteRetriever(memory=memory, bank_id="kb")
    with pytest.raises(SyncCallError, match="ainvoke"):
        retriever.invoke("anything")


# --------------------------------------------------------------------------- chat history


CONVERSATION = [
    SystemMessage("You are terse."),
    HumanMessage("I'm flying to Lisbon on Friday."),
    AIMessage("ok"),
    HumanMessage("And back on Monday."),
    AIMessage("ok"),  # verbatim repeats are kept: a transcript is not deduplicated
    AIMessage("", tool_calls=[{"name": "book", "args": {"city": "Lisbon"}, "id": "call-1"}]),
    ToolMessage("booked", tool_call_id="call-1"),
]


async def test_history_round_trips_messages_in_order(memory: Astrocyte) -> None:
    history = AstrocyteChatMessageHistory(memory, "trip", bank_id="alice")
    await history.aadd_messages(CONVERSATION[:3])
    await history.aadd_messages(CONVERSATION[3:])
    assert await history.aget_messages() == CONVERSATION
    # the messages are memories too: recall finds them
    found = await memory.recall("When is the flight to Lisbon?", bank_id="alice")
    assert "flying to Lisbon" in found.hits[0].text


async def test_history_clear_forgets_one_session(memory: Astrocyte) -> None:
    trip = AstrocyteChatMessageHistory(memory, "trip", bank_id="alice")
    work = AstrocyteChatMessageHistory(memory, "work", bank_id="alice")
    await trip.aadd_messages([HumanMessage("Book the hotel.")])
    await work.aadd_messages([HumanMessage("Send the report.")])
    await trip.aclear()
    assert await trip.aget_messages() == []
    assert await work.aget_messages() == [HumanMessage("Send the report.")]


def test_history_feeds_a_prompt_and_records_the_turns(sync_memory: SyncAstrocyte) -> None:
    history = AstrocyteChatMessageHistory(sync_memory, "s1", bank_id="alice")
    prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("history"), ("human", "{input}")])
    chain = prompt | FakeListChatModel(responses=["Noted: Lisbon.", "You said Lisbon."])
    for text in ["I live in Lisbon.", "Where do I live?"]:
        reply = chain.invoke({"history": history.messages, "input": text})
        history.add_user_message(text)
        history.add_ai_message(reply)
    reread = AstrocyteChatMessageHistory(sync_memory, "s1", bank_id="alice").messages
    assert [(m.type, m.content) for m in reread] == [
        ("human", "I live in Lisbon."),
        ("ai", "Noted: Lisbon."),
        ("human", "Where do I live?"),
        ("ai", "You said Lisbon."),
    ]


async def test_history_checks_the_context(memory: Astrocyte) -> None:
    alice = AstrocyteContext(principal="user:alice")
    own = AstrocyteChatMessageHistory(memory, "s", context=alice)
    await own.aadd_messages([HumanMessage("hello")])
    assert await own.aget_messages() == [HumanMessage("hello")]
    foreign = AstrocyteChatMessageHistory(memory, "s", bank_id="user-bob", context=alice)
    with pytest.raises(AccessDeniedError):
        await foreign.aget_messages()
    with pytest.raises(AccessDeniedError):
        await foreign.aadd_messages([HumanMessage("sneaky")])


# --------------------------------------------------------------------------- tools


async def test_tools_retain_and_recall_async(memory: Astrocyte) -> None:
    retain, recall = astrocyte_tools(memory, bank_id="bob", max_results=1)
    assert (retain.name, recall.name) == ("retain_memory", "recall_memory")
    assert set(retain.args) == {"content", "tags"} and set(recall.args) == {"query"}
    assert await retain.ainvoke({"content": FACTS[1], "tags": ["drinks"]}) == "Remembered (1 memory)."
    assert await retain.ainvoke({"content": FACTS[1]}) == "Already remembered."
    assert await recall.ainvoke({"query": "what does Bob drink"}) == f"1. {FACTS[1]}"
    assert (await memory.recall("tea", bank_id="bob", tags=["drinks"])).hits


def test_tools_sync_and_as_a_tool_call(sync_memory: SyncAstrocyte) -> None:
    retain, recall = astrocyte_tools(sync_memory, bank_id="team")
    retain.invoke({"content": FACTS[2]})
    message = recall.invoke(
        {"name": "recall_memory", "args": {"query": "planning"}, "id": "call-7", "type": "tool_call"}
    )
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call-7"
    assert str(message.content).startswith("1. The quarterly planning meeting")
    _, recall_elsewhere = astrocyte_tools(sync_memory, bank_id="empty-bank")
    assert recall_elsewhere.invoke({"query": "planning"}) == "No relevant memories."

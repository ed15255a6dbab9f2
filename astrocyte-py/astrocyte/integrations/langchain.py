"""LangChain: a retriever, a chat message history and memory tools (``pip install "astrocyte[langchain]"``).

>>> memory = SyncAstrocyte.from_config()                                           # doctest: +SKIP
>>> retriever = AstrocyteRetriever(memory=memory, bank_id="alice", max_results=4)  # doctest: +SKIP
>>> history = AstrocyteChatMessageHistory(memory, session_id="s1", bank_id="alice")  # doctest: +SKIP
>>> tools = astrocyte_tools(memory, bank_id="alice")                               # doctest: +SKIP

Over ``Astrocyte`` (async) use the async entry points (``ainvoke``, ``aget_messages``…); over
``SyncAstrocyte`` both work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import ConfigDict, Field, PrivateAttr

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations import _tools
from astrocyte.integrations._bridge import MemoryBridge
from astrocyte.integrations._records import find_by_metadata
from astrocyte.types import MemoryHit, RetainRequest, VectorHit

__all__ = ["AstrocyteChatMessageHistory", "AstrocyteRetriever", "astrocyte_tools"]


# --------------------------------------------------------------------------- retriever


def _document(hit: MemoryHit) -> Document:
    metadata: dict[str, Any] = {
        **hit.metadata,
        "memory_id": hit.memory_id,
        "bank_id": hit.bank_id,
        "score": hit.score,
        "tags": hit.tags,
        "strategies": hit.strategies,
    }
    if hit.occurred_at is not None:
        metadata["occurred_at"] = hit.occurred_at.isoformat()
    return Document(page_content=hit.text, metadata=metadata, id=hit.memory_id)


class AstrocyteRetriever(BaseRetriever):
    """Documents from Astrocyte recall (vector, full-text, graph and temporal strategies, fused).

    Each ``Document`` carries the memory's metadata plus ``memory_id``, ``bank_id``, ``score``,
    ``tags``, ``strategies`` and ``occurred_at``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Astrocyte | SyncAstrocyte
    bank_id: str | None = None
    context: AstrocyteContext | None = None
    max_results: int = Field(default=5, ge=1, le=1000)
    tags: list[str] | None = None

    _bridge: MemoryBridge = PrivateAttr()

    def model_post_init(self, __context: Any) -> None:
        self._bridge = MemoryBridge(self.memory, bank_id=self.bank_id, context=self.context)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self._bridge.recall(query, max_results=self.max_results, tags=self.tags, hook="invoke")
        return [_document(hit) for hit in result.hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = await self._bridge.arecall(query, max_results=self.max_results, tags=self.tags)
        return [_document(hit) for hit in result.hits]


# --------------------------------------------------------------------------- chat message history

_SESSION = "chat_session"
_ORDER = "chat_order"
_MESSAGE = "chat_message"


def _text(message: BaseMessage) -> str:
    """What recall searches: the message text, else (a tool call with no text) its JSON."""
    text = message.text.strip()
    return text or json.dumps(message_to_dict(message), sort_keys=True)


def _in_order(hits: list[VectorHit]) -> list[BaseMessage]:
    """One message per order key (a long message has several chunks), oldest first."""
    by_order = {int(str(h.metadata[_ORDER])): str(h.metadata[_MESSAGE]) for h in hits}
    return messages_from_dict([json.loads(by_order[k]) for k in sorted(by_order)])


class AstrocyteChatMessageHistory(BaseChatMessageHistory):
    """A conversation kept in Astrocyte: each message is a memory (so later recall finds it) tagged
    with its session, stored verbatim (``deduplicate=False``) and read back in order.

    ``clear`` forgets the session's messages only; the rest of the bank stays.
    """

    def __init__(
        self,
        memory: Astrocyte | SyncAstrocyte,
        session_id: str,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
    ) -> None:
        self._bridge = MemoryBridge(memory, bank_id=bank_id, context=context)
        self.session_id = session_id

    @property
    def _tag(self) -> str:
        return f"session:{self.session_id}"

    def _requests(self, messages: Sequence[BaseMessage]) -> list[RetainRequest]:
        first = time.time_ns()  # orders messages across calls; +i keeps a batch in its order
        return [
            RetainRequest(
                content=_text(message),
                bank_id=self._bridge.bank_id,
                content_type="conversation",
                tags=[self._tag],
                deduplicate=False,
                metadata={
                    _SESSION: self.session_id,
                    _ORDER: first + i,
                    _MESSAGE: json.dumps(message_to_dict(message)),
                    "role": message.type,
                },
            )
            for i, message in enumerate(messages)
        ]

    async def _read(self, memory: Astrocyte) -> list[BaseMessage]:
        hits = await find_by_metadata(
            memory, self._bridge.bank_id, self._bridge.context, {_SESSION: self.session_id}
        )
        return _in_order(hits)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]  # a read-only property here
        return self._bridge.run(self._read, hook="messages")

    async def aget_messages(self) -> list[BaseMessage]:
        return await self._bridge.arun(self._read)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        requests = self._requests(messages)
        if requests:
            self._bridge.run(
                lambda m: m.retain_many(requests, context=self._bridge.context), hook="add_messages"
            )

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        requests = self._requests(messages)
        if requests:
            await self._bridge.arun(lambda m: m.retain_many(requests, context=self._bridge.context))

    def clear(self) -> None:
        self._bridge.forget(tags=[self._tag], hook="clear")

    async def aclear(self) -> None:
        await self._bridge.aforget(tags=[self._tag])


# --------------------------------------------------------------------------- tools


def astrocyte_tools(
    memory: Astrocyte | SyncAstrocyte,
    *,
    bank_id: str | None = None,
    context: AstrocyteContext | None = None,
    max_results: int = 5,
) -> list[BaseTool]:
    """``retain_memory`` and ``recall_memory`` as LangChain tools (sync and async), for any agent."""
    bridge = MemoryBridge(memory, bank_id=bank_id, context=context)

    def retain_memory(content: str, tags: list[str] | None = None) -> str:
        return _tools.retain(bridge, content, tags)

    async def aretain_memory(content: str, tags: list[str] | None = None) -> str:
        return await _tools.aretain(bridge, content, tags)

    def recall_memory(query: str) -> str:
        return _tools.recall(bridge, query, max_results)

    async def arecall_memory(query: str) -> str:
        return await _tools.arecall(bridge, query, max_results)

    return [
        StructuredTool.from_function(
            func=retain_memory,
            coroutine=aretain_memory,
            name=_tools.RETAIN_NAME,
            description=_tools.RETAIN_DESCRIPTION,
        ),
        StructuredTool.from_function(
            func=recall_memory,
            coroutine=arecall_memory,
            name=_tools.RECALL_NAME,
            description=_tools.RECALL_DESCRIPTION,
        ),
    ]

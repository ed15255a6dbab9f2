"""LlamaIndex: a retriever and a memory block (``pip install "astrocyte[llama-index]"``).

>>> retriever = AstrocyteRetriever(SyncAstrocyte.from_config(), bank_id="kb")       # doctest: +SKIP
>>> block = AstrocyteMemoryBlock(memory=Astrocyte.from_config(), bank_id="alice")   # doctest: +SKIP
>>> chat_memory = Memory.from_defaults(session_id="s1", memory_blocks=[block])      # doctest: +SKIP

The memory block is LlamaIndex's long-term memory API: ``Memory`` flushes messages that leave its
short-term window into the block (``aput``) and pulls the block's text into the prompt (``aget``),
here: the memories Astrocyte recalls for the latest messages.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatMessage, TextBlock
from llama_index.core.callbacks import CallbackManager
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import ConfigDict, Field, PrivateAttr

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations._bridge import MemoryBridge
from astrocyte.integrations._text import hits_as_text
from astrocyte.types import MemoryHit, RecallResult, RetainRequest

__all__ = ["AstrocyteMemoryBlock", "AstrocyteRetriever"]


def _node(hit: MemoryHit) -> NodeWithScore:
    metadata: dict[str, Any] = {
        **hit.metadata,
        "memory_id": hit.memory_id,
        "bank_id": hit.bank_id,
        "tags": hit.tags,
        "strategies": hit.strategies,
    }
    if hit.occurred_at is not None:
        metadata["occurred_at"] = hit.occurred_at.isoformat()
    return NodeWithScore(node=TextNode(id_=hit.memory_id, text=hit.text, metadata=metadata), score=hit.score)


class AstrocyteRetriever(BaseRetriever):
    """Nodes from Astrocyte recall (fused vector, full-text, graph and temporal strategies)."""

    def __init__(
        self,
        memory: Astrocyte | SyncAstrocyte,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        max_results: int = 5,
        tags: list[str] | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self._bridge = MemoryBridge(memory, bank_id=bank_id, context=context)
        self._max_results = max_results
        self._tags = tags

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._bridge.recall(
            query_bundle.query_str, max_results=self._max_results, tags=self._tags, hook="retrieve"
        )
        return [_node(hit) for hit in result.hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = await self._bridge.arecall(
            query_bundle.query_str, max_results=self._max_results, tags=self._tags
        )
        return [_node(hit) for hit in result.hits]


def _text(message: ChatMessage) -> str:
    return " ".join(block.text for block in message.blocks if isinstance(block, TextBlock)).strip()


class AstrocyteMemoryBlock(BaseMemoryBlock[str]):
    """Long-term memory for LlamaIndex ``Memory``: messages flushed from the short-term window are
    retained (one memory per message, ``role: text``); ``aget`` recalls what is relevant to the
    latest messages and renders it as a numbered list."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = Field(default="astrocyte", description="The name/identifier of the memory block.")
    memory: Astrocyte | SyncAstrocyte = Field(exclude=True)
    bank_id: str | None = None
    context: AstrocyteContext | None = None
    max_results: int = Field(default=5, ge=1, le=1000)
    query_messages: int = Field(default=2, ge=1, description="How many latest messages form the query.")

    _bridge: MemoryBridge = PrivateAttr()

    def model_post_init(self, __context: Any) -> None:
        self._bridge = MemoryBridge(self.memory, bank_id=self.bank_id, context=self.context)

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        query = " ".join(t for t in (_text(m) for m in (messages or [])[-self.query_messages :]) if t)
        if not query:
            return ""
        result: RecallResult = await self._bridge.arecall(query, max_results=self.max_results)
        return hits_as_text(result.hits) if result.hits else ""

    async def _aput(self, messages: list[ChatMessage]) -> None:
        requests = [
            RetainRequest(
                content=f"{message.role.value}: {text}",
                bank_id=self._bridge.bank_id,
                content_type="conversation",
                metadata={"role": message.role.value, **_session(message)},
            )
            for message in messages
            if (text := _text(message))
        ]
        if requests:
            await self._bridge.arun(lambda m: m.retain_many(requests, context=self._bridge.context))


def _session(message: ChatMessage) -> dict[str, str]:
    """``Memory`` tags flushed messages with their session id; keep it for provenance."""
    session_id = message.additional_kwargs.get("session_id")
    return {"session_id": str(session_id)} if session_id is not None else {}

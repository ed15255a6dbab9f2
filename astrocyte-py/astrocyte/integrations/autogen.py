"""AutoGen: an autogen-core ``Memory`` over Astrocyte (``pip install "astrocyte[autogen]"``).

>>> memory = AstrocyteMemory(Astrocyte.from_config(), bank_id="alice")       # doctest: +SKIP
>>> agent = AssistantAgent("assistant", model_client=client, memory=[memory])   # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

from autogen_core import CancellationToken
from autogen_core.memory import (
    Memory,
    MemoryContent,
    MemoryMimeType,
    MemoryQueryResult,
    UpdateContextResult,
)
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import SystemMessage

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.errors import InvalidRequestError
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations._bridge import MemoryBridge
from astrocyte.integrations._text import to_metadata

__all__ = ["AstrocyteMemory"]

_TEXT_TYPES = {MemoryMimeType.TEXT.value, MemoryMimeType.MARKDOWN.value, MemoryMimeType.JSON.value}


def _mime(content: MemoryContent) -> str:
    mime = content.mime_type
    return mime.value if isinstance(mime, MemoryMimeType) else mime


def _as_text(content: MemoryContent) -> str:
    """Text and JSON memories are stored; images and bytes have no text to remember."""
    mime = _mime(content)
    if mime not in _TEXT_TYPES or isinstance(content.content, bytes):
        raise InvalidRequestError(
            f"AstrocyteMemory stores text, markdown or JSON, not {mime!r}; describe the item in text instead",
            field="mime_type",
        )
    if isinstance(content.content, dict):
        return json.dumps(content.content, sort_keys=True)
    return str(content.content)


class AstrocyteMemory(Memory):
    """Astrocyte as an AutoGen agent memory.

    ``update_context`` recalls memories relevant to the last message of the model context and adds
    them as one system message. ``clear`` forgets the whole bank; ``close`` leaves the shared
    ``Astrocyte`` open (its owner closes it).
    """

    component_type = "memory"

    def __init__(
        self,
        memory: Astrocyte | SyncAstrocyte,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        max_results: int = 5,
    ) -> None:
        self._bridge = MemoryBridge(memory, bank_id=bank_id, context=context)
        self._max_results = max_results

    async def add(self, content: MemoryContent, cancellation_token: CancellationToken | None = None) -> None:
        metadata = to_metadata(content.metadata or {})
        metadata["mime_type"] = _mime(content)
        await self._bridge.aretain(_as_text(content), metadata=metadata)

    async def query(
        self,
        query: str | MemoryContent,
        cancellation_token: CancellationToken | None = None,
        **kwargs: Any,
    ) -> MemoryQueryResult:
        text = query if isinstance(query, str) else _as_text(query)
        result = await self._bridge.arecall(text, max_results=kwargs.get("max_results", self._max_results))
        return MemoryQueryResult(
            results=[
                MemoryContent(
                    content=hit.text,
                    mime_type=str(hit.metadata.get("mime_type", MemoryMimeType.TEXT.value)),
                    metadata={**hit.metadata, "memory_id": hit.memory_id, "score": hit.score},
                )
                for hit in result.hits
            ]
        )

    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        messages = await model_context.get_messages()
        last = next((m for m in reversed(messages) if isinstance(m.content, str) and m.content.strip()), None)
        if last is None:
            return UpdateContextResult(memories=MemoryQueryResult(results=[]))
        assert isinstance(last.content, str)
        found = await self.query(last.content)
        if found.results:
            lines = [f"{i}. {item.content!s}" for i, item in enumerate(found.results, 1)]
            await model_context.add_message(SystemMessage(content="Relevant memories:\n" + "\n".join(lines)))
        return UpdateContextResult(memories=found)

    async def clear(self) -> None:
        await self._bridge.aforget(all=True)

    async def close(self) -> None:
        """Nothing to release: the ``Astrocyte`` passed in belongs to the caller."""

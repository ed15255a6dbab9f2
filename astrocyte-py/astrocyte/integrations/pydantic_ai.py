"""Pydantic AI: memory tools as a ``FunctionToolset`` (``pip install "astrocyte[pydantic-ai]"``).

>>> tools = astrocyte_toolset(Astrocyte.from_config(), bank_id="alice")   # doctest: +SKIP
>>> agent = Agent("openai:gpt-5-mini", toolsets=[tools])                   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from pydantic_ai import Tool
from pydantic_ai.toolsets import FunctionToolset

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations import _tools
from astrocyte.integrations._bridge import MemoryBridge

__all__ = ["astrocyte_toolset"]


def astrocyte_toolset(
    memory: Astrocyte | SyncAstrocyte,
    *,
    bank_id: str | None = None,
    context: AstrocyteContext | None = None,
    max_results: int = 5,
    id: str | None = None,
) -> FunctionToolset[Any]:
    """``retain_memory`` and ``recall_memory`` tools over one bank, for ``Agent(toolsets=[...])``."""
    bridge = MemoryBridge(memory, bank_id=bank_id, context=context)

    async def retain_memory(content: str, tags: list[str] | None = None) -> str:
        return await _tools.aretain(bridge, content, tags)

    async def recall_memory(query: str) -> str:
        return await _tools.arecall(bridge, query, max_results)

    return FunctionToolset(
        [
            Tool(retain_memory, takes_ctx=False, description=_tools.RETAIN_DESCRIPTION),
            Tool(recall_memory, takes_ctx=False, description=_tools.RECALL_DESCRIPTION),
        ],
        id=id,
    )

"""OpenAI Agents SDK: memory function tools (``pip install "astrocyte[openai-agents]"``).

>>> tools = astrocyte_function_tools(Astrocyte.from_config(), bank_id="alice")   # doctest: +SKIP
>>> agent = Agent(name="assistant", instructions="...", tools=tools)             # doctest: +SKIP
"""

from __future__ import annotations

from agents import FunctionTool, function_tool

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations import _tools
from astrocyte.integrations._bridge import MemoryBridge

__all__ = ["astrocyte_function_tools"]


def astrocyte_function_tools(
    memory: Astrocyte | SyncAstrocyte,
    *,
    bank_id: str | None = None,
    context: AstrocyteContext | None = None,
    max_results: int = 5,
) -> list[FunctionTool]:
    """``retain_memory`` and ``recall_memory`` as ``agents.function_tool`` tools over one bank.

    A failing call (access denied, bad input) comes back to the model as the SDK's tool error text,
    as for any function tool.
    """
    bridge = MemoryBridge(memory, bank_id=bank_id, context=context)

    async def retain_memory(content: str, tags: list[str] | None = None) -> str:
        return await _tools.aretain(bridge, content, tags)

    async def recall_memory(query: str) -> str:
        return await _tools.arecall(bridge, query, max_results)

    return [
        function_tool(
            retain_memory,
            name_override=_tools.RETAIN_NAME,
            description_override=_tools.RETAIN_DESCRIPTION,
        ),
        function_tool(
            recall_memory,
            name_override=_tools.RECALL_NAME,
            description_override=_tools.RECALL_DESCRIPTION,
        ),
    ]

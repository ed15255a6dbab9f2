"""Memory-augmented chat proxy: OpenAI-compatible chat completions with recall, injection and retain.

See :mod:`astrocyte.chat_proxy.proxy` for the flow and :mod:`astrocyte.chat_proxy.settings` for the
``chat_proxy`` section of ``astrocyte.yaml``.
"""

from astrocyte.chat_proxy.injection import (
    MEMORY_BLOCK_END,
    MEMORY_BLOCK_START,
    MEMORY_PREAMBLE,
    MemoryBlock,
    inject_memory_block,
    memory_block,
)
from astrocyte.chat_proxy.proxy import (
    BANK_HEADER,
    MEMORIES_HEADER,
    MEMORY_HEADER,
    ChatProxy,
    ChatProxyStats,
    ChatReply,
    ChatStream,
    MemoryMode,
    parse_memory_mode,
)
from astrocyte.chat_proxy.request import (
    ChatCompletionRequest,
    ChatMessage,
    ParsedChatRequest,
    parse_chat_request,
)
from astrocyte.chat_proxy.retainer import ExchangeRetainer, RetainFunction, RetainStats
from astrocyte.chat_proxy.settings import (
    ChatProxyBankSettings,
    ChatProxyMemorySettings,
    ChatProxyRetainSettings,
    ChatProxySettings,
    ChatProxyUpstreamSettings,
)
from astrocyte.chat_proxy.transcript import StreamTranscript, completion_text
from astrocyte.chat_proxy.upstream import ChatUpstream, ChatUpstreamError, UpstreamReply, UpstreamStream

__all__ = [
    "BANK_HEADER",
    "MEMORIES_HEADER",
    "MEMORY_BLOCK_END",
    "MEMORY_BLOCK_START",
    "MEMORY_HEADER",
    "MEMORY_PREAMBLE",
    "ChatCompletionRequest",
    "ChatMessage",
    "ChatProxy",
    "ChatProxyBankSettings",
    "ChatProxyMemorySettings",
    "ChatProxyRetainSettings",
    "ChatProxySettings",
    "ChatProxyStats",
    "ChatProxyUpstreamSettings",
    "ChatReply",
    "ChatStream",
    "ChatUpstream",
    "ChatUpstreamError",
    "ExchangeRetainer",
    "MemoryBlock",
    "MemoryMode",
    "ParsedChatRequest",
    "RetainFunction",
    "RetainStats",
    "StreamTranscript",
    "UpstreamReply",
    "UpstreamStream",
    "completion_text",
    "inject_memory_block",
    "memory_block",
    "parse_chat_request",
    "parse_memory_mode",
]

"""``anthropic``: chat through Anthropic's Messages API (``POST {base_url}/messages``).

Settings, each optional:

``model``                 ``claude-sonnet-4-5``.
``api_key``               else ``ANTHROPIC_API_KEY``; required for ``api.anthropic.com``. Sent as
                          ``x-api-key`` with ``anthropic-version: 2023-06-01``.
``base_url``              else ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com/v1``.
``max_context_tokens``    declared in :meth:`capabilities` (200 000 by default).
``timeout`` (60 s), ``max_retries`` (3), ``backoff_base`` (0.5 s), ``max_backoff`` (20 s).

System messages travel in the top-level ``system`` field (joined by blank lines); consecutive
messages of the same role are merged, since the API expects user and assistant turns to alternate.
The answer is the concatenated ``text`` blocks of ``content``; ``usage`` gives the token counts.
Anthropic has no embeddings endpoint: :meth:`AnthropicLLM.embed` raises
:class:`~astrocyte.errors.CapabilityNotSupportedError`. 529 (overloaded) is retried like any 5xx.
"""

from __future__ import annotations

import os
from typing import ClassVar
from urllib.parse import urlsplit

from astrocyte.errors import CapabilityNotSupportedError, ConfigError
from astrocyte.http import check_http_url
from astrocyte.llm._base import Endpoint, HTTPLLMBase, completion_from
from astrocyte.types import LLMCompletion, LLMMessage

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_BASE_URL", "AnthropicLLM"]

DEFAULT_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"
_MESSAGES = "messages"


class AnthropicLLM(HTTPLLMBase):
    """Anthropic Messages API over HTTP (entry point ``anthropic``). See the module doc."""

    SPI_VERSION: ClassVar[int] = 1

    default_model = "claude-sonnet-4-5"
    default_max_context_tokens = 200_000

    def _endpoint(self, api_key: str | None, base_url: str | None) -> Endpoint:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY") or None
        url = check_http_url(
            base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL,
            key_path="base_url",
            example=DEFAULT_BASE_URL,
        )
        if key is None and urlsplit(url).hostname == "api.anthropic.com":
            raise ConfigError(
                "an API key is required for api.anthropic.com",
                key_path="api_key",
                hint="set ANTHROPIC_API_KEY or api_key (e.g. api_key: ${ANTHROPIC_API_KEY})",
            )
        headers = {"Accept": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if key:
            headers["x-api-key"] = key
        return Endpoint(url, headers, key)

    async def _complete(
        self, messages: list[LLMMessage], model: str, max_tokens: int, temperature: float
    ) -> LLMCompletion:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        payload: dict[str, object] = {
            "model": model,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "messages": _alternating(messages),
        }
        if system:
            payload["system"] = system
        response = await self._http.post_json(_MESSAGES, payload, what="messages")
        body = self._http.json_object(response, _MESSAGES, "messages")
        content = body.get("content")
        if not isinstance(content, list):
            raise self._http.unusable(response, _MESSAGES, "messages", "no 'content' list")
        text = "".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
        return completion_from(body, text, str(payload["model"]), ("input_tokens", "output_tokens"))

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        raise CapabilityNotSupportedError(
            "the anthropic provider has no embeddings endpoint; configure an embedding_provider "
            "(hashing, sentence-transformers or openai) for vectors"
        )


def _alternating(messages: list[LLMMessage]) -> list[dict[str, str]]:
    """User/assistant turns with same-role neighbours merged; a leading assistant turn gets a user one."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += "\n\n" + message.content
        else:
            turns.append({"role": message.role, "content": message.content})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(continue)"})
    return turns

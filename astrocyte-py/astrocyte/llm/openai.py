"""``openai``: chat completions and embeddings from any OpenAI-compatible server.

OpenAI itself, vLLM, Ollama (``http://localhost:11434/v1``), llama.cpp server, LM Studio, LiteLLM.
Settings, each optional:

``model``                 chat model (``gpt-4o-mini``).
``embedding_model``       for :meth:`OpenAILLM.embed` (``text-embedding-3-small``).
``api_key``               else ``OPENAI_API_KEY``; required for ``api.openai.com`` only.
``base_url``              else ``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``.
``max_context_tokens``    declared in :meth:`capabilities` (unknown by default).
``timeout`` (60 s), ``max_retries`` (3), ``backoff_base`` (0.5 s), ``max_backoff`` (20 s).

Requests follow the documented formats: ``POST {base_url}/chat/completions`` with ``model``,
``messages`` ([{role, content}]), ``max_tokens`` and ``temperature``, answered by ``choices[0].message
.content`` and ``usage``; ``POST {base_url}/embeddings`` (see :mod:`astrocyte.embeddings.openai`).
"""

from __future__ import annotations

from typing import ClassVar

from astrocyte._openai_compat import openai_endpoint, openai_headers
from astrocyte.embeddings.openai import parse_embeddings
from astrocyte.errors import InvalidRequestError
from astrocyte.llm._base import Endpoint, HTTPLLMBase, completion_from
from astrocyte.types import LLMCompletion, LLMMessage

__all__ = ["OpenAILLM"]

_CHAT = "chat/completions"
_EMBEDDINGS = "embeddings"


class OpenAILLM(HTTPLLMBase):
    """OpenAI-compatible chat + embeddings over HTTP (entry point ``openai``). See the module doc."""

    SPI_VERSION: ClassVar[int] = 1

    default_model = "gpt-4o-mini"
    default_embedding_model = "text-embedding-3-small"

    def _endpoint(self, api_key: str | None, base_url: str | None) -> Endpoint:
        key, url = openai_endpoint(api_key, base_url)
        return Endpoint(url, openai_headers(key), key)

    async def _complete(
        self, messages: list[LLMMessage], model: str, max_tokens: int, temperature: float
    ) -> LLMCompletion:
        payload = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        response = await self._http.post_json(_CHAT, payload, what="chat completion")
        body = self._http.json_object(response, _CHAT, "chat completion")
        choices = body.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise self._http.unusable(response, _CHAT, "chat completion", "no choices[0].message.content")
        return completion_from(body, text, str(payload["model"]), ("prompt_tokens", "completion_tokens"))

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        """One vector per text from ``POST /embeddings`` (``embedding_model`` unless ``model``)."""
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"expected a string, got {type(text).__name__}", field=f"texts[{position}]"
                )
        if not texts:
            return []
        payload = {
            "model": model or self.embedding_model,
            "input": [text if text else " " for text in texts],  # "" is not a valid input
            "encoding_format": "float",
        }
        response = await self._http.post_json(_EMBEDDINGS, payload, what="embeddings")
        return parse_embeddings(self._http, response, len(texts), None)

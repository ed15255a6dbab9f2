"""LLM providers (the ``LLMProvider`` SPI, entry-point group ``astrocyte.llm_providers``).

=============  =============================  ===================================================
entry point    class                          speaks
=============  =============================  ===================================================
``openai``     :class:`OpenAILLM`             OpenAI chat completions + embeddings (OpenAI, vLLM,
                                              Ollama, llama.cpp server, LM Studio, LiteLLM...)
``anthropic``  :class:`AnthropicLLM`          Anthropic Messages API (chat only)
=============  =============================  ===================================================

Both run on httpx clients from :mod:`astrocyte.http` (proxies, CA bundle, outbound transport) with
timeouts, retries with backoff on 408/429/5xx honouring ``Retry-After``, and typed errors
(:class:`~astrocyte.http.ProviderAuthError`, :class:`~astrocyte.http.ProviderRateLimitError`,
:class:`~astrocyte.http.ProviderBadRequestError`, :class:`~astrocyte.http.ProviderUnavailableError`).
:func:`check_llm_request` validates ``complete`` arguments the same way for any provider.
"""

from __future__ import annotations

from astrocyte.llm._base import check_llm_request
from astrocyte.llm.anthropic import AnthropicLLM
from astrocyte.llm.openai import OpenAILLM

__all__ = ["AnthropicLLM", "OpenAILLM", "check_llm_request"]

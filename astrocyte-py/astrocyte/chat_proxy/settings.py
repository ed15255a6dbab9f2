"""The ``chat_proxy`` section of ``astrocyte.yaml``.

::

    chat_proxy:
      enabled: true
      upstream:                         # default: llm_provider_config (openai), else OPENAI_BASE_URL
        base_url: http://localhost:11434/v1
        api_key: ${UPSTREAM_API_KEY}
        timeout: 120
        default_model: llama3.1         # used when a request names no model
      memory:
        max_results: 8                  # memories recalled per request
        max_tokens: 800                 # token budget of the injected memory block
      retain:
        queue_size: 1000                # exchanges waiting to be retained (bounded)
        max_attempts: 5
        backoff_base: 0.5
        max_backoff: 30
        dead_letter_path: ./chat-proxy-dead-letters.jsonl   # `astrocyte import` replays it
        drain_timeout: 10
      banks:                            # bank glob -> switches (first match wins)
        "scratch-*": { enabled: false }
        "shared-*": { retain: false }
"""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from astrocyte._section import Section

__all__ = [
    "ChatProxyBankSettings",
    "ChatProxyMemorySettings",
    "ChatProxyRetainSettings",
    "ChatProxySettings",
    "ChatProxyUpstreamSettings",
]


class ChatProxyUpstreamSettings(Section):
    """Where chat completions are forwarded (an OpenAI-compatible ``/chat/completions`` server)."""

    base_url: str | None = Field(
        default=None,
        min_length=1,
        description="Base URL of the upstream API (…/v1). Default: llm_provider_config.base_url when "
        "llm_provider is openai, else OPENAI_BASE_URL, else https://api.openai.com/v1.",
    )
    api_key: str | None = Field(
        default=None,
        min_length=1,
        description="Bearer key sent upstream. Default: llm_provider_config.api_key, else OPENAI_API_KEY.",
    )
    timeout: float = Field(default=120.0, gt=0, description="Seconds to wait for the upstream (per read).")
    default_model: str | None = Field(
        default=None, min_length=1, description="Model used when a request names none."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers sent upstream (e.g. OpenAI-Organization)."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://localhost:11434/v1")
        return value.rstrip("/")


class ChatProxyMemorySettings(Section):
    """How much memory is recalled and injected into each request."""

    max_results: int = Field(default=8, ge=1, le=200, description="Memories recalled per request.")
    max_tokens: int = Field(
        default=800, ge=16, description="Token budget of the injected memory block (header included)."
    )


class ChatProxyRetainSettings(Section):
    """Background retain of each exchange: bounded, retried with backoff, never dropped silently."""

    queue_size: int = Field(default=1000, ge=1, description="Exchanges waiting to be retained, at most.")
    max_attempts: int = Field(
        default=5, ge=1, description="Attempts per exchange before it is dead-lettered."
    )
    backoff_base: float = Field(default=0.5, ge=0, description="Seconds before the first retry (doubles).")
    max_backoff: float = Field(default=30.0, ge=0, description="Upper bound of one retry delay, in seconds.")
    drain_timeout: float = Field(
        default=10.0,
        ge=0,
        description="Seconds shutdown waits for queued exchanges before dead-lettering them.",
    )
    dead_letter_path: str | None = Field(
        default=None,
        min_length=1,
        description="JSON-lines file receiving exchanges that could not be retained (replay with "
        "`astrocyte import FILE`); without it they are logged at ERROR level with their bank.",
    )


class ChatProxyBankSettings(Section):
    """Switches for the banks matching one glob."""

    enabled: bool = Field(default=True, description="Recall and inject memories for this bank.")
    retain: bool = Field(default=True, description="Retain the exchanges of this bank.")


class ChatProxySettings(Section):
    """The memory-augmented chat proxy (``POST /v1/chat/completions`` in the gateway)."""

    enabled: bool = Field(default=True, description="Serve the chat proxy at all.")
    upstream: ChatProxyUpstreamSettings = Field(default_factory=ChatProxyUpstreamSettings)
    memory: ChatProxyMemorySettings = Field(default_factory=ChatProxyMemorySettings)
    retain: ChatProxyRetainSettings = Field(default_factory=ChatProxyRetainSettings)
    banks: dict[str, ChatProxyBankSettings] = Field(
        default_factory=dict, description="Bank glob → switches; the first matching glob wins."
    )

    def bank_switches(self, bank_id: str) -> ChatProxyBankSettings:
        """The switches of ``bank_id`` (the first matching glob's, else everything on)."""
        for pattern, switches in self.banks.items():
            if fnmatch.fnmatchcase(bank_id, pattern):
                return switches
        return ChatProxyBankSettings()

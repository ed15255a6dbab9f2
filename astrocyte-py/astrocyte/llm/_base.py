"""What both HTTP LLM providers share: settings validation, the HTTP helper, request checks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from astrocyte._provider_http import ProviderHTTP, RetryPolicy, check_positive_int
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.types import LLMCapabilities, LLMMessage

if TYPE_CHECKING:
    from astrocyte.provider import OutboundTransportProvider

__all__ = ["HTTPLLMBase", "check_llm_request", "token_count"]


def check_llm_request(
    messages: Sequence[LLMMessage | Mapping[str, object]], max_tokens: int, temperature: float
) -> list[LLMMessage]:
    """Validated messages (dicts are accepted) or :class:`InvalidRequestError` naming the field."""
    if not messages:
        raise InvalidRequestError("at least one message is required", field="messages")
    checked: list[LLMMessage] = []
    for position, message in enumerate(messages):
        try:
            checked.append(message if isinstance(message, LLMMessage) else LLMMessage.model_validate(message))
        except ValidationError as exc:
            detail = exc.errors()[0]
            where = ".".join(str(part) for part in detail["loc"])
            raise InvalidRequestError(detail["msg"], field=f"messages[{position}].{where}") from None
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequestError(f"must be a positive integer, got {max_tokens!r}", field="max_tokens")
    if (
        not isinstance(temperature, int | float)
        or not math.isfinite(temperature)
        or not 0 <= temperature <= 2
    ):
        raise InvalidRequestError(f"must be between 0 and 2, got {temperature!r}", field="temperature")
    return checked


def token_count(value: object) -> int | None:
    """A usage count from a provider answer, or ``None`` when absent or nonsense."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class HTTPLLMBase:
    """Holds the model, the :class:`ProviderHTTP` and the declared capabilities; closes the client."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        headers: Mapping[str, str],
        secret: str | None,
        timeout: float,
        max_retries: int,
        backoff_base: float,
        max_backoff: float,
        max_context_tokens: int | None,
        embeddings: bool,
        transport: OutboundTransportProvider | None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("must name a model", key_path="model")
        if max_context_tokens is not None:
            check_positive_int("max_context_tokens", max_context_tokens)
        self.model = model
        self.base_url = base_url
        self._http = ProviderHTTP(
            base_url=base_url,
            headers=headers,
            retry=RetryPolicy(max_retries, backoff_base, max_backoff, timeout),
            secrets=[secret],
            purpose="llm",
            transport=transport,
        )
        self._capabilities = LLMCapabilities(
            chat=True, embeddings=embeddings, max_context_tokens=max_context_tokens
        )

    def __repr__(self) -> str:  # never the API key
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def capabilities(self) -> LLMCapabilities:
        return self._capabilities

    async def close(self) -> None:
        """Close the HTTP client (a later call opens a new one)."""
        await self._http.close()

    async def __aenter__(self) -> HTTPLLMBase:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

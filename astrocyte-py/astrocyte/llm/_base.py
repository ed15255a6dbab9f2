"""What both HTTP LLM providers share: settings validation, the HTTP helper, request checks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import ValidationError

from astrocyte._provider_http import ProviderHTTP, RetryPolicy, check_positive_int
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.types import LLMCapabilities, LLMCompletion, LLMMessage

if TYPE_CHECKING:
    from astrocyte.provider import OutboundTransportProvider

__all__ = ["Endpoint", "HTTPLLMBase", "check_llm_request", "completion_from"]


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


def _token_count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def completion_from(
    body: Mapping[str, object], text: str, model: str, usage_keys: tuple[str, str]
) -> LLMCompletion:
    """The completion for ``text`` with the answer's model and its ``usage`` counts (input, output keys)."""
    usage = body.get("usage")
    counts = usage if isinstance(usage, dict) else {}
    return LLMCompletion(
        text=text,
        model=str(body.get("model") or model),
        input_tokens=_token_count(counts.get(usage_keys[0])),
        output_tokens=_token_count(counts.get(usage_keys[1])),
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a provider's API is and how to authenticate (``secret`` is masked everywhere)."""

    base_url: str
    headers: dict[str, str]
    secret: str | None


class HTTPLLMBase:
    """One constructor for every HTTP LLM provider; a subclass says where its API is (:meth:`_endpoint`).

    Settings: ``model``, ``embedding_model`` (providers with embeddings only), ``api_key``,
    ``base_url``, ``max_context_tokens``, ``timeout`` (60 s), ``max_retries`` (3), ``backoff_base``
    (0.5 s), ``max_backoff`` (20 s) and ``transport`` (the configured outbound transport).
    """

    default_model: ClassVar[str]
    default_embedding_model: ClassVar[str | None] = None
    default_max_context_tokens: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        model: str | None = None,
        embedding_model: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_context_tokens: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        max_backoff: float = 20.0,
        transport: OutboundTransportProvider | None = None,
    ) -> None:
        model = self.default_model if model is None else model
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("must name a model", key_path="model")
        if embedding_model is not None and self.default_embedding_model is None:
            raise ConfigError(f"{type(self).__name__} has no embeddings endpoint", key_path="embedding_model")
        limit = self.default_max_context_tokens if max_context_tokens is None else max_context_tokens
        if limit is not None:
            check_positive_int("max_context_tokens", limit)
        endpoint = self._endpoint(api_key, base_url)
        self.model = model
        self.embedding_model = embedding_model or self.default_embedding_model
        self.base_url = endpoint.base_url
        self._http = ProviderHTTP(
            base_url=endpoint.base_url,
            headers=endpoint.headers,
            retry=RetryPolicy(max_retries, backoff_base, max_backoff, timeout),
            secrets=[endpoint.secret],
            purpose="llm",
            transport=transport,
        )
        self._capabilities = LLMCapabilities(
            chat=True, embeddings=self.default_embedding_model is not None, max_context_tokens=limit
        )

    def _endpoint(self, api_key: str | None, base_url: str | None) -> Endpoint:
        """The API location and auth headers from the settings (or the provider's environment variables)."""
        raise NotImplementedError

    async def complete(
        self,
        messages: Sequence[LLMMessage | Mapping[str, object]],
        model: str | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> LLMCompletion:
        """Validate the request (:func:`check_llm_request`), then ask the provider's API."""
        checked = check_llm_request(messages, max_tokens, temperature)
        return await self._complete(checked, model or self.model, max_tokens, float(temperature))

    async def _complete(
        self, messages: list[LLMMessage], model: str, max_tokens: int, temperature: float
    ) -> LLMCompletion:
        raise NotImplementedError

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

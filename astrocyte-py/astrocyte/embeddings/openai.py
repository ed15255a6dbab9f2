"""``openai``: embeddings from any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

Works with OpenAI itself and with servers speaking the same format (vLLM, Ollama, llama.cpp,
LM Studio, LiteLLM, Azure-style gateways behind a base URL). Settings, each optional:

``model``       ``text-embedding-3-small`` by default.
``api_key``     else ``OPENAI_API_KEY``; required for ``api.openai.com``, optional elsewhere (no
                ``Authorization`` header is sent without one).
``base_url``    else ``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``.
``dimensions``  known for OpenAI's models (``text-embedding-3-small``: 1536, ``-3-large``: 3072,
                ``ada-002``: 1536), required for any other model. For ``text-embedding-3-*`` an
                explicit value is also sent to the API, which then shortens the vectors
                (``send_dimensions`` overrides that choice).
``batch_size``  texts per request (256).
``timeout``, ``max_retries`` (3), ``backoff_base`` (0.5 s), ``max_backoff`` (20 s).

Requests are retried on connection errors, timeouts, 408, 429 and 5xx with exponential backoff and
jitter; a ``Retry-After`` header (seconds or HTTP date) is honoured, capped at ``max_backoff``.
Any other failure, or an answer that is not one finite vector of ``dimensions`` floats per input,
raises :class:`~astrocyte.http.ProviderHTTPError` (a ``ProviderError``) with the status and a short
excerpt of the body — never the API key. The HTTP client comes from
:func:`astrocyte.http.build_async_client` (proxies, CA bundle) and is created on first use;
``await embedder.close()`` releases it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import math
import os
import random
import time
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
import numpy as np

from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.http import ProviderHTTPError, build_async_client, redact_secrets

__all__ = ["DEFAULT_BASE_URL", "OpenAIEmbedder"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_KNOWN_DIMENSIONS = MappingProxyType(
    {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
)
_EXCERPT_CHARS = 300


class OpenAIEmbedder:
    """OpenAI-compatible embeddings over HTTP (entry point ``openai``). See the module doc."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(
        self,
        *,
        model: str = "text-embedding-3-small",
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        max_backoff: float = 20.0,
        send_dimensions: bool | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("must name an embedding model", key_path="model")
        self._model = model
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        self._base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(self._base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"must be an http(s) URL, got {self._base_url!r}",
                key_path="base_url",
                hint="e.g. https://api.openai.com/v1 or http://localhost:11434/v1",
            )
        if self._api_key is None and parts.hostname == "api.openai.com":
            raise ConfigError(
                "an API key is required for api.openai.com",
                key_path="api_key",
                hint="set OPENAI_API_KEY or api_key (e.g. api_key: ${OPENAI_API_KEY})",
            )
        self._dimensions = _resolve_dimensions(model, dimensions)
        self._send_dimensions = (
            send_dimensions
            if send_dimensions is not None
            else dimensions is not None and model.startswith("text-embedding-3")
        )
        _check_positive_int("batch_size", batch_size)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"must be an integer >= 0, got {max_retries!r}", key_path="max_retries")
        for key, number in (
            ("timeout", timeout),
            ("backoff_base", backoff_base),
            ("max_backoff", max_backoff),
        ):
            if not isinstance(number, int | float) or not math.isfinite(number) or number < 0:
                raise ConfigError(f"must be a finite number >= 0, got {number!r}", key_path=key)
        if timeout <= 0:
            raise ConfigError(f"must be positive, got {timeout!r}", key_path="timeout")
        self._batch_size = batch_size
        self._timeout = float(timeout)
        self._max_retries = max_retries
        self._backoff_base = float(backoff_base)
        self._max_backoff = float(max_backoff)
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return (
            f"OpenAIEmbedder(model={self._model!r}, base_url={self._base_url!r},"
            f" dimensions={self._dimensions})"
        )

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def endpoint(self) -> str:
        return f"{self._base_url}/embeddings"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order. Empty list → ``[]`` (no request)."""
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"expected a string, got {type(text).__name__}", field=f"texts[{position}]"
                )
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._embed_batch(texts[start : start + self._batch_size]))
        return vectors

    async def close(self) -> None:
        """Close the HTTP client (a later ``embed`` opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> OpenAIEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ internals

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._client = build_async_client(base_url=self._base_url, timeout=self._timeout, headers=headers)
        return self._client

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        # OpenAI rejects "" as an input; a lone space embeds the same "nothing" and keeps positions.
        payload: dict[str, object] = {
            "model": self._model,
            "input": [text if text else " " for text in texts],
            "encoding_format": "float",
        }
        if self._send_dimensions:
            payload["dimensions"] = self._dimensions
        response = await self._post(payload)
        return self._parse(response, len(texts))

    async def _post(self, payload: dict[str, object]) -> httpx.Response:
        client = self._http()
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = await client.post("embeddings", json=payload)
            except httpx.TransportError as exc:
                if attempt >= self._max_retries:
                    detail = redact_secrets(
                        f"{type(exc).__name__}: {exc}", self._api_key, limit=_EXCERPT_CHARS
                    )
                    raise ProviderHTTPError(
                        f"embeddings request to {self.endpoint} failed"
                        f" after {attempt + 1} attempt(s): {detail}"
                    ) from exc
            else:
                status = response.status_code
                if status < 400:
                    return response
                if not _retryable(status) or attempt >= self._max_retries:
                    raise self._status_error(response, attempt + 1)
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            await asyncio.sleep(self._delay(attempt, retry_after))
            attempt += 1

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_backoff)
        backoff = self._backoff_base * (2.0**attempt)
        return min(self._max_backoff, backoff * random.uniform(0.5, 1.0))  # jitter

    def _status_error(self, response: httpx.Response, attempts: int) -> ProviderHTTPError:
        excerpt = redact_secrets(_error_text(response), self._api_key, limit=_EXCERPT_CHARS)
        return ProviderHTTPError(
            f"embeddings request to {self.endpoint} failed with HTTP {response.status_code}"
            f" after {attempts} attempt(s): {excerpt}",
            status_code=response.status_code,
        )

    def _parse(self, response: httpx.Response, count: int) -> list[list[float]]:
        def bad(reason: str) -> ProviderHTTPError:
            excerpt = redact_secrets(response.text, self._api_key, limit=_EXCERPT_CHARS)
            return ProviderHTTPError(
                f"unusable embeddings response from {self.endpoint}: {reason}; body: {excerpt}",
                status_code=response.status_code,
            )

        try:
            body = response.json()
        except ValueError:
            raise bad("not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != count:
            got = len(data) if isinstance(data, list) else "no"
            raise bad(f"expected 'data' with {count} embeddings, got {got}")
        ordered: list[object] = [None] * count
        for item in data:
            index = item.get("index") if isinstance(item, dict) else None
            if not isinstance(index, int) or not 0 <= index < count or ordered[index] is not None:
                raise bad(f"missing, duplicate or out-of-range 'index' {index!r}")
            ordered[index] = _decode(item.get("embedding"))
        try:
            matrix = np.asarray(ordered, dtype=np.float64)
        except (TypeError, ValueError):
            raise bad("embeddings are not equal-length lists of numbers") from None
        if matrix.ndim != 2 or matrix.shape[1] != self._dimensions:
            width = matrix.shape[1] if matrix.ndim == 2 else "?"
            raise bad(f"dimension mismatch: expected {self._dimensions} floats per vector, got {width}")
        if not np.isfinite(matrix).all():
            raise bad("embeddings contain NaN or infinite values")
        vectors: list[list[float]] = matrix.tolist()
        return vectors


def _resolve_dimensions(model: str, dimensions: int | None) -> int:
    if dimensions is None:
        known = _KNOWN_DIMENSIONS.get(model)
        if known is None:
            raise ConfigError(
                f"the output size of model {model!r} is not known",
                key_path="dimensions",
                hint="set dimensions to the model's embedding size (e.g. 768 for nomic-embed-text)",
            )
        return known
    _check_positive_int("dimensions", dimensions)
    return dimensions


def _check_positive_int(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"must be a positive integer, got {value!r}", key_path=key)


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent/bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _error_text(response: httpx.Response) -> str:
    """The provider's own error message when the body is OpenAI-shaped, else the raw body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return response.text.strip()


def _decode(embedding: object) -> object:
    """A float list as sent, or one decoded from ``encoding_format=base64`` (little-endian float32)."""
    if isinstance(embedding, str):
        try:
            raw = base64.b64decode(embedding, validate=True)
        except (binascii.Error, ValueError):
            return embedding
        if len(raw) % 4:
            return embedding
        decoded: list[float] = np.frombuffer(raw, dtype="<f4").astype(np.float64).tolist()
        return decoded
    return embedding

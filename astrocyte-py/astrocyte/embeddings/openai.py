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

``transport``   an outbound transport (the facade passes the configured ``outbound_transport``).

Requests go through :class:`astrocyte._provider_http.ProviderHTTP`: retried on connection errors,
timeouts, 408, 429 and 5xx with exponential backoff and jitter, honouring ``Retry-After`` (capped at
``max_backoff``). Any other failure, or an answer that is not one finite vector of ``dimensions``
floats per input, raises a typed :class:`~astrocyte.http.ProviderHTTPError` (a ``ProviderError``)
with the status and a short excerpt of the body — never the API key. The HTTP client is built by
:mod:`astrocyte.http` (proxies, CA bundle, transport) on first use; ``await embedder.close()``
releases it.
"""

from __future__ import annotations

import base64
import binascii
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

import httpx
import numpy as np

from astrocyte._openai_compat import DEFAULT_BASE_URL, openai_endpoint, openai_headers
from astrocyte._provider_http import ProviderHTTP, RetryPolicy, check_positive_int
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.http import ProviderHTTPError

if TYPE_CHECKING:
    from astrocyte.provider import OutboundTransportProvider

__all__ = ["DEFAULT_BASE_URL", "OpenAIEmbedder", "parse_embeddings"]

_KNOWN_DIMENSIONS = MappingProxyType(
    {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
)
_PATH = "embeddings"


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
        transport: OutboundTransportProvider | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("must name an embedding model", key_path="model")
        self._model = model
        self._api_key, self._base_url = openai_endpoint(api_key, base_url)
        self._dimensions = _resolve_dimensions(model, dimensions)
        self._send_dimensions = (
            send_dimensions
            if send_dimensions is not None
            else dimensions is not None and model.startswith("text-embedding-3")
        )
        check_positive_int("batch_size", batch_size)
        self._batch_size = batch_size
        self._http = ProviderHTTP(
            base_url=self._base_url,
            headers=openai_headers(self._api_key),
            retry=RetryPolicy(max_retries, backoff_base, max_backoff, timeout),
            secrets=[self._api_key],
            purpose="embeddings",
            transport=transport,
        )

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
        return f"{self._base_url}/{_PATH}"

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
        await self._http.close()

    async def __aenter__(self) -> OpenAIEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ internals

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        # OpenAI rejects "" as an input; a lone space embeds the same "nothing" and keeps positions.
        payload: dict[str, object] = {
            "model": self._model,
            "input": [text if text else " " for text in texts],
            "encoding_format": "float",
        }
        if self._send_dimensions:
            payload["dimensions"] = self._dimensions
        response = await self._http.post_json(_PATH, payload, what="embeddings")
        return parse_embeddings(self._http, response, len(texts), self._dimensions)


def parse_embeddings(
    http: ProviderHTTP, response: httpx.Response, count: int, dimensions: int | None
) -> list[list[float]]:
    """The ``count`` vectors of an OpenAI embeddings answer, ordered by ``index`` and checked.

    With ``dimensions``, every vector must have that many floats; without, they must agree.
    """

    def bad(reason: str) -> ProviderHTTPError:
        return http.unusable(response, _PATH, "embeddings", reason)

    body = http.json_object(response, _PATH, "embeddings")
    data = body.get("data")
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
    if matrix.ndim != 2 or (dimensions is not None and matrix.shape[1] != dimensions):
        width = matrix.shape[1] if matrix.ndim == 2 else "?"
        raise bad(f"dimension mismatch: expected {dimensions} floats per vector, got {width}")
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
    check_positive_int("dimensions", dimensions)
    return dimensions


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

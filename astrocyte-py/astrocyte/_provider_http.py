"""Shared HTTP plumbing of remote model providers (OpenAI-compatible, Anthropic...).

:class:`ProviderHTTP` owns one lazily created client (from :mod:`astrocyte.http`, so proxies, CA
bundles and the outbound transport apply) and POSTs JSON with retries: connection errors, timeouts,
408, 429 and 5xx are retried with exponential backoff and jitter; a ``Retry-After`` header (seconds
or HTTP date) is honoured, capped at ``max_backoff``. Everything else raises the typed
:class:`~astrocyte.http.ProviderHTTPError` subclass for the status, with a short excerpt of the
provider's own message and every secret masked.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from astrocyte.errors import ConfigError
from astrocyte.http import (
    ProviderHTTPError,
    client_for,
    outbound_context,
    provider_error_class,
    redact_secrets,
)

if TYPE_CHECKING:
    from astrocyte.provider import OutboundTransportProvider

__all__ = ["ProviderHTTP", "RetryPolicy", "check_positive_int"]

_EXCERPT_CHARS = 300


def check_positive_int(key: str, value: object) -> None:
    """:class:`ConfigError` naming ``key`` unless ``value`` is an ``int`` >= 1 (``bool`` is not)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"must be a positive integer, got {value!r}", key_path=key)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry a failed request (validated: names the bad key)."""

    max_retries: int = 3
    backoff_base: float = 0.5
    max_backoff: float = 20.0
    timeout: float = 30.0

    def __post_init__(self) -> None:
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"must be an integer >= 0, got {retries!r}", key_path="max_retries")
        for key in ("timeout", "backoff_base", "max_backoff"):
            number = getattr(self, key)
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ConfigError(f"must be a finite number >= 0, got {number!r}", key_path=key)
            if number < 0:
                raise ConfigError(f"must be a finite number >= 0, got {number!r}", key_path=key)
        if self.timeout <= 0:
            raise ConfigError(f"must be positive, got {self.timeout!r}", key_path="timeout")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        backoff = self.backoff_base * (2.0**attempt)
        return min(self.max_backoff, backoff * random.uniform(0.5, 1.0))  # jitter


class ProviderHTTP:
    """JSON POSTs with retries to one provider endpoint. ``await close()`` releases the client."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        retry: RetryPolicy,
        secrets: Sequence[str | None] = (),
        purpose: str = "provider",
        transport: OutboundTransportProvider | None = None,
    ) -> None:
        self.base_url = base_url
        self._headers = dict(headers)
        self._retry = retry
        self._secrets = [s for s in secrets if s]
        self._purpose = purpose
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def redact(self, text: str, *, limit: int | None = _EXCERPT_CHARS) -> str:
        return redact_secrets(text, *self._secrets, limit=limit)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            context = outbound_context(
                purpose=self._purpose,
                base_url=self.base_url,
                timeout=self._retry.timeout,
                headers=self._headers,
                secrets=self._secrets,
                transport=self._transport,
            )
            self._secrets = list(context.secrets)  # the transport may add its own (proxy password...)
            self._client = client_for(context)
        return self._client

    async def close(self) -> None:
        """Close the client (a later request opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def post_json(self, path: str, payload: Mapping[str, object], *, what: str) -> httpx.Response:
        """POST ``payload`` to ``path`` (relative to ``base_url``); a < 400 response, or a typed error."""
        client = self._http()
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = await client.post(path, json=payload)
            except httpx.TransportError as exc:
                if attempt >= self._retry.max_retries:
                    detail = self.redact(f"{type(exc).__name__}: {exc}")
                    raise provider_error_class(None)(
                        f"{what} request to {self.endpoint(path)} failed"
                        f" after {attempt + 1} attempt(s): {detail}"
                    ) from exc
            else:
                status = response.status_code
                if status < 400:
                    return response
                if not _retryable(status) or attempt >= self._retry.max_retries:
                    raise self._status_error(response, attempt + 1, path, what)
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            await asyncio.sleep(self._retry.delay(attempt, retry_after))
            attempt += 1

    def endpoint(self, path: str) -> str:
        return self.redact(f"{self.base_url}/{path}", limit=None)

    def _status_error(
        self, response: httpx.Response, attempts: int, path: str, what: str
    ) -> ProviderHTTPError:
        excerpt = self.redact(_error_text(response))
        return provider_error_class(response.status_code)(
            f"{what} request to {self.endpoint(path)} failed with HTTP {response.status_code}"
            f" after {attempts} attempt(s): {excerpt}",
            status_code=response.status_code,
        )

    def unusable(self, response: httpx.Response, path: str, what: str, reason: str) -> ProviderHTTPError:
        """The error for a 2xx answer whose body is not what the API documents."""
        return ProviderHTTPError(
            f"unusable {what} response from {self.endpoint(path)}: {reason}; body: {self.redact(response.text)}",
            status_code=response.status_code,
        )

    def json_object(self, response: httpx.Response, path: str, what: str) -> dict[str, object]:
        """The response body as a JSON object, or :meth:`unusable`."""
        try:
            body = response.json()
        except ValueError:
            raise self.unusable(response, path, what, "not JSON") from None
        if not isinstance(body, dict):
            raise self.unusable(response, path, what, "not a JSON object")
        return body


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
    """The provider's own message when the body is OpenAI/Anthropic-shaped (``{"error": {"message"}}``)."""
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

"""Forwarding to the upstream OpenAI-compatible ``/chat/completions`` (plain JSON and SSE streams).

The client comes from :mod:`astrocyte.http`, so proxies, CA bundles and the configured outbound
transport apply. Requests are not retried here: a chat completion is expensive and the caller's SDK
already retries, so a failure is reported at once as :class:`ChatUpstreamError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from pydantic import JsonValue

from astrocyte._openai_compat import openai_endpoint, openai_headers
from astrocyte.http import ProviderHTTPError, client_for, outbound_context, redact_secrets
from astrocyte.transports import load_outbound_transport

if TYPE_CHECKING:  # astrocyte.config imports this package's settings
    from astrocyte.config import AstrocyteConfig
    from astrocyte.provider import OutboundTransportProvider

__all__ = ["ChatUpstream", "ChatUpstreamError", "UpstreamReply", "UpstreamStream"]

_PATH = "chat/completions"
_EXCERPT_CHARS = 300
# Statuses caused by the request itself (or a limit the caller should back off from): the proxy
# answers with the same status. Everything else is the upstream's failure: 502.
_CALLER_STATUSES = frozenset({400, 404, 413, 422, 429})
# Hop-by-hop and length/encoding headers describe the upstream connection, not the answer.
_DROPPED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "date",
        "server",
    }
)


class ChatUpstreamError(ProviderHTTPError):
    """The upstream chat server failed, refused, or could not be reached.

    ``status_code`` is the upstream's HTTP status (``None``: no answer). :attr:`http_status` is
    what the proxy answers: the same status for 400/404/413/422/429, else 502 Bad Gateway.
    """

    code = "upstream_failed"

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: str | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code)

    @property
    def http_status(self) -> int:
        return self.status_code if self.status_code in _CALLER_STATUSES else 502


@dataclass(frozen=True, slots=True)
class UpstreamReply:
    """A complete (non-streamed) upstream answer, exactly as received."""

    status: int
    headers: dict[str, str]
    content: bytes


class UpstreamStream:
    """An open SSE answer: iterate :meth:`chunks` once, then (or on abort) ``await aclose()``."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = _passed_headers(response.headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body bytes as they arrive; a broken upstream connection raises :class:`ChatUpstreamError`."""
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise ChatUpstreamError(f"upstream stream broke off: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class ChatUpstream:
    """One upstream chat endpoint and its HTTP client. ``await aclose()`` releases the client."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        headers: Mapping[str, str] | None = None,
        transport: OutboundTransportProvider | None = None,
    ) -> None:
        self._api_key = api_key
        # Streams keep the upstream's content type; everything else follows the JSON API.
        merged = {
            **openai_headers(api_key),
            "Accept": "application/json, text/event-stream",
            **(headers or {}),
        }
        context = outbound_context(
            purpose="chat_proxy",
            base_url=base_url,
            timeout=timeout,
            headers=merged,
            secrets=[api_key],
            transport=transport,
        )
        self._secrets = list(context.secrets)
        self.base_url = base_url
        self._client = client_for(context)

    @classmethod
    def from_config(cls, config: AstrocyteConfig) -> ChatUpstream:
        """``chat_proxy.upstream``, falling back to the ``openai`` llm_provider's settings, then the env."""
        upstream = config.chat_proxy.upstream
        provider = config.llm_provider_config if config.llm_provider == "openai" else {}
        base_url = upstream.base_url or _string(provider.get("base_url")) or os.environ.get("OPENAI_BASE_URL")
        key = upstream.api_key or _string(provider.get("api_key"))
        key, url = openai_endpoint(key, base_url)
        return cls(
            url,
            api_key=key,
            timeout=upstream.timeout,
            headers=upstream.headers,
            transport=load_outbound_transport(config.outbound_transport),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, body: Mapping[str, JsonValue]) -> UpstreamReply:
        """POST a non-streaming request; the answer as received, or :class:`ChatUpstreamError`."""
        response = await self._send(body)
        try:
            content = await response.aread()
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        finally:
            await response.aclose()
        if response.status_code >= 400:
            raise self._refused(response, content)
        return UpstreamReply(response.status_code, _passed_headers(response.headers), content)

    async def open_stream(self, body: Mapping[str, JsonValue]) -> UpstreamStream:
        """POST a streaming request; the open stream once the upstream answered 2xx."""
        response = await self._send(body)
        if response.status_code >= 400:
            try:
                content = await response.aread()
            except httpx.HTTPError:
                content = b""
            finally:
                await response.aclose()
            raise self._refused(response, content)
        return UpstreamStream(response)

    async def _send(self, body: Mapping[str, JsonValue]) -> httpx.Response:
        request = self._client.build_request("POST", _PATH, json=dict(body))
        try:
            return await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _endpoint(self) -> str:
        return redact_secrets(f"{self.base_url}/{_PATH}", *self._secrets)

    def _unreachable(self, exc: httpx.HTTPError) -> ChatUpstreamError:
        detail = redact_secrets(f"{type(exc).__name__}: {exc}", *self._secrets, limit=_EXCERPT_CHARS)
        return ChatUpstreamError(f"upstream {self._endpoint()} could not be reached: {detail}")

    def _refused(self, response: httpx.Response, content: bytes) -> ChatUpstreamError:
        excerpt = redact_secrets(_error_message(content), *self._secrets, limit=_EXCERPT_CHARS)
        return ChatUpstreamError(
            f"upstream {self._endpoint()} answered HTTP {response.status_code}: {excerpt}",
            status_code=response.status_code,
            retry_after=response.headers.get("Retry-After"),
        )


def _passed_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in _DROPPED_HEADERS}


def _string(value: JsonValue | None) -> str | None:
    return value if isinstance(value, str) and value else None


def _error_message(content: bytes) -> str:
    """The upstream's own ``error.message`` when the body is OpenAI-shaped, else the raw text."""
    try:
        data = json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace").strip() or "(empty body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return content.decode("utf-8", "replace").strip()

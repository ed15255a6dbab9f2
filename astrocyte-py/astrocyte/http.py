"""The one place Astrocyte builds outbound HTTP clients.

Every provider that calls a remote service (embeddings, LLMs, proxy recall, poll sources...) gets its
client from :func:`build_async_client`, so network policy is decided here once:

* ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (either case) are honoured
  (httpx ``trust_env=True``);
* ``SSL_CERT_FILE`` (a PEM bundle) or ``SSL_CERT_DIR`` (a hashed certificate directory) replace the
  default CA store, for corporate TLS-inspecting proxies and private CAs;
* every request carries a ``User-Agent: astrocyte/<version>`` header;
* an :class:`~astrocyte.provider.OutboundTransportProvider` (config ``outbound_transport``) may then
  rewrite the :class:`OutboundContext` — an explicit proxy, a CA bundle, injected headers — and name
  the secrets it added, which are masked like API keys.

Requests are logged (logger ``astrocyte.http``, DEBUG) as method, URL and status only — never
headers or bodies, and URLs pass through :func:`redact_secrets` first.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from astrocyte.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from astrocyte.provider import OutboundTransportProvider

__all__ = [
    "OutboundContext",
    "OutboundTransportCapabilities",
    "ProviderAuthError",
    "ProviderBadRequestError",
    "ProviderHTTPError",
    "ProviderRateLimitError",
    "ProviderUnavailableError",
    "build_async_client",
    "check_http_url",
    "client_for",
    "outbound_context",
    "provider_error_class",
    "redact_secrets",
    "ssl_context_from_env",
]

_LOG = logging.getLogger("astrocyte.http")
_REDACTED = "***"
# "Bearer <token>", OpenAI-style keys ("sk-...", "sk-proj-...", "sk-ant-...") and passwords in URLs,
# even when the exact secret is unknown.
_TOKEN_PATTERNS = re.compile(
    r"(?i)(bearer\s+|basic\s+)[^\s\"',;]+|\bsk-[A-Za-z0-9_\-]{6,}|(://[^/:@\s]+:)[^/@\s]+(?=@)"
)


class ProviderHTTPError(ProviderError):
    """A remote provider answered with an unusable HTTP status (or could not be reached).

    ``status_code`` is the HTTP status, or ``None`` when no response arrived (connection refused,
    timeout). The message never contains credentials (see :func:`redact_secrets`).
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class ProviderAuthError(ProviderHTTPError):
    """401/403: the credentials were refused (wrong or missing API key, no access to the model)."""

    code = "provider_auth_failed"


class ProviderRateLimitError(ProviderHTTPError):
    """429 after every retry: the provider kept rate-limiting us."""

    code = "provider_rate_limited"


class ProviderBadRequestError(ProviderHTTPError):
    """400/404/413/422: the provider rejected the request itself (unknown model, input too long...)."""

    code = "provider_bad_request"


class ProviderUnavailableError(ProviderHTTPError):
    """5xx, timeouts and connection failures after every retry."""

    code = "provider_unavailable"


def provider_error_class(status: int | None) -> type[ProviderHTTPError]:
    """The typed error for an HTTP status (``None``: no response at all)."""
    if status is None or status >= 500 or status == 408:
        return ProviderUnavailableError
    if status in (401, 403):
        return ProviderAuthError
    if status == 429:
        return ProviderRateLimitError
    if 400 <= status < 500:
        return ProviderBadRequestError
    return ProviderHTTPError


def redact_secrets(text: str, *secrets: str | None, limit: int | None = None) -> str:
    """``text`` with every given secret and anything that looks like a bearer token/API key masked.

    With ``limit``, the result is cut to at most ``limit`` characters (``…`` marks the cut) *after*
    redaction, so a secret can never survive half-cut.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    text = _TOKEN_PATTERNS.sub(lambda m: f"{m.group(1) or m.group(2) or ''}{_REDACTED}", text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def check_http_url(url: str, *, key_path: str, example: str) -> str:
    """``url`` without a trailing ``/`` when it is an absolute http(s) URL, else :class:`ConfigError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"must be an http(s) URL, got {redact_secrets(url)!r}", key_path=key_path, hint=f"e.g. {example}"
        )
    return url.rstrip("/")


class OutboundTransportCapabilities(BaseModel):
    """What an outbound transport can change about a client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    proxy: bool = False
    custom_ca: bool = False
    header_injection: bool = False
    subprocess_env: bool = False


class OutboundContext(BaseModel):
    """Everything that decides how one outbound client connects; transports return changed copies.

    Portable data only (no live objects), so a transport is testable without a network.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: str = Field(default="http", description="Who asks: llm, embeddings, recall, ingest...")
    base_url: str = ""
    timeout: float = Field(default=30.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    trust_env: bool = Field(default=True, description="Follow HTTP(S)_PROXY/NO_PROXY from the environment.")
    proxy: str | None = Field(default=None, description="Explicit proxy URL (overrides the environment).")
    no_proxy: list[str] = Field(default_factory=list, description="Hosts reached directly with `proxy`.")
    verify: bool = True
    ca_file: str | None = None
    ca_dir: str | None = None
    secrets: list[str] = Field(default_factory=list, description="Values masked in logs and errors.")


def ssl_context_from_env() -> ssl.SSLContext | None:
    """An SSL context trusting ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when either is set, else ``None``.

    A path that does not exist or holds no usable certificate raises :class:`ConfigError` naming the
    variable, instead of a confusing TLS failure on the first request.
    """
    return _ssl_context(*_env_ca())


def _ssl_context(cafile: str | None, capath: str | None, *, origin: str = "env") -> ssl.SSLContext | None:
    if cafile is None and capath is None:
        return None
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        if origin == "env":
            variable = "SSL_CERT_FILE" if cafile is not None else "SSL_CERT_DIR"
        else:
            variable = f"{origin}.{'ca_file' if cafile is not None else 'ca_dir'}"
        raise ConfigError(
            f"cannot load CA certificates from {cafile or capath!r}: {exc}",
            key_path=variable,
            hint="point it at a readable PEM bundle (or unset it to use the default CA store)",
        ) from exc


def outbound_context(
    *,
    purpose: str = "http",
    base_url: str = "",
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    secrets: Sequence[str | None] = (),
    transport: OutboundTransportProvider | None = None,
) -> OutboundContext:
    """The context for a new client: the environment's policy, then ``transport``'s changes."""
    if timeout <= 0:
        raise ConfigError(f"timeout must be positive, got {timeout}", key_path="timeout")
    from astrocyte import __version__

    merged = {"User-Agent": f"astrocyte/{__version__}"}
    merged.update(headers or {})
    ca_file, ca_dir = _env_ca()
    context = OutboundContext(
        purpose=purpose,
        base_url=base_url,
        timeout=timeout,
        headers=merged,
        ca_file=ca_file,
        ca_dir=ca_dir,
        secrets=[s for s in secrets if s],
    )
    _ssl_context(ca_file, ca_dir)  # fail early, naming the variable, when the CA settings are unusable
    if transport is not None:
        context = transport.apply(context)
    return context


def _verify(context: OutboundContext) -> ssl.SSLContext | bool:
    if not context.verify:
        return False
    origin = "env" if (context.ca_file, context.ca_dir) == _env_ca() else "outbound_transport.config"
    ssl_context = _ssl_context(context.ca_file, context.ca_dir, origin=origin)
    return ssl_context if ssl_context is not None else True


def _env_ca() -> tuple[str | None, str | None]:
    return os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None


def _mounts(context: OutboundContext) -> dict[str, httpx.AsyncBaseTransport | None] | None:
    """An explicit proxy for every host except ``no_proxy`` ones (reached directly)."""
    if context.proxy is None:
        return None
    verify = _verify(context)
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        f"all://{host if host.startswith('*') else '*' + host}": None
        for host in (h.strip() for h in context.no_proxy)
        if host
    }
    mounts["all://"] = httpx.AsyncHTTPTransport(proxy=context.proxy, verify=verify)
    return mounts


def _log_hooks(secrets: list[str]) -> dict[str, list[Callable[..., Any]]]:
    async def on_request(request: httpx.Request) -> None:
        _LOG.debug("%s %s", request.method, redact_secrets(str(request.url), *secrets))

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        url = redact_secrets(str(request.url), *secrets)
        _LOG.debug("%s %s -> %s", request.method, url, response.status_code)

    return {"request": [on_request], "response": [on_response]}


def client_for(context: OutboundContext) -> httpx.AsyncClient:
    """A new :class:`httpx.AsyncClient` set up exactly as ``context`` says (the caller closes it)."""
    mounts = _mounts(context)
    return httpx.AsyncClient(
        base_url=context.base_url,
        timeout=httpx.Timeout(context.timeout),
        headers=context.headers,
        trust_env=context.trust_env and mounts is None,
        verify=_verify(context),
        mounts=mounts,
        event_hooks=_log_hooks(context.secrets),
    )


def build_async_client(
    *,
    base_url: str = "",
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    transport: OutboundTransportProvider | None = None,
    purpose: str = "http",
) -> httpx.AsyncClient:
    """A new :class:`httpx.AsyncClient` following the process's proxy and CA environment and, when
    given, an outbound ``transport``. The caller owns the client and must ``await client.aclose()`` it.
    """
    context = outbound_context(
        purpose=purpose, base_url=base_url, timeout=timeout, headers=headers, transport=transport
    )
    return client_for(context)

"""The one place Astrocyte builds outbound HTTP clients.

Every provider that calls a remote service (embeddings, LLMs, webhooks...) gets its client from
:func:`build_async_client`, so network policy is decided here once:

* ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (either case) are honoured
  (httpx ``trust_env=True``);
* ``SSL_CERT_FILE`` (a PEM bundle) or ``SSL_CERT_DIR`` (a hashed certificate directory) replace the
  default CA store, for corporate TLS-inspecting proxies and private CAs;
* every request carries a ``User-Agent: astrocyte/<version>`` header.

:func:`redact_secrets` keeps API keys and bearer tokens out of error messages and logs.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping

import httpx

from astrocyte.errors import ConfigError, ProviderError

__all__ = ["ProviderHTTPError", "build_async_client", "redact_secrets", "ssl_context_from_env"]

_REDACTED = "***"
# "Bearer <token>" and OpenAI-style keys ("sk-...", "sk-proj-...") even when the exact key is unknown.
_TOKEN_PATTERNS = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+|\bsk-[A-Za-z0-9_\-]{6,}")


class ProviderHTTPError(ProviderError):
    """A remote provider answered with an unusable HTTP status (or could not be reached).

    ``status_code`` is the HTTP status, or ``None`` when no response arrived (connection refused,
    timeout). The message never contains credentials (see :func:`redact_secrets`).
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


def redact_secrets(text: str, *secrets: str | None, limit: int | None = None) -> str:
    """``text`` with every given secret and anything that looks like a bearer token/API key masked.

    With ``limit``, the result is cut to at most ``limit`` characters (``…`` marks the cut) *after*
    redaction, so a secret can never survive half-cut.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    text = _TOKEN_PATTERNS.sub(lambda m: f"{m.group(1) or ''}{_REDACTED}", text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def ssl_context_from_env() -> ssl.SSLContext | None:
    """An SSL context trusting ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when either is set, else ``None``.

    A path that does not exist or holds no usable certificate raises :class:`ConfigError` naming the
    variable, instead of a confusing TLS failure on the first request.
    """
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        return None
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        variable = "SSL_CERT_FILE" if cafile is not None else "SSL_CERT_DIR"
        raise ConfigError(
            f"cannot load CA certificates from {cafile or capath!r}: {exc}",
            key_path=variable,
            hint="point it at a readable PEM bundle (or unset it to use the default CA store)",
        ) from exc


def build_async_client(
    *,
    base_url: str = "",
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """A new :class:`httpx.AsyncClient` following the process's proxy and CA environment.

    The caller owns the client and must ``await client.aclose()`` it.
    """
    if timeout <= 0:
        raise ConfigError(f"timeout must be positive, got {timeout}", key_path="timeout")
    from astrocyte import __version__

    merged = {"User-Agent": f"astrocyte/{__version__}"}
    merged.update(headers or {})
    context = ssl_context_from_env()
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout),
        headers=merged,
        trust_env=True,
        verify=context if context is not None else True,
    )

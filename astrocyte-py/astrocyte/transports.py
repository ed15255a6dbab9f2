"""Built-in outbound transports (entry-point group ``astrocyte.outbound_transports``).

``env`` (default)  the process environment decides: ``HTTP(S)_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``.
``proxy``          an explicit forward proxy (its password is a secret), hosts that bypass it, a CA
                   bundle and headers added to every request (their values are secrets), for
                   deployments that must not depend on environment variables.

:func:`load_outbound_transport` builds the one selected by the config's ``outbound_transport``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from astrocyte._discovery import create_provider, load_provider_class
from astrocyte.errors import ConfigError
from astrocyte.http import OutboundContext, OutboundTransportCapabilities, check_http_url
from astrocyte.provider import OutboundTransportProvider
from astrocyte.transport_config import OutboundTransportSettings

__all__ = ["EnvTransport", "ProxyTransport", "load_outbound_transport", "with_transport"]

_ENV_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")


class EnvTransport:
    """Leave every client to the environment (entry point ``env``)."""

    SPI_VERSION: ClassVar[int] = 1

    def apply(self, ctx: OutboundContext) -> OutboundContext:
        return ctx

    def subprocess_env(self) -> dict[str, str]:
        """The proxy and CA variables currently set (both spellings), to pass on unchanged."""
        found: dict[str, str] = {}
        for name in _ENV_NAMES:
            for spelling in (name, name.lower()):
                value = os.environ.get(spelling)
                if value:
                    found[spelling] = value
        return found

    def capabilities(self) -> OutboundTransportCapabilities:
        return OutboundTransportCapabilities(proxy=True, custom_ca=True, subprocess_env=True)


class ProxyTransport:
    """An explicit proxy, CA bundle and extra headers (entry point ``proxy``)."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(
        self,
        *,
        url: str | None = None,
        no_proxy: list[str] | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._url = None if url is None else check_http_url(url, key_path="url", example="http://proxy:3128")
        self._no_proxy = [str(host) for host in (no_proxy or [])]
        if ca_file is not None and not Path(ca_file).is_file():
            raise ConfigError(f"no such file: {ca_file!r}", key_path="ca_file", hint="a PEM CA bundle")
        self._ca_file = ca_file
        self._verify = verify
        self._headers = dict(headers or {})
        for name, value in self._headers.items():
            if not isinstance(value, str):
                raise ConfigError(
                    f"header values must be strings, got {type(value).__name__}", key_path=f"headers.{name}"
                )
        self._secrets = [value for value in self._headers.values() if value]
        password = urlsplit(self._url).password if self._url else None
        if password:
            self._secrets += [password, unquote(password)]

    def __repr__(self) -> str:  # never the password or header values
        return f"ProxyTransport(proxy={self._url is not None}, headers={sorted(self._headers)})"

    def apply(self, ctx: OutboundContext) -> OutboundContext:
        update: dict[str, object] = {
            "headers": {**ctx.headers, **self._headers},
            "secrets": [*ctx.secrets, *self._secrets],
            "verify": self._verify,
        }
        if self._url is not None:
            update.update(proxy=self._url, no_proxy=self._no_proxy, trust_env=False)
        if self._ca_file is not None:
            update.update(ca_file=self._ca_file, ca_dir=None)
        return ctx.model_copy(update=update)

    def subprocess_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self._url is not None:
            env.update(HTTP_PROXY=self._url, HTTPS_PROXY=self._url, NO_PROXY=",".join(self._no_proxy))
        if self._ca_file is not None:
            env["SSL_CERT_FILE"] = self._ca_file
        return env

    def capabilities(self) -> OutboundTransportCapabilities:
        return OutboundTransportCapabilities(
            proxy=True, custom_ca=True, header_injection=True, subprocess_env=True
        )


def load_outbound_transport(settings: OutboundTransportSettings | None = None) -> OutboundTransportProvider:
    """The transport ``settings`` selects (default ``env``), checked against the SPI.

    Errors name ``outbound_transport.config`` / ``outbound_transport.provider``.
    """
    chosen = settings or OutboundTransportSettings()
    try:
        transport = create_provider("outbound_transport", chosen.provider, chosen.config)
    except ConfigError as exc:
        inner = exc.key_path
        if inner in (None, "outbound_transport"):
            where = "outbound_transport.provider"
        elif inner == "outbound_transport_config":
            where = "outbound_transport.config"
        else:
            where = f"outbound_transport.config.{inner}"
        raise type(exc)(str(exc), key_path=where) from exc
    assert isinstance(transport, OutboundTransportProvider)  # create_provider checked the Protocol
    return transport


def with_transport(
    kind: str, name: str, settings: Mapping[str, object], transport: OutboundTransportProvider
) -> dict[str, object]:
    """``settings`` plus ``transport=`` when the provider's constructor takes a ``transport``.

    This is how the configured ``outbound_transport`` reaches every HTTP-speaking provider.
    """
    options = dict(settings)
    try:
        parameters = inspect.signature(load_provider_class(kind, name)).parameters
    except (TypeError, ValueError):
        return options
    if "transport" in parameters and "transport" not in options:
        options["transport"] = transport
    return options

"""The one small error hierarchy of Astrocyte.

Every failure caused by bad input, bad configuration or a failing backend surfaces as a subclass of
:class:`AstrocyteError`, so callers (and the gateway, which maps them to HTTP status codes) never
have to catch bare ``KeyError``/``TypeError``.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AstrocyteError",
    "BackendNotInstalledError",
    "CapabilityNotSupportedError",
    "ConfigError",
    "DimensionMismatchError",
    "InvalidRequestError",
    "NotFoundError",
    "ProviderError",
    "SpiVersionError",
    "StoreError",
]


class AstrocyteError(Exception):
    """Base class of every error Astrocyte raises on purpose."""

    #: Stable machine-readable code (used by the gateway's problem+json bodies).
    code: str = "astrocyte_error"


class ConfigError(AstrocyteError):
    """An invalid configuration. ``key_path`` names where (``vector_store_config.path``)."""

    code = "invalid_config"

    def __init__(self, message: str, *, key_path: str | None = None, hint: str | None = None) -> None:
        self.key_path = key_path
        self.hint = hint
        text = f"{key_path}: {message}" if key_path else message
        if hint:
            text = f"{text} — {hint}"
        super().__init__(text)


class BackendNotInstalledError(ConfigError):
    """A config names a provider no installed distribution registers."""

    code = "backend_not_installed"


class SpiVersionError(ConfigError):
    """A discovered provider declares an SPI version this core does not support, or breaks the Protocol."""

    code = "spi_version_mismatch"


class InvalidRequestError(AstrocyteError):
    """A request (DTO, arguments) is malformed. ``field`` names the offending field when known."""

    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class DimensionMismatchError(InvalidRequestError):
    """A vector's dimension differs from the one the bank/store was created with."""

    code = "dimension_mismatch"


class NotFoundError(AstrocyteError):
    """A named thing (bank, memory, source) does not exist."""

    code = "not_found"


class AccessDeniedError(AstrocyteError):
    """The caller's identity lacks a permission on a bank."""

    code = "access_denied"


class CapabilityNotSupportedError(AstrocyteError):
    """A provider was asked for something it declares it cannot do (e.g. ``embed`` on a chat-only LLM)."""

    code = "capability_not_supported"


class StoreError(AstrocyteError):
    """A storage backend failed (connection lost, constraint violated, disk full...)."""

    code = "store_error"


class ProviderError(AstrocyteError):
    """A remote model provider (LLM, embeddings) failed or answered something unusable."""

    code = "provider_error"

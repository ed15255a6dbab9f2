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
    "CircuitOpenError",
    "ConfigError",
    "DimensionMismatchError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PiiRejectedError",
    "ProviderError",
    "QuotaExceededError",
    "RateLimitedError",
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


class PayloadTooLargeError(InvalidRequestError):
    """Content, a query or a batch exceeds a configured size limit (``policy.validation``)."""

    code = "payload_too_large"


class PiiRejectedError(InvalidRequestError):
    """Content holds personal data and the PII barrier's action for its bank is ``reject``."""

    code = "pii_rejected"


class AccessDeniedError(AstrocyteError):
    """The caller's identity lacks a permission on a bank (or calls without any identity).

    ``principal`` is ``None`` for a context-less call that the deployment does not allow.
    """

    code = "access_denied"

    def __init__(
        self,
        message: str | None = None,
        *,
        principal: str | None = None,
        bank_id: str | None = None,
        permission: str | None = None,
    ) -> None:
        self.principal = principal
        self.bank_id = bank_id
        self.permission = permission
        if message is None:
            who = repr(principal) if principal else "an anonymous caller"
            message = f"{who} lacks {permission!r} permission on bank {bank_id!r}"
        super().__init__(message)


class RateLimitedError(AstrocyteError):
    """A token bucket (per principal or per bank) is empty; retry after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, *, scope: str, key: str, retry_after: float) -> None:
        self.scope = scope
        self.key = key
        self.retry_after = retry_after
        super().__init__(f"rate limit of {scope} {key!r} reached; retry in {retry_after:.2f}s")


class QuotaExceededError(AstrocyteError):
    """A bank would exceed its configured quota (``policy.quotas``) of memories or bytes."""

    code = "quota_exceeded"

    def __init__(self, *, bank_id: str, quota: str, limit: int, usage: int, requested: int) -> None:
        self.bank_id = bank_id
        self.quota = quota
        self.limit = limit
        self.usage = usage
        super().__init__(
            f"bank {bank_id!r} would exceed its {quota} quota: {usage} used + {requested} requested "
            f"> {limit}; forget memories or raise policy.quotas"
        )


class CapabilityNotSupportedError(AstrocyteError):
    """A provider was asked for something it declares it cannot do (e.g. ``embed`` on a chat-only LLM)."""

    code = "capability_not_supported"


class StoreError(AstrocyteError):
    """A storage backend failed (connection lost, constraint violated, disk full...)."""

    code = "store_error"


class CircuitOpenError(StoreError):
    """A store or provider failed repeatedly; its circuit breaker rejects calls until a probe succeeds."""

    code = "circuit_open"


class ProviderError(AstrocyteError):
    """A remote model provider (LLM, embeddings) failed or answered something unusable."""

    code = "provider_error"

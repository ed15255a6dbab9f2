"""Astrocyte: memory for AI agents — retain, recall, reflect and forget over pluggable storage."""

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.access import AccessPolicy
from astrocyte.errors import (
    AccessDeniedError,
    AstrocyteError,
    BackendNotInstalledError,
    CircuitOpenError,
    ConfigError,
    InvalidRequestError,
    PayloadTooLargeError,
    PiiRejectedError,
    QuotaExceededError,
    RateLimitedError,
    StoreError,
)
from astrocyte.identity import ActorIdentity, AstrocyteContext, BankResolver
from astrocyte.types import (
    ForgetRequest,
    ForgetResult,
    MemoryHit,
    RecallRequest,
    RecallResult,
    ReflectRequest,
    ReflectResult,
    RetainRequest,
    RetainResult,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AccessPolicy",
    "ActorIdentity",
    "Astrocyte",
    "AstrocyteContext",
    "AstrocyteError",
    "BackendNotInstalledError",
    "BankResolver",
    "CircuitOpenError",
    "ConfigError",
    "ForgetRequest",
    "ForgetResult",
    "InvalidRequestError",
    "MemoryHit",
    "PayloadTooLargeError",
    "PiiRejectedError",
    "QuotaExceededError",
    "RateLimitedError",
    "RecallRequest",
    "RecallResult",
    "ReflectRequest",
    "ReflectResult",
    "RetainRequest",
    "RetainResult",
    "StoreError",
    "SyncAstrocyte",
    "__version__",
]

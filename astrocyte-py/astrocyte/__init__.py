"""Astrocyte: memory for AI agents — retain, recall, reflect and forget over pluggable storage."""

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.errors import (
    AccessDeniedError,
    AstrocyteError,
    BackendNotInstalledError,
    ConfigError,
    InvalidRequestError,
    StoreError,
)
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
    "Astrocyte",
    "AstrocyteError",
    "BackendNotInstalledError",
    "ConfigError",
    "ForgetRequest",
    "ForgetResult",
    "InvalidRequestError",
    "MemoryHit",
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

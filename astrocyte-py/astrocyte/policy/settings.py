"""The ``policy:`` config section: input validation, rate limits, quotas, circuit breakers and audit.

Every key is optional and the defaults change nothing for existing configs: generous size limits,
no rate limits, no quotas, a circuit breaker that only opens after repeated failures, audit events
on the ``astrocyte.audit`` logger.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from astrocyte._section import Section
from astrocyte.access_settings import matches_any

__all__ = [
    "AuditSettings",
    "BucketSettings",
    "CircuitBreakerSettings",
    "PolicySettings",
    "QuotaLimits",
    "QuotaSettings",
    "RateLimitSettings",
    "ValidationSettings",
]

#: No whitespace, control or glob characters (grants match banks with globs); any other unicode is fine.
DEFAULT_BANK_ID_PATTERN = r"^[^\s\x00-\x1f\x7f*?\[\]\\]+$"


class ValidationSettings(Section):
    """Limits every request is checked against before it reaches the pipeline."""

    max_content_bytes: int = Field(default=5 * 1024 * 1024, ge=1, description="UTF-8 bytes per retain.")
    max_query_chars: int = Field(default=8192, ge=1, description="Characters of a recall/reflect query.")
    max_batch_size: int = Field(default=10_000, ge=1, description="Requests per retain_many call.")
    max_banks_per_request: int = Field(default=64, ge=1, description="Banks one recall may span.")
    bank_id_pattern: str = Field(
        default=DEFAULT_BANK_ID_PATTERN, description="Regular expression every bank id must match."
    )

    @field_validator("bank_id_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class BucketSettings(Section):
    """A token bucket: ``burst`` calls at once, refilled at ``rate`` calls per second."""

    rate: float = Field(gt=0, description="Tokens added per second.")
    burst: int = Field(ge=1, description="Bucket capacity (the largest burst).")


class RateLimitSettings(Section):
    """Token-bucket limits per principal and per bank; ``redis`` shares them across instances."""

    backend: Literal["memory", "redis"] = Field(
        default="memory", description="memory (this process) or redis (shared; needs astrocyte[redis])."
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", min_length=1)
    on_backend_error: Literal["deny", "allow"] = Field(
        default="deny",
        description="When the limit store (Redis) fails: deny the call (StoreError) or allow it unlimited.",
    )
    key_prefix: str = Field(default="astrocyte:rl:", description="Prefix of the Redis bucket keys.")
    per_principal: BucketSettings | None = Field(default=None, description="Limit per caller principal.")
    per_bank: BucketSettings | None = Field(default=None, description="Limit per bank.")
    max_tracked_keys: int = Field(
        default=100_000, ge=1, description="In-process buckets kept (least recently used are dropped)."
    )

    @property
    def enabled(self) -> bool:
        return self.per_principal is not None or self.per_bank is not None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)")
        return value


class QuotaLimits(Section):
    max_memories: int | None = Field(default=None, ge=1, description="Memories a bank may hold.")
    max_bytes: int | None = Field(default=None, ge=1, description="UTF-8 bytes of memory text per bank.")


class QuotaSettings(QuotaLimits):
    """Default limits for every bank, overridden per bank glob (first matching pattern wins)."""

    banks: dict[str, QuotaLimits] = Field(default_factory=dict)

    def limits_for(self, bank_id: str) -> QuotaLimits:
        for pattern, limits in self.banks.items():
            if matches_any(bank_id, [pattern]):
                return limits
        return self

    @property
    def enabled(self) -> bool:
        limits = [self, *self.banks.values()]
        return any(q.max_memories is not None or q.max_bytes is not None for q in limits)


class CircuitBreakerSettings(Section):
    """Per store/provider: open after ``failure_threshold`` consecutive failures, probe again after
    ``reset_timeout_s`` (half-open), close on a successful probe."""

    enabled: bool = True
    failure_threshold: int = Field(default=5, ge=1)
    reset_timeout_s: float = Field(default=30.0, gt=0)


class AuditSettings(Section):
    """Structured JSON audit events (never memory content) for retain, forget and denials."""

    enabled: bool = True
    logger: str = Field(default="astrocyte.audit", min_length=1, description="Logger the events go to.")


class PolicySettings(Section):
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    circuit_breaker: CircuitBreakerSettings = Field(default_factory=CircuitBreakerSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    @model_validator(mode="after")
    def _redis_needs_limits(self) -> Self:
        limits = self.rate_limits
        if limits.backend == "redis" and not limits.enabled:
            raise ValueError(
                "rate_limits.backend is 'redis' but no limit is set — add rate_limits.per_principal "
                "and/or rate_limits.per_bank (e.g. {rate: 10, burst: 20})"
            )
        return self

"""Policy layer: barriers applied around every memory operation.

Synchronous, self-contained hot paths (PII scan, token buckets, circuit breaker state) with I/O
only at the edges (the Redis limiter, the audit sink). The facade runs them through its gate.
"""

from astrocyte.policy.audit import AuditEvent, Auditor, AuditSink, LoggingAuditSink
from astrocyte.policy.breaker import BreakerState, CircuitBreaker, guard_stores
from astrocyte.policy.pii import PiiBarrier, PiiFinding, PiiScanner
from astrocyte.policy.quotas import BankUsage, QuotaTracker
from astrocyte.policy.ratelimit import (
    BucketRequest,
    InProcessRateLimiter,
    RateDecision,
    RateLimiter,
    TokenBucketLimiter,
)
from astrocyte.policy.redis_ratelimit import RedisRateLimiter
from astrocyte.policy.settings import (
    AuditSettings,
    BucketSettings,
    CircuitBreakerSettings,
    PolicySettings,
    QuotaLimits,
    QuotaSettings,
    RateLimitSettings,
    ValidationSettings,
)
from astrocyte.policy.validation import InputValidator

__all__ = [
    "AuditEvent",
    "AuditSettings",
    "AuditSink",
    "Auditor",
    "BankUsage",
    "BreakerState",
    "BucketRequest",
    "BucketSettings",
    "CircuitBreaker",
    "CircuitBreakerSettings",
    "InProcessRateLimiter",
    "InputValidator",
    "LoggingAuditSink",
    "PiiBarrier",
    "PiiFinding",
    "PiiScanner",
    "PolicySettings",
    "QuotaLimits",
    "QuotaSettings",
    "QuotaTracker",
    "RateDecision",
    "RateLimitSettings",
    "RateLimiter",
    "RedisRateLimiter",
    "TokenBucketLimiter",
    "ValidationSettings",
    "guard_stores",
]

"""Token-bucket rate limits per principal and per bank.

:class:`TokenBucketLimiter` is the synchronous, self-contained hot path (state in the object, time
passed in). :class:`InProcessRateLimiter` drives it for one process; ``RedisRateLimiter`` (in
:mod:`astrocyte.policy.redis_ratelimit`) keeps the buckets in Redis so replicas share one limit.
A call takes one token from every bucket it touches, all or nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BucketRequest",
    "InProcessRateLimiter",
    "RateDecision",
    "RateLimiter",
    "TokenBucketLimiter",
]


@dataclass(frozen=True, slots=True)
class BucketRequest:
    """Take ``cost`` tokens from bucket ``key`` (``scope`` is ``principal`` or ``bank``)."""

    scope: str
    key: str
    rate: float
    burst: int
    cost: float = 1.0

    @property
    def bucket(self) -> str:
        """The bucket's name: ``principal:user:1`` and ``bank:user:1`` never share a bucket."""
        return f"{self.scope}:{self.key}"


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: float = 0.0
    denied: BucketRequest | None = None


class RateLimiter(Protocol):
    async def acquire(self, requests: Sequence[BucketRequest]) -> RateDecision: ...

    async def close(self) -> None: ...


class TokenBucketLimiter:
    """Buckets keyed by string; the least recently used are dropped beyond ``max_keys`` (a dropped
    bucket comes back full, which only ever errs towards allowing)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def _level(self, request: BucketRequest, now: float) -> float:
        tokens, at = self._buckets.get(request.bucket, (float(request.burst), now))
        return min(float(request.burst), tokens + max(0.0, now - at) * request.rate)

    def acquire(self, requests: Sequence[BucketRequest], now: float) -> RateDecision:
        levels = [self._level(r, now) for r in requests]
        worst: RateDecision | None = None
        for request, level in zip(requests, levels, strict=True):
            if level < request.cost:
                wait = (request.cost - level) / request.rate
                if worst is None or wait > worst.retry_after:
                    worst = RateDecision(False, wait, request)
        if worst is not None:
            return worst
        for request, level in zip(requests, levels, strict=True):
            self._buckets[request.bucket] = (level - request.cost, now)
            self._buckets.move_to_end(request.bucket)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return RateDecision(True)


class InProcessRateLimiter:
    """Rate limits held in this process (one limit per :class:`~astrocyte.Astrocyte` instance)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._limiter = TokenBucketLimiter(max_keys)

    async def acquire(self, requests: Sequence[BucketRequest]) -> RateDecision:
        return self._limiter.acquire(requests, time.monotonic())

    async def close(self) -> None:
        return None

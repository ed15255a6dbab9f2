"""Token buckets in Redis, shared by every Astrocyte instance that points at the same server.

One Lua script checks and takes tokens from all buckets of a call atomically, using the Redis
server's clock, so replicas on different hosts (and clocks) enforce one limit. Keys expire once a
bucket would be full again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from astrocyte.errors import ConfigError, StoreError
from astrocyte.policy.ratelimit import BucketRequest, RateDecision

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["TOKEN_BUCKET_LUA", "RedisRateLimiter"]

#: KEYS = bucket keys; ARGV = rate, burst, cost for each key in turn.
#: Returns {1, "0", 0} when allowed, else {0, "<seconds to wait>", <index of the limiting key>}.
TOKEN_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels = {}
local wait, denied = 0, 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i * 3 - 2])
  local burst = tonumber(ARGV[i * 3 - 1])
  local cost = tonumber(ARGV[i * 3])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local level = tonumber(state[1])
  local ts = tonumber(state[2])
  if level == nil or ts == nil then
    level = burst
    ts = now
  end
  level = math.min(burst, level + math.max(0, now - ts) * rate)
  levels[i] = level
  if level < cost then
    local w = (cost - level) / rate
    if w > wait then
      wait = w
      denied = i
    end
  end
end
if denied > 0 then
  return {0, tostring(wait), denied}
end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i * 3 - 2])
  local burst = tonumber(ARGV[i * 3 - 1])
  local cost = tonumber(ARGV[i * 3])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - cost), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
end
return {1, '0', 0}
"""


def _client(url: str) -> Redis:
    try:
        from redis.asyncio import Redis
    except ImportError as exc:
        raise ConfigError(
            "the redis rate-limit backend needs the redis client",
            key_path="policy.rate_limits.backend",
            hint='pip install "astrocyte[redis]"',
        ) from exc
    client: Redis = Redis.from_url(url)
    return client


class RedisRateLimiter:
    """Token buckets under ``key_prefix`` in the Redis at ``url`` (``redis://host:port/db``)."""

    def __init__(self, url: str, key_prefix: str = "astrocyte:rl:") -> None:
        self._redis = _client(url)
        self._prefix = key_prefix
        self._script: Any = self._redis.register_script(TOKEN_BUCKET_LUA)

    async def acquire(self, requests: Sequence[BucketRequest]) -> RateDecision:
        if not requests:
            return RateDecision(True)
        keys = [f"{self._prefix}{r.bucket}" for r in requests]
        args = [str(value) for r in requests for value in (r.rate, r.burst, r.cost)]
        try:
            allowed, wait, index = await self._script(keys=keys, args=args)
        except Exception as exc:  # connection refused, timeout, script error
            raise StoreError(f"rate-limit store (redis) failed: {exc}") from exc
        if int(allowed):
            return RateDecision(True)
        return RateDecision(False, float(wait), requests[int(index) - 1])

    async def close(self) -> None:
        await self._redis.aclose()

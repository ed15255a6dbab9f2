"""Redis-backed token buckets shared by several Astrocyte instances (real Redis at 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from astrocyte import Astrocyte, AstrocyteContext, RateLimitedError
from astrocyte.errors import StoreError
from astrocyte.policy.ratelimit import BucketRequest
from astrocyte.policy.redis_ratelimit import RedisRateLimiter

redis_asyncio = pytest.importorskip("redis.asyncio")

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.backend("redis")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A unique key prefix; skips when Redis is unreachable; deletes the test's keys afterwards."""
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"redis not reachable at 127.0.0.1:6379: {exc}")
    name = f"astrocyte-test:{uuid.uuid4().hex}:"
    try:
        yield name
    finally:
        keys = [key async for key in client.scan_iter(match=f"{name}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _config(tmp_path: Path, name: str, prefix: str, **limits: Any) -> dict[str, Any]:
    db = str(tmp_path / f"{name}.db")
    rate_limits = {"backend": "redis", "redis_url": REDIS_URL, "key_prefix": prefix} | limits
    return {
        "vector_store_config": {"path": db},
        "document_store_config": {"path": db},
        "graph_store_config": {"path": db},
        "policy": {"rate_limits": rate_limits},
    }


async def test_lua_bucket_takes_refills_and_reports_the_wait(prefix: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, prefix)
    try:
        bucket = BucketRequest("principal", "user:1", rate=20.0, burst=2)
        assert (await limiter.acquire([bucket])).allowed
        assert (await limiter.acquire([bucket])).allowed
        denied = await limiter.acquire([bucket])
        assert not denied.allowed and denied.denied == bucket
        assert 0 < denied.retry_after <= 0.05 + 1e-6
        await asyncio.sleep(denied.retry_after + 0.02)
        assert (await limiter.acquire([bucket])).allowed
    finally:
        await limiter.close()


async def test_lua_bucket_is_all_or_nothing_across_keys(prefix: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, prefix)
    try:
        principal = BucketRequest("principal", "user:1", rate=0.001, burst=2)
        bank = BucketRequest("bank", "b", rate=0.001, burst=1)
        assert (await limiter.acquire([principal, bank])).allowed
        denied = await limiter.acquire([principal, bank])
        assert not denied.allowed and denied.denied == bank
        assert (await limiter.acquire([principal])).allowed  # not charged by the denied call
        assert not (await limiter.acquire([principal])).allowed
    finally:
        await limiter.close()


async def test_two_instances_share_one_limit_under_concurrent_load(tmp_path: Path, prefix: str) -> None:
    limits = {"per_principal": {"rate": 0.001, "burst": 20}}
    first = Astrocyte.from_config(_config(tmp_path, "one", prefix, **limits))
    second = Astrocyte.from_config(_config(tmp_path, "two", prefix, **limits))
    context = AstrocyteContext(principal="user:shared")
    try:
        calls = [
            (first if index % 2 else second).recall("anything at all", context=context) for index in range(60)
        ]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await first.close()
        await second.close()
    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, RateLimitedError)]
    assert unexpected == []
    limited = [o for o in outcomes if isinstance(o, RateLimitedError)]
    assert len(outcomes) - len(limited) == 20  # one shared bucket of 20, not 20 per instance
    assert {(e.scope, e.key) for e in limited} == {("principal", "user:shared")}


async def test_per_bank_limit_is_shared_too(tmp_path: Path, prefix: str) -> None:
    limits = {"per_bank": {"rate": 0.001, "burst": 3}}
    first = Astrocyte.from_config(_config(tmp_path, "one", prefix, **limits))
    second = Astrocyte.from_config(_config(tmp_path, "two", prefix, **limits))
    try:
        await first.retain("Shared bank fact one.", bank_id="team")
        await second.retain("Shared bank fact two.", bank_id="team")
        await first.recall("fact", bank_id="team")
        with pytest.raises(RateLimitedError, match="bank 'team'"):
            await second.recall("fact", bank_id="team")
        await second.recall("fact", bank_id="other")  # other banks have their own bucket
    finally:
        await first.close()
        await second.close()


async def test_unreachable_redis_is_a_store_error() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(StoreError, match="rate-limit store"):
            await limiter.acquire([BucketRequest("principal", "p", 1.0, 1)])
    finally:
        await limiter.close()


async def test_unreachable_redis_denies_or_allows_as_configured(tmp_path: Path) -> None:
    limits = {"per_principal": {"rate": 1.0, "burst": 1}, "redis_url": "redis://127.0.0.1:1/0"}
    deny = Astrocyte.from_config(_config(tmp_path, "deny", "p:", **limits))
    allow = Astrocyte.from_config(_config(tmp_path, "allow", "p:", **limits, on_backend_error="allow"))
    try:
        with pytest.raises(StoreError, match="rate-limit store"):
            await deny.recall("anything", bank_id="b")
        for _ in range(3):  # unlimited while the store is down
            await allow.recall("anything", bank_id="b")
    finally:
        await deny.close()
        await allow.close()

"""Two gateway replicas share Redis-backed rate limits (real Redis at 127.0.0.1:6379): the bucket one
replica drains is empty on the other, which answers 429 with Retry-After."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from _gateway import ALICE_KEY, base_config, key
from astrocyte_gateway import create_app
from astrocyte_gateway.server import serving

redis_asyncio = pytest.importorskip("redis.asyncio")

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.backend("redis")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"redis not reachable at 127.0.0.1:6379: {exc}")
    name = f"astrocyte-gw-test:{uuid.uuid4().hex}:"
    try:
        yield name
    finally:
        keys = [k async for k in client.scan_iter(match=f"{name}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_replicas_share_one_bucket(prefix: str) -> None:
    config = base_config()
    config["policy"] = {
        "rate_limits": {
            "backend": "redis",
            "redis_url": REDIS_URL,
            "key_prefix": prefix,
            "per_principal": {"rate": 0.2, "burst": 3},
        }
    }
    body = {"query": "anything"}
    async with (
        serving(create_app(config)) as first,
        serving(create_app(config)) as second,
        httpx.AsyncClient(headers=key(ALICE_KEY)) as client,
    ):
        for _ in range(3):
            assert (await client.post(f"{first}/v1/recall", json=body)).status_code == 200
        limited = await client.post(f"{second}/v1/recall", json=body)
        assert limited.status_code == 429, limited.text
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1

"""Shared helpers: configs over the in-memory reference stores, and a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from astrocyte_gateway import create_app, hash_api_key
from astrocyte_gateway.server import serving

ALICE_KEY = "alice-key-0123456789"
BOB_KEY = "bob-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"
WEBHOOK_SECRET = "webhook-secret-0123456789"


def base_config(**gateway: Any) -> dict[str, Any]:
    """In-memory stores, standalone mode, three API keys (alice, bob, an admin service)."""
    auth = gateway.pop("auth", None) or {
        "mode": "api_key",
        "api_keys": [
            {"sha256": hash_api_key(ALICE_KEY), "principal": "user:alice"},
            {"sha256": hash_api_key(BOB_KEY), "principal": "user:bob"},
            {"sha256": hash_api_key(ADMIN_KEY), "principal": "service:ops", "scopes": ["astrocyte:admin"]},
        ],
    }
    return {
        "vector_store": "memory",
        "document_store": "memory",
        "graph_store": "memory",
        "deployment": {"mode": "standalone"},
        "gateway": {"auth": auth, **gateway},
    }


Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def gateway() -> Client:
    """``async with gateway(config) as client``: the app served by uvicorn, an httpx client on it."""

    @asynccontextmanager
    async def run(config: dict[str, Any] | None = None) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(config if config is not None else base_config())
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield client

    return run


def key(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}

"""GitHub REST paging: Link-header pagination, conditional requests (ETag) and rate-limit waits.

The client comes from :func:`astrocyte.http.build_async_client`, so proxies and private CAs apply.
Rate limits are respected, never fought: a ``Retry-After`` header, or ``X-RateLimit-Remaining: 0``
with ``X-RateLimit-Reset``, makes the poller sleep until the window reopens (at most
``max_wait_seconds``; beyond that it raises so the supervisor backs off instead of hanging).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx

from astrocyte.http import ProviderHTTPError

__all__ = ["Page", "RateLimitPolicy", "RestPager"]

JsonObject = dict[str, object]


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items, and the ETag when it was the first page."""

    items: list[JsonObject]
    etag: str | None


@dataclass(frozen=True)
class RateLimitPolicy:
    """How long the poller may sleep for a rate-limit window before giving up on this poll."""

    max_wait_seconds: float = 900.0
    max_retries: int = 3


def _wait_seconds(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait before the next request, from the rate-limit headers; ``None`` when free to go."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return 60.0  # an HTTP-date form: GitHub never sends it, so wait a safe minute
    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset")
        try:
            return max(0.0, float(reset) - now) if reset is not None else 60.0
        except ValueError:
            return 60.0
    return None


def _is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    return response.status_code == 403 and (
        response.headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in response.headers
    )


class RestPager:
    """Iterates the pages of a GitHub listing endpoint with one shared ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient, policy: RateLimitPolicy | None = None) -> None:
        self._client = client
        self._policy = policy or RateLimitPolicy()
        #: How many seconds this pager slept for rate limits in total (observable in health/tests).
        self.rate_limit_sleep_total = 0.0

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def pages(self, path: str, params: Mapping[str, str], etag: str | None) -> AsyncIterator[Page]:
        """Every page of ``path``; nothing at all when the first page answers 304 to ``etag``."""
        url: str | None = path
        first = True
        while url is not None:
            headers = {"If-None-Match": etag} if first and etag else {}
            response = await self._get(url, params if first else None, headers)
            if response.status_code == 304:
                return
            body = response.json()
            if not isinstance(body, list):
                raise ProviderHTTPError(
                    f"GitHub {path} answered a {type(body).__name__}, expected a JSON array",
                    status_code=response.status_code,
                )
            yield Page(
                items=[item for item in body if isinstance(item, dict)],
                etag=response.headers.get("ETag") if first else None,
            )
            url = response.links.get("next", {}).get("url")
            first = False

    async def _get(
        self, url: str, params: Mapping[str, str] | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        for _ in range(self._policy.max_retries + 1):
            try:
                response = await self._client.get(url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise ProviderHTTPError(f"GitHub request to {url} failed: {exc}") from exc
            if not _is_rate_limited(response):
                break
            await self._sleep_for(response, url)
        else:
            raise ProviderHTTPError(
                f"GitHub kept rate-limiting {url} after {self._policy.max_retries} waits",
                status_code=response.status_code,
            )
        if response.status_code not in (200, 304):
            raise ProviderHTTPError(
                f"GitHub {url} answered HTTP {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        await self._pace(response)
        return response

    async def _sleep_for(self, response: httpx.Response, url: str) -> None:
        wait = _wait_seconds(response, time.time())
        wait = 60.0 if wait is None else wait
        if wait > self._policy.max_wait_seconds:
            raise ProviderHTTPError(
                f"GitHub rate limit for {url} reopens in {wait:.0f}s, beyond max_wait_seconds="
                f"{self._policy.max_wait_seconds:.0f}",
                status_code=response.status_code,
            )
        self.rate_limit_sleep_total += wait
        await asyncio.sleep(wait)

    async def _pace(self, response: httpx.Response) -> None:
        """After a successful call that used the last request of the window, wait for the reset."""
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return
        wait = _wait_seconds(response, time.time()) or 0.0
        if 0.0 < wait <= self._policy.max_wait_seconds:
            self.rate_limit_sleep_total += wait
            await asyncio.sleep(wait)

"""The console end to end: a real gateway (uvicorn on loopback, embedded SQLite store) driven by
headless Debian chromium through Playwright."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from _console import CAROLINE, browser_page, console_config, deliver_webhook, seed, sign_in, snapshot
from _gateway import ADMIN_KEY, ALICE_KEY, Client, key
from playwright.async_api import Page, expect
from redis import asyncio as redis_async
from redis.exceptions import RedisError

pytestmark = pytest.mark.backend("chromium")


async def _search(page: Page, query: str) -> None:
    await page.keyboard.press("g")
    await page.keyboard.press("s")
    await expect(page.locator("h1")).to_have_text("Search")
    await page.keyboard.press("/")
    await expect(page.locator("#query")).to_be_focused()
    await page.keyboard.type(query)
    await page.keyboard.press("Enter")
    await expect(page.locator("#results-title")).to_be_focused()


async def test_search_shows_the_memory_and_the_strategies_that_found_it(
    gateway: Client, tmp_path: Path
) -> None:
    async with gateway(console_config(tmp_path)) as client, browser_page(str(client.base_url)) as page:
        ids = await seed(client)
        await sign_in(page, ALICE_KEY, "user:alice")
        await _search(page, "Where did Caroline move from Sweden?")

        top = page.locator("table:has(caption:text('Fused hits')) tbody tr").first
        await expect(top).to_have_attribute("data-memory-id", ids["caroline"])
        await expect(top.locator(".hit-link")).to_have_text(CAROLINE)
        await expect(top.locator(".badge.strategy", has_text="vector")).to_be_visible()
        await expect(top.locator(".badge.strategy", has_text="fulltext")).to_be_visible()
        await expect(top.locator(".badge.strategy", has_text="graph")).to_be_visible()  # via "Caroline"

        for strategy in ("vector", "fulltext", "graph"):  # the trace: each ran, with its timing
            row = page.locator(f"tr[data-strategy='{strategy}']")
            await expect(row).to_contain_text("ran")
            await expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\d+\.\d ms$"))
        ranks = page.locator("table:has(caption:text('Rank of each fused hit')) tbody tr").first
        await expect(ranks).to_contain_text("#1")  # the fused winner is first in some strategy
        await expect(page.locator("svg.chart rect.bar.strategy")).to_have_count(
            await page.locator("tr[data-strategy]").count()
        )
        await snapshot(page, "search")

        # Strategies can be switched off: only full text answers now.
        await page.locator("input[name=strategy][value=vector]").uncheck()
        await page.locator("input[name=strategy][value=graph]").uncheck()
        await page.locator("input[name=strategy][value=temporal]").uncheck()
        await page.locator("#query").press("Enter")
        await expect(page.locator("tr[data-strategy]")).to_have_count(1)
        await expect(page.locator("tr[data-strategy='fulltext']")).to_be_visible()
        await expect(top.locator(".badge.strategy")).to_have_text(["fulltext"])


async def test_forget_from_the_memory_page_removes_it_from_search(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client, browser_page(str(client.base_url)) as page:
        ids = await seed(client)
        await sign_in(page, ALICE_KEY, "user:alice")
        await _search(page, "Caroline Sweden Lisbon")
        await page.locator(f"tr[data-memory-id='{ids['caroline']}'] .hit-link").click()

        await expect(page.locator("h1")).to_contain_text(ids["caroline"])
        await expect(page.locator(".memory-text")).to_have_text(CAROLINE)
        entities = page.locator("ul.entities li")
        await expect(entities.filter(has_text="Caroline")).to_have_count(1)
        await expect(entities.filter(has_text="Lisbon")).to_have_count(1)
        neighbour = page.locator("table:has(caption:text('Memories sharing an entity')) tbody tr")
        await expect(neighbour).to_have_count(1)  # the cat memory shares "Caroline"
        await expect(neighbour).to_contain_text("Oscar")
        await expect(page.locator(".facts")).to_contain_text("API call")  # retained through the API
        audit = page.locator("table:has(caption:text('Audit trail')) tbody tr")
        await expect(audit).to_have_count(1)
        await expect(audit).to_contain_text("retain")
        await expect(audit).to_contain_text("user:alice")
        await snapshot(page, "memory")

        # Cancel keeps it; confirming forgets it. The dialog opens with focus on Cancel.
        await page.locator("#forget").click()
        await expect(page.locator("#forget-dialog button[value=cancel]")).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(page.locator("#forget")).to_be_focused()
        await page.locator("#forget").click()
        await page.locator("#confirm-forget").click()
        await expect(page.locator("h1")).to_have_text("Memory forgotten")

        await _search(page, "Caroline Sweden Lisbon")
        hits = page.locator("table:has(caption:text('Fused hits')) tbody tr")
        await expect(hits.first).to_be_visible()
        await expect(page.locator(f"tr[data-memory-id='{ids['caroline']}']")).to_have_count(0)
        recall = await client.post(
            "/v1/recall",
            json={"query": "Caroline Sweden Lisbon", "bank_id": "user-alice"},
            headers=key(ALICE_KEY),
        )
        assert ids["caroline"] not in [hit["memory_id"] for hit in recall.json()["hits"]]

        # The memory page of a forgotten memory is gone too, and its trail shows in the audit log.
        await page.goto(f"/ui/#/banks/user-alice/memories/{ids['caroline']}")
        await expect(page.locator("h1")).to_have_text("Not found")


async def test_a_bank_the_user_may_not_read_is_neither_listed_nor_reachable(
    gateway: Client, tmp_path: Path
) -> None:
    async with gateway(console_config(tmp_path)) as client, browser_page(str(client.base_url)) as page:
        ids = await seed(client)
        await sign_in(page, ALICE_KEY, "user:alice")

        await expect(page.locator("h1")).to_have_text("Banks")
        await expect(page.locator("tr[data-bank]")).to_have_count(1)
        await expect(page.locator("tr[data-bank='user-alice']")).to_contain_text("4")  # memories
        await expect(page.locator("body")).not_to_contain_text("user-bob")
        await snapshot(page, "banks")

        for url in ("/ui/#/banks/user-bob", f"/ui/#/banks/user-bob/memories/{ids['bob']}"):
            await page.goto(url)
            await expect(page.locator("h1")).to_have_text("Not found")
            await expect(page.locator("[role=alert]")).to_have_text("no bank 'user-bob' that you may read")
            await expect(page.locator("body")).not_to_contain_text("flowerpot")

        await page.goto("/ui/#/search?bank=user-bob&q=spare%20key")
        await expect(page.locator("#bank option")).to_have_text(["user-alice"])
        await expect(page.locator("[role=alert]")).to_contain_text("lacks 'read' permission")
        await expect(page.locator("body")).not_to_contain_text("flowerpot")

        await page.goto("/ui/#/ingest")  # only the source writing into alice's own bank
        await expect(page.locator("tr[data-source]")).to_have_count(1)
        await expect(page.locator("tr[data-source='crm-webhook']")).to_contain_text("healthy")


async def test_ingest_page_and_keyboard_use(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client, browser_page(str(client.base_url)) as page:
        await seed(client)
        delivered = await deliver_webhook(client, "crm-webhook", "Caroline renewed her pottery studio lease.")
        assert delivered.status_code == 200, delivered.text
        await sign_in(page, ADMIN_KEY, "service:ops")
        await page.keyboard.press("g")
        await page.keyboard.press("i")
        await expect(page.locator("h1")).to_have_text("Ingest")
        await expect(page.locator("h1")).to_be_focused()  # focus follows the route
        await expect(page.locator("tr[data-source]")).to_have_count(2)  # admins see every source
        await expect(page.locator("tr[data-source='team-feed']")).to_contain_text("from message")
        crm = page.locator("tr[data-source='crm-webhook'] td")
        await expect(crm.nth(6)).to_have_text("1")  # retained
        await expect(crm.nth(9)).to_have_text("0")  # dead-lettered
        await expect(crm.nth(10)).to_have_text(re.compile(r"s ago$"))  # last success

        await page.keyboard.press("?")
        await expect(page.locator("#help")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#help")).to_be_hidden()

        await page.goto("/ui/#/banks")  # a fresh load: Tab reaches the skip link first, then the nav
        await expect(page.locator("h1")).to_have_text("Banks")
        await page.locator("body").focus()
        await page.keyboard.press("Tab")
        await expect(page.locator(".skip-link")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(page.locator("a[data-nav=banks]")).to_be_focused()

        await page.locator("button", has_text="Sign out").click()
        await expect(page.locator("#token")).to_be_focused()
        assert await page.evaluate("sessionStorage.length") == 0


async def test_a_rejected_credential_returns_to_sign_in(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client, browser_page(str(client.base_url)) as page:
        await page.goto("/ui/")
        await page.fill("#token", "not-a-key-0123456789")
        await page.keyboard.press("Enter")
        await expect(page.locator("[role=alert]")).to_contain_text("API key not recognised")
        await expect(page.locator("#token")).to_be_focused()
        response = await client.get("/v1/console/banks")
        assert response.status_code == 401
        assert isinstance(response, httpx.Response)


REDIS_URL = os.environ.get("ASTROCYTE_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_stream() -> AsyncIterator[tuple[redis_async.Redis, str]]:
    client = redis_async.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"redis not reachable at {REDIS_URL}: {exc}")
    stream = f"astrocyte-console-{uuid.uuid4().hex}"
    yield client, stream
    await client.delete(stream, f"{stream}:dead-letter")
    await client.aclose()


@pytest.mark.backend("redis")
async def test_ingest_page_shows_a_running_stream_source_with_lag_and_dead_letter(
    gateway: Client, tmp_path: Path, redis_stream: tuple[redis_async.Redis, str]
) -> None:
    client_redis, stream = redis_stream
    await client_redis.xadd(stream, {"body": b'{"content": "Printer jams on page two."}'})
    await client_redis.xadd(stream, {"body": b'{"no_content": true}'})  # poison: dead-lettered
    config = console_config(tmp_path)
    config["sources"]["tickets"] = {
        "type": "stream",
        "driver": "redis",
        "target_bank": "user-alice",
        "max_attempts": 1,
        "config": {"url": REDIS_URL, "stream": stream, "block_ms": 100},
    }
    config["banks"]["user-alice"]["writers"].append("service:ingest-tickets")
    async with gateway(config) as client, browser_page(str(client.base_url)) as page:
        await sign_in(page, ADMIN_KEY, "service:ops")
        await page.goto("/ui/#/ingest")
        row = page.locator("tr[data-source='tickets']")
        await expect(row).to_be_visible()
        cells = row.locator("td")
        for _ in range(100):  # the consumer works in the background: reload until it caught up
            if await cells.nth(9).text_content() == "1":
                break
            await page.keyboard.press("r")
            await page.wait_for_timeout(100)
        await expect(cells.nth(2)).to_have_text("redis")
        await expect(cells.nth(4)).to_have_text("healthy")
        await expect(cells.nth(5)).to_have_text("0")  # lag: the group has read everything
        await expect(cells.nth(6)).to_have_text("1")  # retained
        await expect(cells.nth(9)).to_have_text("1")  # the poison message sits in the dead letter
        await expect(cells.nth(11)).to_contain_text("IngestPayloadError")
        await snapshot(page, "ingest")

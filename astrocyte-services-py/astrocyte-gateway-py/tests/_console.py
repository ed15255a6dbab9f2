"""Helpers of the console tests: a gateway config over the embedded SQLite store, seeded memories,
and headless Debian chromium driven by Playwright (it never downloads a browser)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _gateway import ALICE_KEY, BOB_KEY, WEBHOOK_SECRET, base_config, key
from playwright.async_api import Page, async_playwright, expect

from astrocyte.ingest import sign_webhook

CHROMIUM = Path(os.environ.get("ASTROCYTE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Set to a folder to keep a PNG of every page the browser tests visit.
SCREENSHOTS = os.environ.get("ASTROCYTE_CONSOLE_SCREENSHOTS")

CAROLINE = "Caroline moved from Sweden to Lisbon in 2019 and teaches pottery there."
OTHERS = [
    "Caroline adopted a cat named Oscar last spring.",
    "Melanie runs a bakery in Porto and bakes sourdough on Sundays.",
    "The quarterly report is due on Friday.",
]
BOB_SECRET = "Bob keeps his spare key under the blue flowerpot."

expect.set_options(timeout=10_000)


def console_config(tmp_path: Path) -> dict[str, Any]:
    """The gateway test config (alice, bob, an admin) over one embedded SQLite file, with a webhook
    source writing into alice's bank."""
    db = str(tmp_path / "memory.db")
    config = base_config()
    config.update(
        {
            "vector_store": "sqlite",
            "vector_store_config": {"path": db},
            "document_store": "sqlite",
            "document_store_config": {"path": db},
            "graph_store": "sqlite",
            "graph_store_config": {"path": db},
            # The webhook writes as service:ingest-<source id> (standalone mode needs an identity).
            "banks": {"user-alice": {"writers": ["service:ingest-crm-webhook"]}},
            "sources": {
                "crm-webhook": {"type": "webhook", "target_bank": "user-alice", "secret": WEBHOOK_SECRET},
                "team-feed": {
                    "type": "webhook",
                    "target_bank_template": "team-{team}",
                    "secret": WEBHOOK_SECRET,
                },
            },
        }
    )
    return config


async def seed(client: httpx.AsyncClient) -> dict[str, str]:
    """Alice's memories and one of Bob's, through the API; returns ids by name."""
    ids: dict[str, str] = {}
    for name, text, who, bank, tags in [
        ("caroline", CAROLINE, ALICE_KEY, "user-alice", ["travel"]),
        *[(f"other{i}", t, ALICE_KEY, "user-alice", []) for i, t in enumerate(OTHERS)],
        ("bob", BOB_SECRET, BOB_KEY, "user-bob", []),
    ]:
        body = {"content": text, "bank_id": bank, "tags": tags}
        response = await client.post("/v1/retain", json=body, headers=key(who))
        assert response.status_code == 200, response.text
        ids[name] = response.json()["memory_ids"][0]
    return ids


async def deliver_webhook(client: httpx.AsyncClient, source_id: str, content: str) -> httpx.Response:
    """One signed delivery, as a sender would make it."""
    body = json.dumps({"content": content}).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Astrocyte-Timestamp": stamp,
        "X-Astrocyte-Signature": sign_webhook(WEBHOOK_SECRET, stamp, body),
    }
    return await client.post(f"/v1/ingest/webhook/{source_id}", content=body, headers=headers)


@asynccontextmanager
async def browser_page(base_url: str) -> AsyncIterator[Page]:
    """A fresh laptop-sized page on ``base_url``; uncaught script errors fail the test."""
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 820})
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert not errors, f"script errors in the console: {errors}"
        finally:
            await browser.close()


async def sign_in(page: Page, api_key: str, principal: str) -> None:
    await page.goto("/ui/")
    await expect(page.locator("#token")).to_be_focused()  # the credential field takes focus on load
    await page.keyboard.type(api_key)
    await page.keyboard.press("Enter")
    await expect(page.locator("#principal")).to_have_text(principal)


async def snapshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)

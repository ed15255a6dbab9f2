"""The console's JSON endpoints and static files over a real gateway (uvicorn on loopback, SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _console import BOB_SECRET, CAROLINE, console_config, deliver_webhook, seed
from _gateway import ADMIN_KEY, ALICE_KEY, BOB_KEY, Client, key

ENDPOINTS = [
    "/v1/console/whoami",
    "/v1/console/banks",
    "/v1/console/sources",
    "/v1/console/banks/user-alice/memories",
]


async def test_every_console_endpoint_needs_the_api_credential(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client:
        for path in [*ENDPOINTS, "/v1/console/banks/user-alice/memories/mem_x"]:
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "missing_credentials"


async def test_banks_lists_only_readable_banks_with_counts_and_last_write(
    gateway: Client, tmp_path: Path
) -> None:
    async with gateway(console_config(tmp_path)) as client:
        await seed(client)
        alice = (await client.get("/v1/console/banks", headers=key(ALICE_KEY))).json()
        bob = (await client.get("/v1/console/banks", headers=key(BOB_KEY))).json()
    [bank] = alice["banks"]
    assert bank["bank_id"] == "user-alice" and bank["memory_count"] == 4
    assert bank["size_bytes"] > len(CAROLINE) and bank["last_write"] is not None
    assert bank["permissions"] == ["forget", "read", "write"]
    assert [b["bank_id"] for b in bob["banks"]] == ["user-bob"]
    assert {(s["kind"], s["provider"], s["healthy"]) for s in alice["stores"]} == {
        ("vector", "sqlite", True),
        ("document", "sqlite", True),
        ("graph", "sqlite", True),
    }
    assert alice["recall_strategies"] == ["vector", "fulltext", "graph", "temporal"]


async def test_another_users_bank_answers_like_a_missing_one(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client:
        ids = await seed(client)
        paths = [
            "/v1/console/banks/user-bob/memories",
            f"/v1/console/banks/user-bob/memories/{ids['bob']}",
            "/v1/console/banks/no-such-bank/memories",
        ]
        for path in paths:
            response = await client.get(path, headers=key(ALICE_KEY))
            assert response.status_code == 404, path
            assert BOB_SECRET not in response.text
        missing = await client.get("/v1/console/banks/no-such-bank/memories", headers=key(ALICE_KEY))
        denied = await client.get("/v1/console/banks/user-bob/memories", headers=key(ALICE_KEY))
        assert missing.json()["detail"].replace("no-such-bank", "X") == denied.json()["detail"].replace(
            "user-bob", "X"
        )
        own = await client.get(f"/v1/console/banks/user-bob/memories/{ids['bob']}", headers=key(BOB_KEY))
        assert own.status_code == 200 and own.json()["text"] == BOB_SECRET


async def test_memory_pages_are_newest_first_and_validate_paging(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client:
        ids = await seed(client)
        page = (
            await client.get("/v1/console/banks/user-alice/memories?offset=1&limit=2", headers=key(ALICE_KEY))
        ).json()
        assert page["total"] == 4
        assert [m["memory_id"] for m in page["memories"]] == [ids["other1"], ids["other0"]]
        for query, field in [("offset=-1", "offset"), ("limit=0", "limit"), ("limit=501", "limit")]:
            response = await client.get(
                f"/v1/console/banks/user-alice/memories?{query}", headers=key(ALICE_KEY)
            )
            assert response.status_code == 422, query
            assert response.json()["errors"][0]["field"] == field


async def test_memory_detail_has_entities_neighbours_origin_and_audit_trail(
    gateway: Client, tmp_path: Path
) -> None:
    async with gateway(console_config(tmp_path)) as client:
        ids = await seed(client)
        delivered = await deliver_webhook(client, "crm-webhook", "Caroline renewed her pottery studio lease.")
        [webhook_id] = delivered.json()["memory_ids"]
        detail = (
            await client.get(
                f"/v1/console/banks/user-alice/memories/{ids['caroline']}", headers=key(ALICE_KEY)
            )
        ).json()
        assert detail["text"] == CAROLINE and detail["tags"] == ["travel"]
        assert detail["source"] == {"kind": "api", "name": None}
        assert {e["name"] for e in detail["entities"]} >= {"Caroline", "Sweden", "Lisbon"}
        neighbours = {n["memory_id"]: n["via_entity"] for n in detail["neighbours"]}
        assert neighbours == {ids["other0"]: "Caroline", webhook_id: "Caroline"}
        assert [(e["action"], e["principal"]) for e in detail["audit"]] == [("retain", "user:alice")]

        from_webhook = (
            await client.get(f"/v1/console/banks/user-alice/memories/{webhook_id}", headers=key(ALICE_KEY))
        ).json()
        assert from_webhook["source"] == {"kind": "webhook", "name": "crm-webhook"}
        assert from_webhook["audit"][0]["principal"] == "service:ingest-crm-webhook"

        # A refused forget and a successful one both land in the memory's trail.
        refused = await client.post(
            "/v1/forget",
            json={"bank_id": "user-alice", "memory_ids": [ids["caroline"]]},
            headers=key(BOB_KEY),
        )
        assert refused.status_code == 403
        done = await client.post(
            "/v1/forget",
            json={"bank_id": "user-alice", "memory_ids": [ids["other0"]]},
            headers=key(ALICE_KEY),
        )
        assert done.status_code == 200
        detail = (
            await client.get(
                f"/v1/console/banks/user-alice/memories/{ids['caroline']}", headers=key(ALICE_KEY)
            )
        ).json()
        assert [(e["action"], e["result"], e["principal"]) for e in detail["audit"]] == [
            ("retain", "ok", "user:alice"),
            ("forget", "access_denied", "user:bob"),
        ]
        assert ids["other0"] not in {n["memory_id"] for n in detail["neighbours"]}
        gone = await client.get(
            f"/v1/console/banks/user-alice/memories/{ids['other0']}", headers=key(ALICE_KEY)
        )
        assert gone.status_code == 404 and gone.json()["code"] == "not_found"


async def test_sources_are_scoped_to_readable_banks_unless_admin(gateway: Client, tmp_path: Path) -> None:
    async with gateway(console_config(tmp_path)) as client:
        await deliver_webhook(client, "crm-webhook", "Caroline renewed her pottery studio lease.")
        alice = (await client.get("/v1/console/sources", headers=key(ALICE_KEY))).json()["sources"]
        bob = (await client.get("/v1/console/sources", headers=key(BOB_KEY))).json()["sources"]
        admin = (await client.get("/v1/console/sources", headers=key(ADMIN_KEY))).json()["sources"]
        who = (await client.get("/v1/console/whoami", headers=key(ADMIN_KEY))).json()
    assert [s["source_id"] for s in alice] == ["crm-webhook"] and bob == []
    assert sorted(s["source_id"] for s in admin) == ["crm-webhook", "team-feed"]
    crm = alice[0]
    assert (crm["type"], crm["bank"], crm["healthy"], crm["retained"], crm["dead_lettered"]) == (
        "webhook",
        "user-alice",
        True,
        1,
        0,
    )
    assert crm["last_success_at"] is not None
    assert who == {"principal": "service:ops", "admin": True}


@pytest.mark.parametrize(
    "path", ["/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/nope.js", "/ui/js/../../router.py"]
)
async def test_ui_serves_only_its_own_files(gateway: Client, tmp_path: Path, path: str) -> None:
    async with gateway(console_config(tmp_path)) as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert "import" not in response.text


async def test_ui_shell_is_served_with_a_strict_content_security_policy(
    gateway: Client, tmp_path: Path
) -> None:
    async with gateway(console_config(tmp_path)) as client:
        redirect = await client.get("/ui")
        shell = await client.get("/ui/")
        script = await client.get("/ui/js/app.js")
    assert redirect.status_code == 308 and redirect.headers["location"].endswith("ui/")
    assert shell.status_code == 200 and "<main" in shell.text
    assert "script-src 'self'" in shell.headers["content-security-policy"]
    assert "http" not in shell.text.replace("http-equiv", "")  # no CDN, no external asset
    assert script.headers["content-type"].startswith("text/javascript")

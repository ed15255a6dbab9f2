"""The four verbs through a real uvicorn server: round trip, bank isolation, problem+json."""

from __future__ import annotations

from _gateway import ALICE_KEY, BOB_KEY, Client, key


async def test_retain_recall_reflect_forget_round_trip(gateway: Client) -> None:
    async with gateway() as client:
        retained = await client.post(
            "/v1/retain",
            json={"content": "Alice moved to Lisbon in May 2023.", "bank_id": "user-alice"},
            headers=key(ALICE_KEY),
        )
        assert retained.status_code == 200, retained.text
        memory_ids = retained.json()["memory_ids"]
        assert memory_ids
        recalled = await client.post(
            "/v1/recall",
            json={"query": "Where does Alice live?", "bank_id": "user-alice"},
            headers=key(ALICE_KEY),
        )
        assert recalled.status_code == 200
        assert recalled.json()["hits"][0]["memory_id"] == memory_ids[0]
        reflected = await client.post(
            "/v1/reflect", json={"query": "Where does Alice live?"}, headers=key(ALICE_KEY)
        )
        assert reflected.status_code == 200
        assert "Lisbon" in reflected.json()["answer"]
        forgotten = await client.post(
            "/v1/forget", json={"bank_id": "user-alice", "all": True}, headers=key(ALICE_KEY)
        )
        assert forgotten.status_code == 200
        assert forgotten.json()["deleted_count"] == len(memory_ids)


async def test_bank_isolation_between_two_principals(gateway: Client) -> None:
    async with gateway() as client:
        await client.post(
            "/v1/retain",
            json={"content": "Alice's PIN hint is kestrel.", "bank_id": "user-alice"},
            headers=key(ALICE_KEY),
        )
        for path, body in (
            ("/v1/recall", {"query": "PIN hint", "bank_id": "user-alice"}),
            ("/v1/reflect", {"query": "PIN hint", "bank_id": "user-alice"}),
            ("/v1/retain", {"content": "overwrite", "bank_id": "user-alice"}),
            ("/v1/forget", {"bank_id": "user-alice", "all": True}),
        ):
            denied = await client.post(path, json=body, headers=key(BOB_KEY))
            assert denied.status_code == 403, (path, denied.text)
            assert denied.headers["content-type"] == "application/problem+json"
            assert denied.json()["code"] == "access_denied"
        own = await client.post("/v1/recall", json={"query": "PIN hint"}, headers=key(BOB_KEY))
        assert own.status_code == 200
        assert own.json()["hits"] == []
        still = await client.post(
            "/v1/recall", json={"query": "PIN hint", "bank_id": "user-alice"}, headers=key(ALICE_KEY)
        )
        assert "kestrel" in still.json()["hits"][0]["text"]

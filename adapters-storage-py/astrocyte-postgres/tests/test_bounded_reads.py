"""Full-text and graph reads stay bounded on common words and much-mentioned entities, and keep the
best candidates when they cap; the graph v1 → v2 migration keeps stored mentions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from astrocyte_postgres import PostgresDocumentStore, PostgresGraphStore, _schema

from astrocyte.types import Document, Entity, MemoryEntityAssociation

pytestmark = pytest.mark.backend("postgres")

_BANK = "bank-a"


@pytest.fixture
async def documents(postgres_dsn: str, postgres_schema: str) -> AsyncIterator[PostgresDocumentStore]:
    store = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema, rank_cap=20)
    yield store
    await store.close()


async def test_capped_full_text_keeps_the_documents_with_every_word(documents: PostgresDocumentStore) -> None:
    # 60 documents per common word, 3 with all of them: far past rank_cap, the 3 must still lead.
    docs = [
        Document(id=f"{word}{i}", text=f"{word} filler text {i}")
        for word in ("alice", "berlin")
        for i in range(60)
    ]
    docs += [Document(id=f"both{i}", text=f"alice in berlin {i}") for i in range(3)]
    await documents.store_documents(docs, _BANK)
    hits = await documents.search_fulltext("alice berlin", _BANK, limit=5)
    assert sorted(h.id for h in hits[:3]) == ["both0", "both1", "both2"]
    assert len(hits) == 5


async def test_candidate_cap_never_cuts_below_the_limit(documents: PostgresDocumentStore) -> None:
    await documents.store_documents([Document(id=f"d{i}", text=f"zeppelin {i}") for i in range(50)], _BANK)
    assert len(await documents.search_fulltext("zeppelin", _BANK, limit=40)) == 40


async def test_much_mentioned_entity_contributes_its_newest_mentions(
    postgres_dsn: str, postgres_schema: str
) -> None:
    store = PostgresGraphStore(dsn=postgres_dsn, schema=postgres_schema, mention_cap=3)
    try:
        await store.store_entities([Entity(id="alice", name="Alice"), Entity(id="bob", name="Bob")], _BANK)
        for i in range(6):  # one write each, so write order is known
            await store.link_memories_to_entities(
                [MemoryEntityAssociation(memory_id=f"m{i}", entity_id="alice")], _BANK
            )
        await store.link_memories_to_entities(
            [MemoryEntityAssociation(memory_id="m0", entity_id="bob")], _BANK
        )
        hits = await store.query_neighbors(["alice"], _BANK, max_depth=0, limit=10)
        assert sorted(h.memory_id for h in hits) == ["m3", "m4", "m5"]
        both = await store.query_neighbors(["alice", "bob"], _BANK, max_depth=0, limit=10)
        assert {h.memory_id for h in both} == {"m0", "m3", "m4", "m5"}
    finally:
        await store.close()


async def test_graph_v2_migration_keeps_v1_mentions(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setitem(_schema.MIGRATIONS, "graph", _schema.MIGRATIONS["graph"][:1])
        v1 = PostgresGraphStore(dsn=postgres_dsn, schema=postgres_schema, migrate_on_start=False)
        try:
            assert await v1.migrate() == [f"{postgres_schema}.graph v1"]
            await v1.store_entities([Entity(id="alice", name="Alice")], _BANK)
            mentions = [MemoryEntityAssociation(memory_id=f"m{i}", entity_id="alice") for i in range(3)]
            assert await v1.link_memories_to_entities(mentions, _BANK) == 3
        finally:
            await v1.close()
    v2 = PostgresGraphStore(dsn=postgres_dsn, schema=postgres_schema, migrate_on_start=False)
    try:
        assert await v2.migrate() == [f"{postgres_schema}.graph v2"]
        hits = await v2.query_neighbors(["alice"], _BANK, max_depth=0)
        assert sorted(h.memory_id for h in hits) == ["m0", "m1", "m2"]
    finally:
        await v2.close()

"""Full-text and graph reads stay bounded on common words and much-mentioned entities, and keep the
best candidates when they cap; migrations keep what was stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from astrocyte_postgres import PostgresDocumentStore, PostgresGraphStore, _schema

from astrocyte.types import Document, Entity, EntityLink, MemoryEntityAssociation

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


async def test_no_more_matches_than_the_cap_ranks_them_all(documents: PostgresDocumentStore) -> None:
    # 20 distinct matches, 15 of them with both words: every one is ranked, none lost to repeats.
    docs = [Document(id=f"both{i}", text=f"alice in berlin {i}") for i in range(15)]
    docs += [Document(id=f"alice{i}", text=f"alice alone {i}") for i in range(4)]
    docs += [Document(id="berlin", text="berlin alone")]
    await documents.store_documents(docs, _BANK)
    hits = await documents.search_fulltext("alice berlin", _BANK, limit=50)
    assert sorted(h.id for h in hits) == sorted(d.id for d in docs)
    assert {h.id for h in hits[:15]} == {f"both{i}" for i in range(15)}


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


async def test_hub_entity_follows_its_heaviest_links_in_either_direction(
    postgres_dsn: str, postgres_schema: str
) -> None:
    store = PostgresGraphStore(dsn=postgres_dsn, schema=postgres_schema, link_cap=3)
    try:
        weights = {"s1": 0.9, "s2": 0.8, "s3": 0.7, "s4": 0.6, "s5": 0.5}
        links = [  # the hub is the source of odd spokes' links and the target of even ones'
            EntityLink(source_id="hub", target_id=s, relation="knows", weight=w)
            if int(s[1]) % 2
            else EntityLink(source_id=s, target_id="hub", relation="knows", weight=w)
            for s, w in weights.items()
        ]
        await store.store_links(links, _BANK)
        await store.link_memories_to_entities(
            [MemoryEntityAssociation(memory_id=f"m-{e}", entity_id=e) for e in ["hub", *weights]], _BANK
        )
        hits = await store.query_neighbors(["hub"], _BANK, max_depth=1, limit=10)
        assert [h.memory_id for h in hits] == ["m-hub", "m-s1", "m-s2", "m-s3"]
        # A spoke reaches the hub, and from there (depth 2) the hub's three heaviest links.
        hits = await store.query_neighbors(["s5"], _BANK, max_depth=2, limit=10)
        assert [h.memory_id for h in hits] == ["m-s5", "m-hub", "m-s1", "m-s2", "m-s3"]
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


def _term_statistics(dsn: str, schema: str) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """(kept statistics without zero rows, the same recounted from the documents themselves)."""
    with psycopg.connect(dsn, options=f"-c search_path={schema},public") as conn:
        kept = conn.execute(
            "SELECT bank_id, lexeme, df FROM astrocyte_document_terms WHERE df <> 0"
        ).fetchall()
        recounted = conn.execute(
            "SELECT d.bank_id, l.lexeme, count(*) FROM astrocyte_documents d,"
            " unnest(tsvector_to_array(d.search)) AS l(lexeme) GROUP BY 1, 2"
        ).fetchall()
    return {(b, w): int(n) for b, w, n in kept}, {(b, w): int(n) for b, w, n in recounted}


async def test_term_statistics_follow_upserts_and_deletes(
    documents: PostgresDocumentStore, postgres_dsn: str, postgres_schema: str
) -> None:
    await documents.store_documents(
        [Document(id=f"d{i}", text=f"zeppelin lake {i % 3}") for i in range(9)], _BANK
    )
    await documents.store_documents([Document(id="d0", text="glider over the lake")], "bank-b")
    # Replace texts (one twice in a batch), add new ones, delete known and unknown ids.
    await documents.store_documents(
        [
            Document(id="d1", text="glider glider meadow"),
            Document(id="d2", text="first version"),
            Document(id="d2", text="balloon meadow"),
            Document(id="d9", text="zeppelin meadow"),
        ],
        _BANK,
    )
    assert await documents.delete(["d3", "d4", "ghost"], _BANK) == 2
    kept, recounted = _term_statistics(postgres_dsn, postgres_schema)
    assert kept == recounted
    assert kept[(_BANK, "zeppelin")] == 6 and kept[(_BANK, "meadow")] == 3


async def test_document_v2_migration_counts_v1_documents(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setitem(_schema.MIGRATIONS, "document", _schema.MIGRATIONS["document"][:1])
        v1 = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema, migrate_on_start=False)
        try:
            assert await v1.migrate() == [f"{postgres_schema}.document v1"]
            async with v1._connection() as conn:  # a v1 writer knew nothing of term statistics
                await conn.execute(
                    "INSERT INTO astrocyte_documents (bank_id, id, text, search) SELECT %s, 'd' || i, 'zeppelin',"
                    " to_tsvector('english', 'zeppelin lake') FROM generate_series(1, 3) AS i",
                    (_BANK,),
                )
                await conn.execute("INSERT INTO astrocyte_document_banks VALUES (%s, 3)", (_BANK,))
        finally:
            await v1.close()
    v2 = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema, migrate_on_start=False)
    try:
        assert await v2.migrate() == [f"{postgres_schema}.document v{v}" for v in (2, 3, 4)]
        kept, recounted = _term_statistics(postgres_dsn, postgres_schema)
        assert kept == recounted == {(_BANK, "zeppelin"): 3, (_BANK, "lake"): 3}
        assert len(await v2.search_fulltext("zeppelin", _BANK)) == 3
        # v3 numbered the v1 rows in table order; later writes follow them.
        await v2.store_documents([Document(id="d4", text="after the upgrade")], _BANK)
        found = await v2.get_neighbors(["d3"], _BANK, window=1)
        assert [(n.offset, n.document.id) for n in found["d3"]] == [(-1, "d2"), (1, "d4")]
    finally:
        await v2.close()


async def test_document_v4_migration_moves_pending_entries_into_the_index(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setitem(_schema.MIGRATIONS, "document", _schema.MIGRATIONS["document"][:3])
        v3 = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema)
        try:  # a v3 index takes these into its pending list
            await v3.store_documents([Document(id=f"d{i}", text=f"zeppelin {i}") for i in range(5)], _BANK)
        finally:
            await v3.close()
    v4 = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema, migrate_on_start=False)
    try:
        assert await v4.migrate() == [f"{postgres_schema}.document v4"]
        with psycopg.connect(postgres_dsn, options=f"-c search_path={postgres_schema},public") as conn:
            row = conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = 'astrocyte_documents_search'::regclass"
            )
            assert row.fetchone() == (["fastupdate=off"],)
        assert len(await v4.search_fulltext("zeppelin", _BANK)) == 5
    finally:
        await v4.close()


async def test_full_text_search_reuses_one_generic_plan(postgres_dsn: str, postgres_schema: str) -> None:
    store = PostgresDocumentStore(dsn=postgres_dsn, schema=postgres_schema, max_pool_size=1)
    try:
        await store.store_documents(
            [Document(id=f"d{i}", text=f"alice in berlin {i}") for i in range(9)], _BANK
        )
        for query in ("alice berlin", "berlin alice", "alice ghost berlin"):  # two words found each time
            assert len(await store.search_fulltext(query, _BANK, limit=5)) == 5
        async with store._connection() as conn:  # the pool's only connection: the one that searched
            cursor = await conn.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%ts_rank_cd%'"
            )
            assert await cursor.fetchall() == [(3, 0)]
    finally:
        await store.close()

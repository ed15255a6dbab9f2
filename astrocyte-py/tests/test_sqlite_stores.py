"""The embedded SQLite stores: contract suites plus what is specific to SQLite (files, WAL, cache,
schema versions, concurrency, closing)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from astrocyte.errors import DimensionMismatchError, StoreError
from astrocyte.stores._filters import cosine_scores, matches_filters
from astrocyte.stores.sqlite import SqliteDocumentStore, SqliteGraphStore, SqliteVectorStore
from astrocyte.testing import (
    BatchSimilaritySearchContract,
    DocumentStoreContract,
    GraphStoreContract,
    NeighborLookupContract,
    VectorStoreContract,
)
from astrocyte.types import (
    Document,
    Entity,
    EntityLink,
    MemoryEntityAssociation,
    TimeRange,
    VectorFilters,
    VectorItem,
)

# --------------------------------------------------------------------------- contract suites


class TestSqliteVectorStoreContract(VectorStoreContract, BatchSimilaritySearchContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteVectorStore]:
        instance = SqliteVectorStore(path=tmp_path / "contract.db")
        yield instance
        await instance.close()


class TestSqliteVectorStoreInMemoryContract(VectorStoreContract, BatchSimilaritySearchContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[SqliteVectorStore]:
        instance = SqliteVectorStore(path=":memory:")
        yield instance
        await instance.close()


class TestSqliteGraphStoreContract(GraphStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteGraphStore]:
        instance = SqliteGraphStore(path=tmp_path / "contract.db")
        yield instance
        await instance.close()


class TestSqliteDocumentStoreContract(DocumentStoreContract, NeighborLookupContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
        instance = SqliteDocumentStore(path=tmp_path / "contract.db")
        yield instance
        await instance.close()


# --------------------------------------------------------------------------- helpers

BANK = "bank-a"
DIM = 8


def _item(item_id: str, vector: list[float], bank: str = BANK, **extra: object) -> VectorItem:
    return VectorItem.model_validate(
        {"id": item_id, "bank_id": bank, "vector": vector, "text": item_id, **extra}
    )


def _axis(index: int, dim: int = DIM) -> list[float]:
    vector = [0.0] * dim
    vector[index] = 1.0
    return vector


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
async def vectors(db_path: Path) -> AsyncIterator[SqliteVectorStore]:
    store = SqliteVectorStore(path=db_path)
    yield store
    await store.close()


@pytest.fixture
async def documents(db_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    store = SqliteDocumentStore(path=db_path)
    yield store
    await store.close()


@pytest.fixture
async def graph(db_path: Path) -> AsyncIterator[SqliteGraphStore]:
    store = SqliteGraphStore(path=db_path)
    yield store
    await store.close()


def _pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


# --------------------------------------------------------------------------- files, paths, schema


async def test_default_path_honours_astrocyte_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "nested" / "home"
    monkeypatch.setenv("ASTROCYTE_HOME", str(home))
    store = SqliteVectorStore()
    try:
        assert Path(store.path) == home / "memory.db"
        await store.store_vectors([_item("a", _axis(0))])
        assert (home / "memory.db").is_file()
    finally:
        await store.close()


async def test_default_home_is_dot_astrocyte_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASTROCYTE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    store = SqliteDocumentStore()
    try:
        assert Path(store.path).resolve() == (tmp_path / ".astrocyte" / "memory.db").resolve()
        assert (tmp_path / ".astrocyte").is_dir()
    finally:
        await store.close()


async def test_wal_mode_and_health_report_path(vectors: SqliteVectorStore, db_path: Path) -> None:
    assert str(_pragma(db_path, "journal_mode")).lower() == "wal"
    status = await vectors.health()
    assert status.healthy
    assert status.details["path"] == str(db_path)
    assert status.details["journal_mode"] == "wal"
    assert status.latency_ms is not None


async def test_three_stores_share_one_file(db_path: Path) -> None:
    v, d, g = (
        SqliteVectorStore(path=db_path),
        SqliteDocumentStore(path=db_path),
        SqliteGraphStore(path=db_path),
    )
    try:
        await v.store_vectors([_item("m1", _axis(0))])
        await d.store_documents([Document(id="m1", text="kayaking on the lake")], BANK)
        await g.store_entities([Entity(id="e1", name="Lake Tahoe")], BANK)
        await g.link_memories_to_entities([MemoryEntityAssociation(memory_id="m1", entity_id="e1")], BANK)
        assert [h.id for h in await v.search_similar(_axis(0), BANK)] == ["m1"]
        assert [h.id for h in await d.search_fulltext("kayaking", BANK)] == ["m1"]
        assert [h.memory_id for h in await g.query_neighbors(["e1"], BANK)] == ["m1"]
    finally:
        for store in (v, d, g):
            await store.close()
    conn = sqlite3.connect(db_path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = dict(conn.execute("SELECT component, version FROM astrocyte_schema").fetchall())
    finally:
        conn.close()
    assert {"vec_items", "doc_items", "graph_entities", "graph_links", "graph_mentions"} <= tables
    assert versions == {"vector": 1, "document": 2, "graph": 1}


async def test_everything_persists_across_reopen(db_path: Path) -> None:
    when = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    v, d, g = (
        SqliteVectorStore(path=db_path),
        SqliteDocumentStore(path=db_path),
        SqliteGraphStore(path=db_path),
    )
    await v.store_vectors([_item("m1", _axis(1), metadata={"k": [1, "x"]}, tags=["t"], occurred_at=when)])
    await d.store_documents([Document(id="m1", text="the blue heron", tags=["t"], occurred_at=when)], BANK)
    await g.store_entities([Entity(id="e1", name="Heron", aliases=["Ardea"])], BANK)
    await g.store_links([EntityLink(source_id="e1", target_id="e2", relation="eats", weight=0.5)], BANK)
    await g.link_memories_to_entities([MemoryEntityAssociation(memory_id="m1", entity_id="e2")], BANK)
    for store in (v, d, g):
        await store.close()

    v, d, g = (
        SqliteVectorStore(path=db_path),
        SqliteDocumentStore(path=db_path),
        SqliteGraphStore(path=db_path),
    )
    try:
        [item] = await v.list_vectors(BANK)
        assert (item.id, item.vector, item.metadata, item.tags, item.occurred_at) == (
            "m1",
            _axis(1),
            {"k": [1, "x"]},
            ["t"],
            when,
        )
        assert await v.list_banks() == [BANK]
        hit = (await d.search_fulltext("heron", BANK))[0]
        assert (hit.id, hit.tags, hit.occurred_at) == ("m1", ["t"], when)
        assert [e.aliases for e in await g.query_entities("ardea", BANK)] == [["Ardea"]]
        [neighbour] = await g.query_neighbors(["e1"], BANK)
        assert (neighbour.memory_id, neighbour.entity_id, neighbour.depth) == ("m1", "e2", 1)
    finally:
        for store in (v, d, g):
            await store.close()


async def test_newer_schema_version_is_refused(db_path: Path) -> None:
    store = SqliteGraphStore(path=db_path)
    await store.close()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE astrocyte_schema SET version = 99 WHERE component = 'graph'")
    conn.close()
    with pytest.raises(StoreError, match="version 99"):
        SqliteGraphStore(path=db_path)
    # Other components in the same file are unaffected.
    other = SqliteVectorStore(path=db_path)
    await other.close()


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError):
        SqliteVectorStore(path=tmp_path / "dir.db")


def test_spi_version_and_keyword_only_constructor() -> None:
    for cls in (SqliteVectorStore, SqliteGraphStore, SqliteDocumentStore):
        assert cls.SPI_VERSION == 1
        with pytest.raises(TypeError):
            cls(":memory:")  # type: ignore[misc]


# --------------------------------------------------------------------------- closing


async def test_closed_stores_raise_store_error(db_path: Path) -> None:
    v, d, g = (
        SqliteVectorStore(path=db_path),
        SqliteDocumentStore(path=db_path),
        SqliteGraphStore(path=db_path),
    )
    for store in (v, d, g):
        await store.close()
        await store.close()  # idempotent
        assert not (await store.health()).healthy
    calls = [
        v.store_vectors([_item("a", _axis(0))]),
        v.search_similar(_axis(0), BANK),
        v.delete(["a"], BANK),
        v.list_vectors(BANK),
        v.list_banks(),
        d.store_documents([Document(id="a", text="x")], BANK),
        d.search_fulltext("x", BANK),
        d.get_document("a", BANK),
        d.delete(["a"], BANK),
        g.store_entities([Entity(id="a", name="A")], BANK),
        g.store_links([EntityLink(source_id="a", target_id="b")], BANK),
        g.link_memories_to_entities([MemoryEntityAssociation(memory_id="m", entity_id="a")], BANK),
        g.query_neighbors(["a"], BANK),
        g.query_entities("a", BANK),
        g.delete_memories(["m"], BANK),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="closed"):
            await call


# --------------------------------------------------------------------------- vectors


async def test_search_sees_upsert_delete_and_append(vectors: SqliteVectorStore) -> None:
    await vectors.store_vectors([_item(f"m{i}", _axis(i)) for i in range(4)])
    assert (await vectors.search_similar(_axis(0), BANK, limit=1))[0].id == "m0"  # cache built
    # Rewrite an existing id: m3 now points along axis 0 and must win.
    await vectors.store_vectors([_item("m3", [1.0, 0.0, 0, 0, 0, 0, 0, 0.001])])
    hits = await vectors.search_similar(_axis(0), BANK, limit=2)
    assert {h.id for h in hits} == {"m0", "m3"}
    # Delete: gone from search.
    assert await vectors.delete(["m0", "m3", "missing"], BANK) == 2
    assert all(h.id not in {"m0", "m3"} for h in await vectors.search_similar(_axis(0), BANK, limit=10))
    # Append (the cache is extended in place): the new row is found.
    await vectors.search_similar(_axis(0), BANK)
    await vectors.store_vectors([_item("m9", _axis(5))])
    hits = await vectors.search_similar(_axis(5), BANK, limit=1)
    assert (hits[0].id, hits[0].score) == ("m9", pytest.approx(1.0))
    assert [i.id for i in await vectors.list_vectors(BANK)] == ["m1", "m2", "m9"]


async def test_search_sees_writes_from_another_connection(db_path: Path) -> None:
    first, second = SqliteVectorStore(path=db_path), SqliteVectorStore(path=db_path)
    try:
        await first.store_vectors([_item("a", _axis(0))])
        assert [h.id for h in await first.search_similar(_axis(1), BANK)] == ["a"]
        await second.store_vectors([_item("b", _axis(1))])
        assert (await first.search_similar(_axis(1), BANK, limit=1))[0].id == "b"
        await second.delete(["a"], BANK)
        assert [h.id for h in await first.search_similar(_axis(0), BANK)] == ["b"]
    finally:
        await first.close()
        await second.close()


async def test_dimension_mismatch_writes_nothing_of_the_batch(vectors: SqliteVectorStore) -> None:
    await vectors.store_vectors([_item("a", _axis(0))])
    batch = [_item("other-bank", _axis(0, 3), bank="bank-b"), _item("b", _axis(1)), _item("c", _axis(0, 4))]
    with pytest.raises(DimensionMismatchError):
        await vectors.store_vectors(batch)
    # A batch that only disagrees with the stored dimension is rolled back too (checked in the DB).
    with pytest.raises(DimensionMismatchError):
        await vectors.store_vectors([_item("fresh", _axis(0, 3), bank="bank-c"), _item("d", _axis(0, 3))])
    assert [i.id for i in await vectors.list_vectors(BANK)] == ["a"]
    assert await vectors.list_banks() == [BANK]
    with pytest.raises(DimensionMismatchError):
        await vectors.search_similar(_axis(0, 3), BANK)


async def test_emptied_bank_accepts_a_new_dimension(vectors: SqliteVectorStore) -> None:
    await vectors.store_vectors([_item("a", _axis(0))])
    await vectors.delete(["a"], BANK)
    assert await vectors.list_banks() == []
    assert await vectors.search_similar(_axis(0), BANK) == []
    await vectors.store_vectors([_item("b", _axis(0, 3))])
    assert [h.id for h in await vectors.search_similar(_axis(0, 3), BANK)] == ["b"]


async def test_scores_and_filters_match_the_reference_helpers(vectors: SqliteVectorStore) -> None:
    rng = np.random.default_rng(7)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    items = [
        _item(
            f"m{i}",
            rng.standard_normal(DIM).astype(np.float32).tolist(),
            tags=[f"t{j}" for j in range(3) if rng.random() < 0.4],
            metadata={"kind": "note" if i % 3 else "event", "n": i % 2},
            occurred_at=None if i % 5 == 0 else base + timedelta(days=int(i)),
        )
        for i in range(200)
    ]
    items.append(_item("zero", [0.0] * DIM))
    await vectors.store_vectors(items)
    query = rng.standard_normal(DIM).astype(np.float32)
    reference = cosine_scores(np.asarray([i.vector for i in items], dtype=np.float32), query)
    cases: list[VectorFilters | None] = [
        None,
        VectorFilters(tags=["t0", "t2"]),
        VectorFilters(tags=["t0", "t1"], tag_mode="all"),
        VectorFilters(time_range=TimeRange(start=base + timedelta(days=20), end=base + timedelta(days=90))),
        VectorFilters(metadata={"kind": "note", "n": 1}, tags=["t1"]),
        VectorFilters(tags=["nope"]),
    ]
    for filters in cases:
        expected = sorted(
            (
                (-float(score), index)
                for index, (item, score) in enumerate(zip(items, reference, strict=True))
                if matches_filters(
                    filters, tags=item.tags, metadata=item.metadata, occurred_at=item.occurred_at
                )
            ),
        )[:15]
        hits = await vectors.search_similar(query.tolist(), BANK, limit=15, filters=filters)
        assert [h.id for h in hits] == [items[index].id for _, index in expected]
        assert [h.score for h in hits] == pytest.approx([-s for s, _ in expected], abs=1e-5)
        assert all(0.0 <= h.score <= 1.0 for h in hits)


async def test_concurrent_writers_lose_nothing(db_path: Path) -> None:
    stores = [SqliteVectorStore(path=db_path) for _ in range(3)]
    try:
        await asyncio.gather(
            *(
                stores[n % 3].store_vectors([_item(f"w{n}-{k}", _axis((n + k) % DIM)) for k in range(20)])
                for n in range(30)
            ),
            *(stores[n % 3].search_similar(_axis(n % DIM), BANK) for n in range(30)),
        )
        listed = await stores[0].list_vectors(BANK, limit=1000)
        assert len(listed) == 600
        assert len({i.id for i in listed}) == 600
        assert len(await stores[1].search_similar(_axis(0), BANK, limit=1000)) == 600
    finally:
        for store in stores:
            await store.close()


async def test_writers_of_one_file_in_one_process_queue_without_the_busy_timeout(db_path: Path) -> None:
    """Stores sharing a file are written concurrently (retain does): with the busy timeout off, a
    writer that found the file locked would fail at once, so none may meet SQLite's lock here."""
    vectors = SqliteVectorStore(path=db_path, busy_timeout_ms=0)
    documents = SqliteDocumentStore(path=db_path, busy_timeout_ms=0)
    graph = SqliteGraphStore(path=db_path, busy_timeout_ms=0)
    try:
        await asyncio.gather(
            *(
                vectors.store_vectors([_item(f"v{n}-{k}", _axis(k % DIM)) for k in range(50)])
                for n in range(20)
            ),
            *(
                documents.store_documents(
                    [Document(id=f"d{n}-{k}", text=f"note {n} {k}") for k in range(50)], BANK
                )
                for n in range(20)
            ),
            *(
                graph.store_entities([Entity(id=f"e{n}", name=f"Name{n}", entity_type="name")], BANK)
                for n in range(20)
            ),
        )
        assert len(await vectors.list_vectors(BANK, limit=1000)) == 1000
        assert await documents.get_document("d19-49", BANK) is not None
        assert len(await graph.query_entities("name", BANK, limit=100)) == 20
    finally:
        for store in (vectors, documents, graph):
            await store.close()


async def test_list_vectors_pages_in_insertion_order(vectors: SqliteVectorStore) -> None:
    await vectors.store_vectors([_item(f"m{i:02d}", _axis(i % DIM)) for i in reversed(range(25))])
    await vectors.store_vectors([_item("m24", _axis(3))])  # an upsert keeps its place
    pages = [await vectors.list_vectors(BANK, offset=o, limit=10) for o in (0, 10, 20)]
    ids = [i.id for page in pages for i in page]
    assert ids == [f"m{i:02d}" for i in reversed(range(25))]
    assert pages[0][0].vector == _axis(3)


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "AND OR NOT",
        "foo*",
        "NEAR(a b)",
        "col:value",
        "(((",
        "-x +y",
        "^start",
        "'; DROP TABLE doc_items; --",
    ],
)
async def test_fts_syntax_in_queries_never_raises(documents: SqliteDocumentStore, query: str) -> None:
    await documents.store_documents([Document(id="d1", text="value start x y foo a b")], BANK)
    hits = await documents.search_fulltext(query, BANK)
    assert all(h.score >= 0 for h in hits)
    assert (await documents.get_document("d1", BANK)) is not None


async def test_fulltext_upsert_delete_and_bank_isolation(documents: SqliteDocumentStore) -> None:
    await documents.store_documents(
        [Document(id="d1", text="the red fox"), Document(id="d2", text="red")], BANK
    )
    await documents.store_documents([Document(id="d1", text="secret fox")], "bank-b")
    await documents.store_documents([Document(id="d1", text="a green frog jumps")], BANK)  # upsert
    assert [h.id for h in await documents.search_fulltext("fox", BANK)] == []
    assert [h.id for h in await documents.search_fulltext("frogs jumping", BANK)] == ["d1"]  # stemmed
    assert [h.id for h in await documents.search_fulltext("fox", "bank-b")] == ["d1"]
    assert await documents.delete(["d2", "d1", "nope"], BANK) == 2
    assert await documents.search_fulltext("red green", BANK) == []
    assert (await documents.get_document("d1", "bank-b")) == Document(id="d1", text="secret fox")


async def test_fulltext_ranking_and_filters(documents: SqliteDocumentStore) -> None:
    base = datetime(2024, 5, 1, tzinfo=UTC)
    docs = [
        Document(
            id=f"d{i}",
            text=("hiking " * (i % 3 + 1)) + f"trip number {i}",
            tags=[f"t{i % 2}"],
            metadata={"i": i},
            occurred_at=base + timedelta(days=i) if i % 4 else None,
        )
        for i in range(12)
    ]
    await documents.store_documents(docs, BANK)
    hits = await documents.search_fulltext("hiking", BANK, limit=12)
    scores = [h.score for h in hits]
    assert len(hits) == 12
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    cases = [
        VectorFilters(tags=["t1"]),
        VectorFilters(tags=["t0", "t1"], tag_mode="all"),
        VectorFilters(time_range=TimeRange(start=base + timedelta(days=2), end=base + timedelta(days=9))),
        VectorFilters(metadata={"i": 5}),
    ]
    for filters in cases:
        got = {h.id for h in await documents.search_fulltext("hiking trip", BANK, limit=20, filters=filters)}
        want = {
            d.id
            for d in docs
            if matches_filters(filters, tags=d.tags, metadata=d.metadata, occurred_at=d.occurred_at)
        }
        assert got == want
    limited = await documents.search_fulltext("hiking", BANK, limit=2, filters=VectorFilters(tags=["t1"]))
    assert len(limited) == 2


# --------------------------------------------------------------------------- graph


async def test_graph_forget_drops_orphaned_entities_and_their_links(graph: SqliteGraphStore) -> None:
    await graph.store_entities(
        [Entity(id="alice", name="Alice"), Entity(id="bob", name="Bob"), Entity(id="solo", name="Solo")], BANK
    )
    await graph.store_links([EntityLink(source_id="alice", target_id="bob", relation="knows")], BANK)
    await graph.link_memories_to_entities(
        [
            MemoryEntityAssociation(memory_id="m1", entity_id="alice"),
            MemoryEntityAssociation(memory_id="m1", entity_id="bob"),
            MemoryEntityAssociation(memory_id="m2", entity_id="bob"),
        ],
        BANK,
    )
    assert await graph.delete_memories(["m1", "unknown"], BANK) == 1
    assert await graph.query_entities("alice", BANK) == []  # orphaned: mentioned by no memory
    assert [e.id for e in await graph.query_entities("bob", BANK)] == ["bob"]
    assert [e.id for e in await graph.query_entities("solo", BANK)] == ["solo"]  # never mentioned: kept
    assert [h.memory_id for h in await graph.query_neighbors(["bob"], BANK)] == ["m2"]
    # The alice—bob link went with alice: a re-created alice reaches nothing through it.
    await graph.store_entities([Entity(id="alice", name="Alice")], BANK)
    assert await graph.query_neighbors(["alice"], BANK) == []


async def test_graph_traversal_depth_and_scores(graph: SqliteGraphStore) -> None:
    chain = ["a", "b", "c", "d"]
    await graph.store_entities([Entity(id=e, name=e.upper()) for e in chain], BANK)
    await graph.store_links(
        [EntityLink(source_id=s, target_id=t) for s, t in itertools.pairwise(chain)], BANK
    )
    await graph.link_memories_to_entities(
        [MemoryEntityAssociation(memory_id=f"m-{e}", entity_id=e) for e in chain]
        + [MemoryEntityAssociation(memory_id="m-b", entity_id="a")],
        BANK,
    )
    hits = await graph.query_neighbors(["a"], BANK, max_depth=2)
    assert [(h.memory_id, h.depth) for h in hits] == [("m-b", 0), ("m-a", 0), ("m-c", 2)]
    assert hits[0].score > hits[1].score > hits[2].score
    reverse = await graph.query_neighbors(["d"], BANK, max_depth=1)  # links are walked both ways
    assert [(h.memory_id, h.depth) for h in reverse] == [("m-d", 0), ("m-c", 1)]
    assert await graph.query_neighbors(["a"], "other-bank") == []


async def test_query_entities_ranks_exact_before_substring(graph: SqliteGraphStore) -> None:
    await graph.store_entities(
        [
            Entity(id="1", name="Annabelle Smith"),
            Entity(id="2", name="Anna", aliases=["Ann"]),
            Entity(id="3", name="Joanna"),
            Entity(id="4", name="Zoë", aliases=["ANNA K."]),
        ],
        BANK,
    )
    assert [e.id for e in await graph.query_entities("anna", BANK)] == ["2", "1", "4", "3"]
    assert [e.id for e in await graph.query_entities("ZOË", BANK)] == ["4"]
    await graph.store_entities([Entity(id="2", name="Anna", aliases=["Annie"])], BANK)
    [anna] = await graph.query_entities("annie", BANK)
    assert anna.aliases == ["Ann", "Annie"]


async def test_version_1_document_file_is_migrated_in_place(db_path: Path) -> None:
    """A file written before neighbour lookup (document schema v1) opens, keeps its rows and order."""
    from astrocyte.stores._sqlite_documents import _DOCUMENT_MIGRATIONS

    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("CREATE TABLE astrocyte_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        for statement in _DOCUMENT_MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO astrocyte_schema VALUES ('document', 1)")
        conn.executemany(
            "INSERT INTO doc_items (bank_id, id, text) VALUES (?, ?, ?)",
            [(BANK, f"t{i}", f"old turn {i}") for i in range(3)],
        )
    conn.close()

    store = SqliteDocumentStore(path=db_path)
    try:
        assert (await store.health()).details["schema_version"] == 2
        found = await store.get_neighbors(["t1"], BANK, window=1)
        assert [(n.offset, n.document.text) for n in found["t1"]] == [(-1, "old turn 0"), (1, "old turn 2")]
        assert [h.id for h in await store.search_fulltext("old turn 2", BANK, limit=1)] == ["t2"]
    finally:
        await store.close()
    conn = sqlite3.connect(db_path)
    try:
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()
    assert "doc_items_bank_order" in indexes

"""The in-memory reference stores: the three contract suites plus memory-specific behaviour."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from importlib.metadata import entry_points

import pytest

from astrocyte.errors import ConfigError, DimensionMismatchError, InvalidRequestError, StoreError
from astrocyte.stores._text import tokenize
from astrocyte.stores.memory import InMemoryDocumentStore, InMemoryGraphStore, InMemoryVectorStore
from astrocyte.testing import (
    BatchSimilaritySearchContract,
    DocumentStoreContract,
    GraphStoreContract,
    NeighborLookupContract,
    VectorStoreContract,
)
from astrocyte.types import Document, Entity, EntityLink, MemoryEntityAssociation, VectorItem

# --------------------------------------------------------------------------- contract suites


class TestInMemoryVectorStore(VectorStoreContract, BatchSimilaritySearchContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryVectorStore]:
        s = InMemoryVectorStore()
        yield s
        await s.close()


class TestInMemoryVectorStoreHighDimension(VectorStoreContract):
    """The suite with a store-wide fixed dimension, the way a configured deployment runs."""

    dimensions = 384

    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryVectorStore]:
        s = InMemoryVectorStore(dimensions=384)
        yield s
        await s.close()


class TestInMemoryGraphStore(GraphStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryGraphStore]:
        s = InMemoryGraphStore()
        yield s
        await s.close()


class TestInMemoryDocumentStore(DocumentStoreContract, NeighborLookupContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryDocumentStore]:
        s = InMemoryDocumentStore()
        yield s
        await s.close()


# --------------------------------------------------------------------------- construction and lifecycle


@pytest.mark.parametrize(
    ("group", "cls"),
    [
        ("astrocyte.vector_stores", InMemoryVectorStore),
        ("astrocyte.graph_stores", InMemoryGraphStore),
        ("astrocyte.document_stores", InMemoryDocumentStore),
    ],
)
def test_entry_point_resolves_to_the_class(group: str, cls: type) -> None:
    (point,) = [p for p in entry_points(group=group) if p.name == "memory"]
    assert point.load() is cls
    assert getattr(cls, "SPI_VERSION", None) == 1


@pytest.mark.parametrize("cls", [InMemoryVectorStore, InMemoryGraphStore, InMemoryDocumentStore])
def test_unknown_option_is_a_config_error(cls: type) -> None:
    with pytest.raises(ConfigError, match="colour"):
        cls(colour="blue")


@pytest.mark.parametrize("bad", [0, -3, True])
def test_bad_dimensions_option_is_a_config_error(bad: int) -> None:
    with pytest.raises(ConfigError, match="dimensions"):
        InMemoryVectorStore(dimensions=bad)


async def test_configured_dimensions_apply_to_new_banks() -> None:
    store = InMemoryVectorStore(dimensions=3)
    with pytest.raises(DimensionMismatchError):
        await store.store_vectors([VectorItem(id="m", bank_id="b", vector=[1.0, 0.0], text="t")])
    assert await store.list_banks() == []


async def test_closed_stores_refuse_calls_and_report_unhealthy() -> None:
    vectors, graph, docs = InMemoryVectorStore(), InMemoryGraphStore(), InMemoryDocumentStore()
    for store in (vectors, graph, docs):
        await store.close()
        assert not (await store.health()).healthy
    with pytest.raises(StoreError):
        await vectors.search_similar([1.0], "b")
    with pytest.raises(StoreError):
        await graph.query_entities("x", "b")
    with pytest.raises(StoreError):
        await docs.search_fulltext("x", "b")


# --------------------------------------------------------------------------- vector store specifics


async def test_returned_objects_do_not_alias_store_state() -> None:
    store = InMemoryVectorStore()
    item = VectorItem(id="m", bank_id="b", vector=[1.0, 0.0], text="t", metadata={"l": [1]}, tags=["x"])
    await store.store_vectors([item])
    item.tags.append("mutated-input")
    hit = (await store.search_similar([1.0, 0.0], "b"))[0]
    hit.tags.append("mutated-hit")
    assert isinstance(hit.metadata["l"], list)
    hit.metadata["l"].append(2)
    again = (await store.search_similar([1.0, 0.0], "b"))[0]
    assert (again.tags, again.metadata) == (["x"], {"l": [1]})


async def test_duplicate_ids_in_one_batch_keep_the_last() -> None:
    store = InMemoryVectorStore()
    batch = [VectorItem(id="m", bank_id="b", vector=[1.0, 0.0], text=t) for t in ("first", "last")]
    assert await store.store_vectors(batch) == ["m", "m"]
    assert [i.text for i in await store.list_vectors("b")] == ["last"]


async def test_single_writes_and_deletes_keep_rows_aligned() -> None:
    # Exercises the growing buffer and row compaction: each id's vector must stay its own.
    store = InMemoryVectorStore()
    for i in range(40):
        angle = math.radians(i * 4)
        await store.store_vectors(
            [VectorItem(id=f"m{i}", bank_id="b", vector=[math.cos(angle), math.sin(angle)], text="t")]
        )
    assert await store.delete([f"m{i}" for i in range(0, 40, 2)], "b") == 20
    for i in (1, 17, 39):
        angle = math.radians(i * 4)
        hits = await store.search_similar([math.cos(angle), math.sin(angle)], "b", limit=1)
        assert hits[0].id == f"m{i}"
        assert hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert [i.id for i in await store.list_vectors("b", limit=3)] == ["m1", "m3", "m5"]


async def test_emptied_bank_is_forgotten_with_its_dimension() -> None:
    store = InMemoryVectorStore()
    await store.store_vectors([VectorItem(id="m", bank_id="b", vector=[1.0, 0.0], text="t")])
    await store.delete(["m"], "b")
    await store.store_vectors([VectorItem(id="m", bank_id="b", vector=[1.0, 0.0, 0.0], text="t")])
    assert len((await store.list_vectors("b"))[0].vector) == 3


async def test_invalid_arguments_are_invalid_request_errors() -> None:
    store = InMemoryVectorStore()
    with pytest.raises(InvalidRequestError):
        await store.store_vectors([VectorItem(id="m", bank_id="b", vector=[math.nan, 1.0], text="t")])
    with pytest.raises(InvalidRequestError):
        await store.search_similar([], "b")
    with pytest.raises(InvalidRequestError):
        await store.search_similar([1.0], "b", limit=-1)
    with pytest.raises(InvalidRequestError):
        await store.list_vectors("b", offset=-1)
    assert await store.search_similar([1.0], "b", limit=0) == []


# --------------------------------------------------------------------------- tokenizer and BM25


def test_tokenize_folds_case_and_unicode_and_drops_stopwords() -> None:
    assert tokenize("The Café_au-lait, NAÏVE 東京! 🎉 AND x2") == [
        "café",
        "au",
        "lait",
        "naïve",
        "東京",
        "x2",
    ]
    assert tokenize("cafe\u0301") == tokenize("café")  # decomposed and composed accents agree
    assert tokenize("Straße") == ["strasse"]
    assert tokenize('"AND" OR ( ) * : - \' ?') == []


async def test_bm25_scores_match_the_formula() -> None:
    store = InMemoryDocumentStore()
    await store.store_documents(
        [
            Document(id="a", text="apple apple pear"),
            Document(id="b", text="pear plum"),
            Document(id="c", text="fig"),
        ],
        "b",
    )
    hits = {h.id: h.score for h in await store.search_fulltext("apple pear pear", "b")}
    n, avgdl, k1, b = 3, 2.0, 1.2, 0.75

    def term(tf: int, df: int, dl: int) -> float:
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    assert hits["a"] == pytest.approx(term(2, 1, 3) + term(1, 2, 3))  # repeated query terms count once
    assert hits["b"] == pytest.approx(term(1, 2, 2))
    assert "c" not in hits


async def test_single_document_helper() -> None:
    store = InMemoryDocumentStore()
    assert await store.store_document(Document(id="d", text="hello world"), "b") == "d"
    assert [h.id for h in await store.search_fulltext("world", "b")] == ["d"]


# --------------------------------------------------------------------------- graph specifics


def _assoc(memory_id: str, entity_id: str) -> MemoryEntityAssociation:
    return MemoryEntityAssociation(memory_id=memory_id, entity_id=entity_id)


async def test_neighbour_scores_follow_the_documented_formula() -> None:
    store = InMemoryGraphStore()
    # hub -0.1-> x is a weak 1-hop path; hub -1-> y -1-> x a strong 2-hop one, which wins.
    await store.store_links(
        [
            EntityLink(source_id="hub", target_id="x", weight=0.1),
            EntityLink(source_id="hub", target_id="y", weight=1.0),
            EntityLink(source_id="y", target_id="x", weight=1.0),
            EntityLink(source_id="hub", target_id="half", weight=0.5),
            EntityLink(source_id="hub", target_id="big", weight=7.0),
            EntityLink(source_id="hub", target_id="dead", weight=-1.0),
        ],
        "b",
    )
    await store.link_memories_to_entities(
        [_assoc(f"m-{e}", e) for e in ("hub", "x", "half", "big", "dead")], "b"
    )
    hits = {h.memory_id: (h.score, h.depth) for h in await store.query_neighbors(["hub"], "b", max_depth=2)}
    assert hits["m-hub"] == (1.0, 0)
    assert hits["m-x"] == pytest.approx((1 / 3, 2))
    assert hits["m-half"] == pytest.approx((0.25, 1))
    assert hits["m-big"] == pytest.approx((0.5, 1))  # weights clamp to 1
    assert "m-dead" not in hits  # non-positive links are not traversed


async def test_restored_entity_keeps_old_name_as_alias_and_known_type() -> None:
    store = InMemoryGraphStore()
    await store.store_entities([Entity(id="e", name="Bob", entity_type="person", metadata={"a": 1})], "b")
    await store.store_entities([Entity(id="e", name="Robert", metadata={"b": 2})], "b")
    (entity,) = await store.query_entities("bob", "b")
    assert (entity.name, entity.aliases, entity.entity_type) == ("Robert", ["Bob"], "person")
    assert entity.metadata == {"a": 1, "b": 2}


async def test_entity_ranking_exact_then_prefix_then_substring() -> None:
    store = InMemoryGraphStore()
    await store.store_entities(
        [Entity(id="sub", name="Joanna"), Entity(id="pre", name="Annabel"), Entity(id="ex", name="ANN")], "b"
    )
    assert [e.id for e in await store.query_entities("ann", "b")] == ["ex", "pre", "sub"]


async def test_forgetting_drops_orphaned_entities_only() -> None:
    store = InMemoryGraphStore()
    await store.store_entities([Entity(id="solo", name="Solo"), Entity(id="shared", name="Shared")], "b")
    await store.store_links([EntityLink(source_id="solo", target_id="shared")], "b")
    await store.link_memories_to_entities(
        [_assoc("m1", "solo"), _assoc("m1", "shared"), _assoc("m2", "shared")], "b"
    )
    assert await store.delete_memories(["m1"], "b") == 1
    assert await store.query_entities("solo", "b") == []
    assert [e.id for e in await store.query_entities("shared", "b")] == ["shared"]
    assert [h.memory_id for h in await store.query_neighbors(["shared"], "b")] == ["m2"]


async def test_negative_depth_is_rejected() -> None:
    with pytest.raises(InvalidRequestError):
        await InMemoryGraphStore().query_neighbors(["e"], "b", max_depth=-1)

"""The contract every :class:`~astrocyte.provider.DocumentStore` must pass."""

from __future__ import annotations

import asyncio

import pytest

from astrocyte.provider import SUPPORTED_SPI_VERSIONS, DocumentStore
from astrocyte.testing._data import (
    FILTER_CASE_NAMES,
    NASTY_QUERIES,
    UNICODE_BANK,
    UNICODE_ID,
    UNICODE_METADATA,
    UNICODE_TAGS,
    UNICODE_TEXT,
    canonical,
    document_of,
    filter_case,
    filter_records,
    same_instant,
)
from astrocyte.types import Document, DocumentHit, VectorFilters

__all__ = ["DocumentStoreContract"]

_BANK = "bank-a"
_OTHER = "bank-b"


def _doc(id: str, text: str, **fields: object) -> Document:
    return Document.model_validate({"id": id, "text": text, **fields})


def _corpus() -> list[Document]:
    """Five documents; only ``d3`` contains the rare word ``zeppelin``."""
    return [
        _doc("d1", "The memory of the meeting about budgets"),
        _doc("d2", "Memory notes from the weekly meeting"),
        _doc("d3", "A memory about the zeppelin flight over the lake"),
        _doc("d4", "Memory, memory and more memory"),
        _doc("d5", "Unrelated text about gardening"),
    ]


def _assert_matches(actual: DocumentHit | Document, expected: Document) -> None:
    assert actual.id == expected.id
    assert actual.text == expected.text
    assert canonical(actual.metadata) == canonical(expected.metadata)
    assert actual.tags == expected.tags
    assert same_instant(actual.occurred_at, expected.occurred_at)


def _assert_ranked(hits: list[DocumentHit]) -> None:
    scores = [h.score for h in hits]
    assert all(s > 0.0 for s in scores), scores
    assert scores == sorted(scores, reverse=True), scores


class DocumentStoreContract:
    """Subclass and provide a ``store`` fixture yielding a fresh, empty document store."""

    @pytest.fixture
    def store(self) -> DocumentStore:
        pytest.fail(
            "subclass DocumentStoreContract and define a `store` fixture yielding a fresh, empty store"
        )

    # ----------------------------------------------------------------- identity and health

    async def test_conforms_to_protocol(self, store: DocumentStore) -> None:
        assert isinstance(store, DocumentStore)
        assert store.SPI_VERSION in SUPPORTED_SPI_VERSIONS

    async def test_health_reports_healthy(self, store: DocumentStore) -> None:
        status = await store.health()
        assert status.healthy, status.message

    # ----------------------------------------------------------------- round trip

    async def test_round_trip_keeps_every_field(self, store: DocumentStore) -> None:
        document = _doc(
            "m1",
            "Alice moved to Berlin in 2021.",
            tags=["travel", "alice"],
            metadata={"n": 3, "ratio": 0.5, "flag": True, "none": None, "who": ["alice", 2, False]},
            occurred_at=filter_records()[4].occurred_at,
        )
        assert await store.store_documents([document], _BANK) == ["m1"]
        fetched = await store.get_document("m1", _BANK)
        assert fetched is not None
        _assert_matches(fetched, document)
        hits = await store.search_fulltext("Berlin", _BANK)
        assert len(hits) == 1
        _assert_matches(hits[0], document)

    async def test_store_returns_ids_in_input_order(self, store: DocumentStore) -> None:
        docs = [_doc(i, f"text {i}") for i in ("c", "a", "b")]
        assert await store.store_documents(docs, _BANK) == ["c", "a", "b"]

    async def test_unicode_everywhere(self, store: DocumentStore) -> None:
        document = _doc(UNICODE_ID, UNICODE_TEXT, tags=list(UNICODE_TAGS), metadata=dict(UNICODE_METADATA))
        await store.store_documents([document], UNICODE_BANK)
        for query in ("café", "東京", "ZÜRICH", "résumé 🎉"):
            hits = await store.search_fulltext(query, UNICODE_BANK)
            assert [h.id for h in hits] == [UNICODE_ID], query
        _assert_matches(hits[0], document)
        fetched = await store.get_document(UNICODE_ID, UNICODE_BANK)
        assert fetched is not None
        _assert_matches(fetched, document)
        tagged = await store.search_fulltext("café", UNICODE_BANK, filters=VectorFilters(tags=["été"]))
        assert [h.id for h in tagged] == [UNICODE_ID]

    # ----------------------------------------------------------------- empty and unknown

    async def test_empty_write_is_a_no_op(self, store: DocumentStore) -> None:
        assert await store.store_documents([], _BANK) == []
        assert await store.delete([], _BANK) == 0
        assert await store.search_fulltext("anything", _BANK) == []

    async def test_blank_query_yields_nothing(self, store: DocumentStore) -> None:
        await store.store_documents(_corpus(), _BANK)
        assert await store.search_fulltext("", _BANK) == []
        assert await store.search_fulltext("   \n\t", _BANK) == []

    async def test_unknown_bank_and_id_yield_nothing(self, store: DocumentStore) -> None:
        await store.store_documents(_corpus(), _BANK)
        assert await store.search_fulltext("memory", "no-such-bank") == []
        assert await store.get_document("d1", "no-such-bank") is None
        assert await store.get_document("nope", _BANK) is None
        assert await store.delete(["d1"], "no-such-bank") == 0
        assert await store.get_document("d1", _BANK) is not None

    # ----------------------------------------------------------------- ranking

    async def test_rare_term_ranks_its_document_first(self, store: DocumentStore) -> None:
        await store.store_documents(_corpus(), _BANK)
        hits = await store.search_fulltext("memory zeppelin", _BANK)
        assert hits[0].id == "d3"
        assert {h.id for h in hits} == {"d1", "d2", "d3", "d4"}  # only documents containing a query term
        _assert_ranked(hits)

    async def test_term_frequency_and_length_raise_the_score(self, store: DocumentStore) -> None:
        await store.store_documents(
            [
                _doc("many", "zeppelin zeppelin zeppelin over lake"),
                _doc("once", "zeppelin glider balloon over lake"),
                _doc("long", "zeppelin glider balloon over lake river forest hill valley meadow town"),
                _doc("other", "nothing to see here at all"),
            ],
            _BANK,
        )
        hits = await store.search_fulltext("zeppelin", _BANK)
        assert [h.id for h in hits] == ["many", "once", "long"]
        _assert_ranked(hits)

    @pytest.mark.parametrize("query", NASTY_QUERIES)
    async def test_operator_and_punctuation_queries_never_raise(
        self, store: DocumentStore, query: str
    ) -> None:
        await store.store_documents(
            [*_corpus(), _doc("d6", "Mr O'Brien said AND or NOT near title bar baz")], _BANK
        )
        hits = await store.search_fulltext(query, _BANK)
        assert all(isinstance(h, DocumentHit) for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    @pytest.mark.parametrize(
        "query", ['"zeppelin"', "zeppelin?", "(zeppelin)", "zeppelin*", "-zeppelin", "+zeppelin"]
    )
    async def test_punctuation_around_a_word_still_finds_it(self, store: DocumentStore, query: str) -> None:
        await store.store_documents(_corpus(), _BANK)
        assert [h.id for h in await store.search_fulltext(query, _BANK)] == ["d3"]

    async def test_limit_is_honoured(self, store: DocumentStore) -> None:
        await store.store_documents([_doc(f"d{i}", f"common word number {i}") for i in range(12)], _BANK)
        assert len(await store.search_fulltext("common", _BANK, limit=5)) == 5
        assert len(await store.search_fulltext("common", _BANK, limit=1)) == 1
        assert len(await store.search_fulltext("common", _BANK, limit=50)) == 12

    # ----------------------------------------------------------------- filters

    @pytest.mark.parametrize("case", FILTER_CASE_NAMES)
    async def test_filters(self, store: DocumentStore, case: str) -> None:
        await store.store_documents([document_of(r) for r in filter_records()], _BANK)
        filters, expected = filter_case(case)
        hits = await store.search_fulltext("shared", _BANK, limit=100, filters=filters)
        assert {h.id for h in hits} == expected
        _assert_ranked(hits)

    async def test_filters_apply_before_the_limit(self, store: DocumentStore) -> None:
        strong = [_doc(f"strong{i}", "zeppelin zeppelin zeppelin") for i in range(20)]
        rare = [_doc(f"rare{i}", "zeppelin " + "filler " * (5 + i), tags=["rare"]) for i in range(3)]
        await store.store_documents(strong + rare, _BANK)
        hits = await store.search_fulltext("zeppelin", _BANK, limit=3, filters=VectorFilters(tags=["rare"]))
        assert sorted(h.id for h in hits) == ["rare0", "rare1", "rare2"]

    # ----------------------------------------------------------------- delete and upsert

    async def test_delete_counts_existing_and_they_never_return(self, store: DocumentStore) -> None:
        await store.store_documents(_corpus(), _BANK)
        assert await store.delete(["d3", "d4", "ghost"], _BANK) == 2
        assert await store.search_fulltext("zeppelin", _BANK) == []
        assert {h.id for h in await store.search_fulltext("memory", _BANK)} == {"d1", "d2"}
        assert await store.get_document("d3", _BANK) is None
        assert await store.delete(["d3"], _BANK) == 0

    async def test_delete_unknown_ids_returns_zero(self, store: DocumentStore) -> None:
        await store.store_documents(_corpus(), _BANK)
        assert await store.delete(["nope", "nada"], _BANK) == 0
        assert len(await store.search_fulltext("memory gardening", _BANK)) == 5

    async def test_upsert_replaces_without_duplicates(self, store: DocumentStore) -> None:
        await store.store_documents(
            [_doc("d1", "old walrus text", tags=["old"]), _doc("d2", "other text")], _BANK
        )
        await store.store_documents([_doc("d1", "new narwhal text", tags=["new"])], _BANK)
        assert await store.search_fulltext("walrus", _BANK) == []
        hits = await store.search_fulltext("narwhal", _BANK)
        assert [(h.id, h.text, h.tags) for h in hits] == [("d1", "new narwhal text", ["new"])]
        assert sorted(h.id for h in await store.search_fulltext("text", _BANK)) == ["d1", "d2"]

    # ----------------------------------------------------------------- bank isolation

    async def test_same_id_in_two_banks_coexists(self, store: DocumentStore) -> None:
        await store.store_documents([_doc("d1", "apple pie recipe")], _BANK)
        await store.store_documents([_doc("d1", "banana bread recipe")], _OTHER)
        assert await store.search_fulltext("banana", _BANK) == []
        assert [h.text for h in await store.search_fulltext("recipe", _BANK)] == ["apple pie recipe"]
        fetched = await store.get_document("d1", _OTHER)
        assert fetched is not None
        assert fetched.text == "banana bread recipe"

    async def test_bank_isolation_on_delete_and_upsert(self, store: DocumentStore) -> None:
        await store.store_documents([_doc("d1", "apple"), _doc("only-a", "apple tart")], _BANK)
        await store.store_documents([_doc("d1", "banana"), _doc("only-b", "banana split")], _OTHER)
        assert await store.delete(["only-b"], _BANK) == 0
        assert await store.delete(["d1"], _BANK) == 1
        await store.store_documents([_doc("only-a", "cherry")], _BANK)
        assert sorted(h.id for h in await store.search_fulltext("banana", _OTHER)) == ["d1", "only-b"]
        assert await store.search_fulltext("cherry", _OTHER) == []
        assert [h.id for h in await store.search_fulltext("cherry", _BANK)] == ["only-a"]

    # ----------------------------------------------------------------- concurrency and scale

    async def test_concurrent_writers_lose_nothing(self, store: DocumentStore) -> None:
        async def writer(task: int) -> None:
            await store.store_documents(
                [_doc(f"w{task}-{i}", f"concurrent note {task} {i}") for i in range(5)], _BANK
            )
            await store.search_fulltext("concurrent", _BANK, limit=3)

        await asyncio.gather(*(writer(t) for t in range(20)))
        hits = await store.search_fulltext("concurrent", _BANK, limit=1000)
        assert sorted(h.id for h in hits) == sorted(f"w{t}-{i}" for t in range(20) for i in range(5))

    @pytest.mark.slow
    async def test_ten_thousand_documents_in_one_batch(self, store: DocumentStore) -> None:
        docs = [_doc(f"d{i}", f"routine log entry {i} about item{i % 100}") for i in range(10_000)]
        docs[6789] = _doc("d6789", "routine log entry mentioning a quokka")
        assert len(await store.store_documents(docs, _BANK)) == 10_000
        hits = await store.search_fulltext("quokka routine", _BANK, limit=10)
        assert hits[0].id == "d6789"
        assert len(hits) == 10
        _assert_ranked(hits)
        bucket = await store.search_fulltext("item7", _BANK, limit=1000)
        assert sorted(h.id for h in bucket) == sorted(f"d{i}" for i in range(7, 10_000, 100))

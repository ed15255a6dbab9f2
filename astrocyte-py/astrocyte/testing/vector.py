"""The contract every :class:`~astrocyte.provider.VectorStore` must pass."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from astrocyte.errors import DimensionMismatchError
from astrocyte.provider import SUPPORTED_SPI_VERSIONS, VectorStore
from astrocyte.testing._data import (
    FILTER_CASE_NAMES,
    UNICODE_BANK,
    UNICODE_ID,
    UNICODE_METADATA,
    UNICODE_TAGS,
    UNICODE_TEXT,
    Record,
    angled,
    axis,
    canonical,
    filter_case,
    filter_records,
    random_vectors,
    same_instant,
    vector_item,
)
from astrocyte.types import VectorFilters, VectorHit, VectorItem

__all__ = ["VectorStoreContract"]

_BANK = "bank-a"
_OTHER = "bank-b"
_SCORE_TOL = 1e-4  # float32 storage and (cos + 1) / 2 mapping


def _assert_matches(actual: VectorHit | VectorItem, expected: VectorItem) -> None:
    assert actual.id == expected.id
    assert actual.text == expected.text
    assert canonical(actual.metadata) == canonical(expected.metadata)
    assert actual.tags == expected.tags
    assert same_instant(actual.occurred_at, expected.occurred_at)


def _assert_ranked(hits: list[VectorHit]) -> None:
    scores = [h.score for h in hits]
    assert all(0.0 <= s <= 1.0 for s in scores), scores
    assert scores == sorted(scores, reverse=True), scores


class VectorStoreContract:
    """Subclass and provide a ``store`` fixture yielding a fresh, empty store (needs ``dimensions >= 4``).

    The tests are async (pytest-asyncio, ``asyncio_mode = "auto"``) and one is marked ``slow``.
    """

    dimensions: ClassVar[int] = 8

    @pytest.fixture
    def store(self) -> VectorStore:
        pytest.fail("subclass VectorStoreContract and define a `store` fixture yielding a fresh, empty store")

    def _item(
        self, id: str, bank: str = _BANK, vector: list[float] | None = None, **fields: object
    ) -> VectorItem:
        record = Record(id=id, text=f"text of {id}")
        item = vector_item(record, bank, vector if vector is not None else axis(self.dimensions, 0))
        return VectorItem.model_validate({**item.model_dump(), **fields})

    # ----------------------------------------------------------------- identity and health

    async def test_conforms_to_protocol(self, store: VectorStore) -> None:
        assert isinstance(store, VectorStore)
        assert store.SPI_VERSION in SUPPORTED_SPI_VERSIONS

    async def test_health_reports_healthy(self, store: VectorStore) -> None:
        status = await store.health()
        assert status.healthy, status.message

    # ----------------------------------------------------------------- round trip

    async def test_round_trip_keeps_every_field(self, store: VectorStore) -> None:
        record = Record(
            id="m1",
            text="Alice moved to Berlin in 2021.",
            tags=("travel", "alice"),
            metadata={"n": 3, "ratio": 0.5, "flag": True, "none": None, "who": ["alice", 2, False]},
            occurred_at=filter_records()[4].occurred_at,
        )
        item = vector_item(record, _BANK, angled(self.dimensions, 10))
        assert await store.store_vectors([item]) == ["m1"]

        hits = await store.search_similar(item.vector, _BANK)
        assert len(hits) == 1
        _assert_matches(hits[0], item)
        listed = await store.list_vectors(_BANK)
        assert len(listed) == 1
        _assert_matches(listed[0], item)
        assert listed[0].bank_id == _BANK
        assert listed[0].vector == pytest.approx(item.vector, abs=1e-6)

    async def test_store_returns_ids_in_input_order(self, store: VectorStore) -> None:
        items = [self._item(f"m{i}", vector=angled(self.dimensions, i * 7)) for i in (3, 1, 2)]
        assert await store.store_vectors(items) == ["m3", "m1", "m2"]

    async def test_unicode_everywhere(self, store: VectorStore) -> None:
        item = VectorItem(
            id=UNICODE_ID,
            bank_id=UNICODE_BANK,
            vector=axis(self.dimensions, 1),
            text=UNICODE_TEXT,
            metadata=dict(UNICODE_METADATA),
            tags=list(UNICODE_TAGS),
        )
        await store.store_vectors([item])
        hits = await store.search_similar(item.vector, UNICODE_BANK, filters=VectorFilters(tags=["日本"]))
        assert [h.id for h in hits] == [UNICODE_ID]
        _assert_matches(hits[0], item)
        by_meta = await store.search_similar(
            item.vector, UNICODE_BANK, filters=VectorFilters(metadata={"名前": "山田"})
        )
        assert [h.id for h in by_meta] == [UNICODE_ID]
        assert UNICODE_BANK in await store.list_banks()

    # ----------------------------------------------------------------- empty and unknown

    async def test_empty_write_is_a_no_op(self, store: VectorStore) -> None:
        assert await store.store_vectors([]) == []
        assert await store.list_banks() == []
        assert await store.delete([], _BANK) == 0

    async def test_unknown_bank_yields_nothing(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1")])
        assert await store.search_similar(axis(self.dimensions, 0), "no-such-bank") == []
        assert await store.list_vectors("no-such-bank") == []
        assert await store.delete(["m1"], "no-such-bank") == 0
        assert [h.id for h in await store.search_similar(axis(self.dimensions, 0), _BANK)] == ["m1"]

    # ----------------------------------------------------------------- bank isolation

    async def test_same_id_in_two_banks_coexists(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1", text="in A")])
        await store.store_vectors(
            [self._item("m1", bank=_OTHER, vector=axis(self.dimensions, 1), text="in B")]
        )
        hits_a = await store.search_similar(axis(self.dimensions, 1), _BANK)
        hits_b = await store.search_similar(axis(self.dimensions, 1), _OTHER)
        assert [(h.id, h.text) for h in hits_a] == [("m1", "in A")]
        assert [(h.id, h.text) for h in hits_b] == [("m1", "in B")]
        assert hits_b[0].score == pytest.approx(1.0, abs=_SCORE_TOL)
        assert [i.text for i in await store.list_vectors(_BANK)] == ["in A"]

    async def test_bank_isolation_on_delete(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("shared", text="A"), self._item("only-a")])
        await store.store_vectors(
            [self._item("shared", bank=_OTHER, text="B"), self._item("only-b", bank=_OTHER)]
        )
        assert await store.delete(["only-b"], _BANK) == 0
        assert await store.delete(["shared"], _BANK) == 1
        left_b = {i.id: i.text for i in await store.list_vectors(_OTHER)}
        assert left_b == {"shared": "B", "only-b": "text of only-b"}
        assert [i.id for i in await store.list_vectors(_BANK)] == ["only-a"]

    async def test_bank_isolation_on_upsert(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1", text="A v1"), self._item("m1", bank=_OTHER, text="B v1")])
        await store.store_vectors([self._item("m1", text="A v2")])
        assert [i.text for i in await store.list_vectors(_OTHER)] == ["B v1"]
        assert [i.text for i in await store.list_vectors(_BANK)] == ["A v2"]

    # ----------------------------------------------------------------- delete and upsert

    async def test_delete_counts_existing_and_they_never_return(self, store: VectorStore) -> None:
        await store.store_vectors([self._item(f"m{i}", vector=angled(self.dimensions, i)) for i in range(4)])
        assert await store.delete(["m1", "m2", "ghost"], _BANK) == 2
        hits = await store.search_similar(axis(self.dimensions, 0), _BANK, limit=10)
        assert sorted(h.id for h in hits) == ["m0", "m3"]
        assert sorted(i.id for i in await store.list_vectors(_BANK)) == ["m0", "m3"]
        assert await store.delete(["m1"], _BANK) == 0

    async def test_delete_unknown_ids_returns_zero(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1")])
        assert await store.delete(["nope", "nada"], _BANK) == 0
        assert len(await store.list_vectors(_BANK)) == 1

    async def test_upsert_replaces_without_duplicates(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1", text="old", tags=["old"]), self._item("m2")])
        new = self._item("m1", vector=axis(self.dimensions, 2), text="new", tags=["new"], metadata={"v": 2})
        await store.store_vectors([new])
        hits = await store.search_similar(axis(self.dimensions, 2), _BANK, limit=10)
        assert sorted(h.id for h in hits) == ["m1", "m2"]
        _assert_matches(hits[0], new)
        assert hits[0].score == pytest.approx(1.0, abs=_SCORE_TOL)
        assert (
            await store.search_similar(axis(self.dimensions, 0), _BANK, filters=VectorFilters(tags=["old"]))
            == []
        )
        assert len(await store.list_vectors(_BANK)) == 2

    # ----------------------------------------------------------------- scores, order, limit

    async def test_scores_map_cosine_to_unit_interval_descending(self, store: VectorStore) -> None:
        dim = self.dimensions
        await store.store_vectors(
            [
                self._item("opposite", vector=axis(dim, 0, -1.0)),
                self._item("orthogonal", vector=axis(dim, 1)),
                self._item("near", vector=angled(dim, 20)),
                self._item("scaled-twin", vector=axis(dim, 0, 3.0)),
                self._item("mid", vector=angled(dim, 60)),
            ]
        )
        hits = await store.search_similar(axis(dim, 0), _BANK, limit=10)
        _assert_ranked(hits)
        assert [h.id for h in hits] == ["scaled-twin", "near", "mid", "orthogonal", "opposite"]
        by_id = {h.id: h.score for h in hits}
        # (cos + 1) / 2: the retain pipeline's dedup threshold relies on this exact mapping.
        assert by_id["scaled-twin"] == pytest.approx(1.0, abs=_SCORE_TOL)
        assert by_id["mid"] == pytest.approx(0.75, abs=_SCORE_TOL)
        assert by_id["orthogonal"] == pytest.approx(0.5, abs=_SCORE_TOL)
        assert by_id["opposite"] == pytest.approx(0.0, abs=_SCORE_TOL)

    async def test_limit_is_honoured(self, store: VectorStore) -> None:
        await store.store_vectors(
            [self._item(f"m{i}", vector=angled(self.dimensions, i * 5)) for i in range(12)]
        )
        hits = await store.search_similar(axis(self.dimensions, 0), _BANK, limit=5)
        assert [h.id for h in hits] == ["m0", "m1", "m2", "m3", "m4"]
        assert len(await store.search_similar(axis(self.dimensions, 0), _BANK, limit=1)) == 1
        assert len(await store.search_similar(axis(self.dimensions, 0), _BANK, limit=50)) == 12

    async def test_filters_apply_before_the_limit(self, store: VectorStore) -> None:
        close = [self._item(f"close{i}", vector=angled(self.dimensions, i)) for i in range(20)]
        rare = [
            self._item(f"rare{d}", vector=angled(self.dimensions, d), tags=["rare"]) for d in (150, 160, 170)
        ]
        await store.store_vectors(close + rare)
        hits = await store.search_similar(
            axis(self.dimensions, 0), _BANK, limit=3, filters=VectorFilters(tags=["rare"])
        )
        assert [h.id for h in hits] == ["rare150", "rare160", "rare170"]

    @pytest.mark.parametrize("case", FILTER_CASE_NAMES)
    async def test_filters(self, store: VectorStore, case: str) -> None:
        records = filter_records()
        vectors = random_vectors(len(records), self.dimensions, seed=1)
        await store.store_vectors([vector_item(r, _BANK, v) for r, v in zip(records, vectors, strict=True)])
        filters, expected = filter_case(case)
        hits = await store.search_similar(vectors[0], _BANK, limit=100, filters=filters)
        assert {h.id for h in hits} == expected
        _assert_ranked(hits)

    # ----------------------------------------------------------------- dimensions

    async def test_wrong_dimension_writes_nothing_of_the_batch(self, store: VectorStore) -> None:
        dim = self.dimensions
        await store.store_vectors([self._item("m1", text="original"), self._item("m2")])
        batch = [
            self._item("m3"),
            self._item("m1", text="changed"),
            self._item("bad", vector=[1.0] * (dim - 1)),
        ]
        with pytest.raises(DimensionMismatchError):
            await store.store_vectors(batch)
        listed = {i.id: i.text for i in await store.list_vectors(_BANK)}
        assert listed == {"m1": "original", "m2": "text of m2"}

    async def test_mixed_dimensions_in_a_new_bank_write_nothing(self, store: VectorStore) -> None:
        batch = [self._item("m1"), self._item("m2", vector=[1.0] * (self.dimensions + 1))]
        with pytest.raises(DimensionMismatchError):
            await store.store_vectors(batch)
        assert await store.list_vectors(_BANK) == []
        assert await store.list_banks() == []

    async def test_query_of_wrong_dimension_is_rejected(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1")])
        with pytest.raises(DimensionMismatchError):
            await store.search_similar([1.0] * (self.dimensions - 1), _BANK)

    # ----------------------------------------------------------------- listing

    async def test_list_vectors_pages_stably_over_every_item(self, store: VectorStore) -> None:
        vectors = random_vectors(25, self.dimensions, seed=2)
        items = [self._item(f"m{i:02d}", vector=v) for i, v in enumerate(vectors)]
        for start in range(0, 25, 10):
            await store.store_vectors(items[start : start + 10])
        await store.store_vectors([self._item("m05", vector=vectors[5], text="updated")])

        first_pass = [await store.list_vectors(_BANK, offset=o, limit=7) for o in range(0, 28, 7)]
        second_pass = [await store.list_vectors(_BANK, offset=o, limit=7) for o in range(0, 28, 7)]
        assert [[i.id for i in page] for page in first_pass] == [[i.id for i in page] for page in second_pass]
        ids = [i.id for page in first_pass for i in page]
        assert sorted(ids) == [f"m{i:02d}" for i in range(25)]  # every item exactly once
        assert all(len(page) == 7 for page in first_pass[:3])
        assert await store.list_vectors(_BANK, offset=25, limit=7) == []
        assert {i.id: i.text for page in first_pass for i in page}["m05"] == "updated"

    async def test_list_banks_names_non_empty_banks_sorted(self, store: VectorStore) -> None:
        await store.store_vectors([self._item("m1", bank="zeta"), self._item("m1", bank="alpha")])
        await store.store_vectors([self._item("m2", bank="mu")])
        assert await store.list_banks() == ["alpha", "mu", "zeta"]
        assert await store.delete(["m2"], "mu") == 1
        assert await store.list_banks() == ["alpha", "zeta"]

    # ----------------------------------------------------------------- concurrency and scale

    async def test_concurrent_writers_lose_nothing(self, store: VectorStore) -> None:
        vectors = random_vectors(100, self.dimensions, seed=3)

        async def writer(task: int) -> None:
            batch = [self._item(f"w{task}-{i}", vector=vectors[task * 5 + i]) for i in range(5)]
            await store.store_vectors(batch)
            await store.search_similar(vectors[task], _BANK, limit=3)

        await asyncio.gather(*(writer(t) for t in range(20)))
        ids = [i.id for i in await store.list_vectors(_BANK, limit=1000)]
        assert sorted(ids) == sorted(f"w{t}-{i}" for t in range(20) for i in range(5))

    @pytest.mark.slow
    async def test_ten_thousand_items_in_one_batch(self, store: VectorStore) -> None:
        count = 10_000
        vectors = random_vectors(count, self.dimensions, seed=4)
        items = [
            VectorItem(id=f"m{i}", bank_id=_BANK, vector=v, text=f"memory {i}", metadata={"bucket": i % 100})
            for i, v in enumerate(vectors)
        ]
        assert len(await store.store_vectors(items)) == count

        hits = await store.search_similar(vectors[4321], _BANK, limit=5)
        assert hits[0].id == "m4321"
        assert hits[0].score == pytest.approx(1.0, abs=_SCORE_TOL)
        filtered = await store.search_similar(
            vectors[0], _BANK, limit=10, filters=VectorFilters(metadata={"bucket": 7})
        )
        assert len(filtered) == 10
        assert all(h.metadata["bucket"] == 7 for h in filtered)
        _assert_ranked(filtered)

        seen: set[str] = set()
        for offset in range(0, count, 2500):
            seen.update(i.id for i in await store.list_vectors(_BANK, offset=offset, limit=2500))
        assert len(seen) == count

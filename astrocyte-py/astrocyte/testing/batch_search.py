"""The contract of the optional VectorStore capability
:class:`~astrocyte.provider.BatchSimilaritySearch` (``search_similar_many``): every answer equals what
``search_similar`` gives for that vector alone (less the hits below ``min_score`` when one is given)."""

from __future__ import annotations

from typing import Any

import pytest

from astrocyte.errors import DimensionMismatchError
from astrocyte.provider import BatchSimilaritySearch, VectorStore
from astrocyte.testing._data import random_vectors
from astrocyte.types import VectorHit, VectorItem

__all__ = ["BatchSimilaritySearchContract"]

_BANK = "bank-a"
_OTHER = "bank-b"
_SCORE_TOL = 1e-4  # float32 storage and (cos + 1) / 2 mapping


def _items(bank: str, vectors: list[list[float]], text: str) -> list[VectorItem]:
    return [
        VectorItem(id=f"m{i:03d}", bank_id=bank, vector=v, text=f"{text} {i}", metadata={"n": i})
        for i, v in enumerate(vectors)
    ]


def _assert_same_hits(batched: list[VectorHit], single: list[VectorHit]) -> None:
    assert [(h.id, h.text, h.metadata) for h in batched] == [(h.id, h.text, h.metadata) for h in single]
    assert [h.score for h in batched] == pytest.approx([h.score for h in single], abs=_SCORE_TOL)


class BatchSimilaritySearchContract:
    """Subclass next to :class:`~astrocyte.testing.VectorStoreContract` with the same ``store`` fixture."""

    dimensions = 8

    @pytest.fixture
    def store(self) -> Any:
        pytest.fail(
            "subclass BatchSimilaritySearchContract and define a `store` fixture yielding a fresh store"
        )

    async def _one_by_one(self, store: Any, queries: list[list[float]], bank: str, limit: int) -> list[Any]:
        return [await store.search_similar(q, bank, limit=limit) for q in queries]

    async def test_declares_the_capability(self, store: Any) -> None:
        assert isinstance(store, VectorStore)
        assert isinstance(store, BatchSimilaritySearch)

    @pytest.mark.parametrize("limit", [1, 4])
    async def test_each_answer_equals_a_single_search(self, store: Any, limit: int) -> None:
        stored = random_vectors(60, self.dimensions, seed=11)
        await store.store_vectors(_items(_BANK, stored, "memory"))
        # Stored vectors (their own nearest), fresh ones, and a repeat: answers stay in query order.
        queries = [stored[7], *random_vectors(6, self.dimensions, seed=12), stored[42], stored[7]]
        batched = await store.search_similar_many(queries, _BANK, limit=limit)
        single = await self._one_by_one(store, queries, _BANK, limit)
        assert len(batched) == len(queries)
        for got, expected in zip(batched, single, strict=True):
            assert len(got) == limit
            _assert_same_hits(got, expected)
        assert batched[0][0].id == "m007"
        assert batched[0][0].score == pytest.approx(1.0, abs=_SCORE_TOL)

    async def test_min_score_leaves_out_farther_hits(self, store: Any) -> None:
        stored = random_vectors(60, self.dimensions, seed=23)
        await store.store_vectors(_items(_BANK, stored, "memory"))
        nudge = random_vectors(1, self.dimensions, seed=24)[0]
        near_five = [x + 0.03 * n for x, n in zip(stored[5], nudge, strict=True)]  # cosine ~0.999
        queries = [stored[9], near_five, *random_vectors(4, self.dimensions, seed=25)]
        floor = 0.975  # cosine 0.95: a near-duplicate probe
        batched = await store.search_similar_many(queries, _BANK, limit=3, min_score=floor)
        single = await self._one_by_one(store, queries, _BANK, 3)
        for got, expected in zip(batched, single, strict=True):
            _assert_same_hits(got, [h for h in expected if h.score >= floor])
        assert [hits[0].id for hits in batched[:2]] == ["m009", "m005"]
        assert all(h.score >= floor for hits in batched for h in hits)

    async def test_no_vectors_no_answers(self, store: Any) -> None:
        await store.store_vectors(_items(_BANK, random_vectors(3, self.dimensions, seed=13), "memory"))
        assert await store.search_similar_many([], _BANK, limit=3) == []
        assert await store.search_similar_many([], "no-such-bank", limit=3) == []

    async def test_unknown_bank_answers_empty_per_vector(self, store: Any) -> None:
        await store.store_vectors(_items(_BANK, random_vectors(3, self.dimensions, seed=14), "memory"))
        queries = random_vectors(2, self.dimensions, seed=15)
        assert await store.search_similar_many(queries, "no-such-bank", limit=3) == [[], []]

    async def test_banks_stay_isolated(self, store: Any) -> None:
        # The same ids in two banks with different vectors: each bank answers from its own rows only.
        await store.store_vectors(_items(_BANK, random_vectors(20, self.dimensions, seed=16), "in A"))
        await store.store_vectors(_items(_OTHER, random_vectors(20, self.dimensions, seed=17), "in B"))
        queries = random_vectors(5, self.dimensions, seed=18)
        for bank, prefix in ((_BANK, "in A"), (_OTHER, "in B")):
            batched = await store.search_similar_many(queries, bank, limit=3)
            assert all(h.text.startswith(prefix) for hits in batched for h in hits)
            for got, expected in zip(batched, await self._one_by_one(store, queries, bank, 3), strict=True):
                _assert_same_hits(got, expected)

    async def test_limit_above_the_bank_size_returns_every_item(self, store: Any) -> None:
        await store.store_vectors(_items(_BANK, random_vectors(5, self.dimensions, seed=19), "memory"))
        batched = await store.search_similar_many(
            random_vectors(3, self.dimensions, seed=20), _BANK, limit=50
        )
        assert [sorted(h.id for h in hits) for hits in batched] == [[f"m{i:03d}" for i in range(5)]] * 3
        assert all(
            [h.score for h in hits] == sorted((h.score for h in hits), reverse=True) for hits in batched
        )

    async def test_query_of_wrong_dimension_is_rejected(self, store: Any) -> None:
        await store.store_vectors(_items(_BANK, random_vectors(3, self.dimensions, seed=21), "memory"))
        good = random_vectors(1, self.dimensions, seed=22)[0]
        with pytest.raises(DimensionMismatchError):
            await store.search_similar_many([good, [1.0] * (self.dimensions - 1)], _BANK, limit=1)

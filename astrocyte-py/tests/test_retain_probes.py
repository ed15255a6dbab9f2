"""Retain's near-duplicate probes: one batched search per bank when the vector store offers
:class:`~astrocyte.provider.BatchSimilaritySearch`, single searches otherwise, with the same outcome."""

from __future__ import annotations

from typing import Any

from astrocyte import Astrocyte
from astrocyte.embeddings.hashing import HashingEmbedder
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.policy.breaker import guard_stores
from astrocyte.policy.settings import CircuitBreakerSettings
from astrocyte.provider import BatchSimilaritySearch, VectorStore
from astrocyte.stores.memory import InMemoryDocumentStore, InMemoryVectorStore
from astrocyte.types import RetainResult


class _SingleSearchOnly:
    """A real in-memory vector store seen through the VectorStore methods alone (no batched search)."""

    SPI_VERSION = 1

    def __init__(self, inner: Any) -> None:
        self.store_vectors = inner.store_vectors
        self.search_similar = inner.search_similar
        self.delete = inner.delete
        self.list_vectors = inner.list_vectors
        self.list_banks = inner.list_banks
        self.health = inner.health
        self.close = inner.close


_FIRST = [
    ("a", "Bob likes green tea in the morning.", True),
    ("a", "Bob likes green tea in the morning.", True),  # repeat within the batch
    ("b", "Bob likes green tea in the morning.", True),  # another bank: kept
    ("a", "Carla sails to Lisbon every summer.", True),
    ("a", "Carla sails to Lisbon every summer.", False),  # dedup off: kept
    ("b", "Dev fixes old radios on weekends.", True),
]
_SECOND = [
    ("a", "Carla sails to Lisbon every summer!", True),  # near-duplicate of a stored memory
    ("b", "Dev fixes old radios on weekends.", True),
    ("a", "Emil bakes rye bread for the market.", True),
]


async def _retain_all(memory: Astrocyte) -> list[tuple[list[str], dict[str, str]]]:
    outcome: list[RetainResult] = []
    for round_, batch in enumerate((_FIRST, _SECOND)):
        outcome += await memory.retain_many(
            [
                {"content": text, "bank_id": bank, "deduplicate": dedup, "idempotency_key": f"{round_}-{i}"}
                for i, (bank, text, dedup) in enumerate(batch)
            ]
        )
    return [(r.memory_ids, r.duplicate_of) for r in outcome]


async def test_batched_and_single_probes_decide_alike() -> None:
    async with (
        Astrocyte.from_config({"profile": "minimal"}) as batched,
        Astrocyte.from_config({"profile": "minimal"}) as single,
    ):
        assert isinstance(batched.stores.vector, BatchSimilaritySearch)
        single.stores.vector = _SingleSearchOnly(single.stores.vector)
        assert isinstance(single.stores.vector, VectorStore)
        assert not isinstance(single.stores.vector, BatchSimilaritySearch)

        with_batch, without = await _retain_all(batched), await _retain_all(single)
    assert with_batch == without
    kept = [bool(ids) for ids, _ in with_batch]
    assert kept == [True, False, True, True, True, True, False, False, True]


def test_guarded_store_offers_batched_search_only_when_the_store_does() -> None:
    stores = MemoryStores(
        vector=InMemoryVectorStore(),
        embedder=HashingEmbedder(dimensions=16),
        document=InMemoryDocumentStore(),
    )
    guarded = guard_stores(stores, CircuitBreakerSettings())
    assert guarded.vector is not stores.vector
    assert isinstance(guarded.vector, BatchSimilaritySearch)
    assert not isinstance(guarded.document, BatchSimilaritySearch)
    bare = guard_stores(
        MemoryStores(vector=_SingleSearchOnly(InMemoryVectorStore()), embedder=stores.embedder),
        CircuitBreakerSettings(),
    )
    assert not isinstance(bare.vector, BatchSimilaritySearch)


async def test_bulk_load_skips_probes_of_stored_memories_but_drops_batch_repeats() -> None:
    text = "Carla sails to Lisbon every summer."
    async with Astrocyte.from_config({"profile": "minimal"}) as memory:
        first = await memory.retain(text, bank_id="a")
        async with memory.bulk_load():
            inside = await memory.retain_many([{"content": text, "bank_id": "a"}] * 2)
        outside = await memory.retain(text, bank_id="a")
    assert len(inside[0].memory_ids) == 1  # the stored twin was not probed
    assert inside[1].duplicate_of == {"0": inside[0].memory_ids[0]}  # a repeat within the batch was
    assert outside.memory_ids == []
    assert outside.duplicate_of["0"] in {first.memory_ids[0], inside[0].memory_ids[0]}

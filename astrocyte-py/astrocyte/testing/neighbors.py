"""The contract of the optional DocumentStore capabilities :class:`~astrocyte.provider.DocumentBatchLookup`
(``get_documents``) and :class:`~astrocyte.provider.NeighborLookup` (``get_neighbors``)."""

from __future__ import annotations

from typing import Any

import pytest

from astrocyte.provider import DocumentBatchLookup, NeighborLookup
from astrocyte.types import Document

__all__ = ["DocumentBatchLookupContract", "NeighborLookupContract"]

_BANK = "bank-a"
_OTHER = "bank-b"


def _turns(bank_tag: str, count: int) -> list[Document]:
    return [Document(id=f"t{i}", text=f"{bank_tag} turn {i}") for i in range(count)]


def _layout(found: dict[str, list[Any]]) -> dict[str, list[tuple[int, str]]]:
    return {key: [(n.offset, n.document.id) for n in group] for key, group in found.items()}


class DocumentBatchLookupContract:
    """Subclass next to :class:`DocumentStoreContract` with the same ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Any:
        pytest.fail(
            "subclass DocumentBatchLookupContract and define a `store` fixture yielding a fresh store"
        )

    async def test_declares_batch_lookup(self, store: Any) -> None:
        assert isinstance(store, DocumentBatchLookup)

    async def test_get_documents_keeps_request_order_and_skips_unknown(self, store: Any) -> None:
        await store.store_documents(_turns("a", 4), _BANK)
        docs = await store.get_documents(["t3", "ghost", "t0", "t3"], _BANK)
        assert [(d.id, d.text) for d in docs] == [("t3", "a turn 3"), ("t0", "a turn 0")]
        assert await store.get_documents([], _BANK) == []
        assert await store.get_documents(["t0"], _OTHER) == []


class NeighborLookupContract(DocumentBatchLookupContract):
    """Subclass next to :class:`DocumentStoreContract` with the same ``store`` fixture (a store that
    finds neighbours also reads documents in batches)."""

    async def test_declares_neighbor_lookup(self, store: Any) -> None:
        assert isinstance(store, NeighborLookup)

    async def test_neighbors_follow_retain_order_within_the_bank(self, store: Any) -> None:
        # Interleave two banks so a store ordering by a global counter must still stay in its bank.
        for i in range(5):
            await store.store_documents([Document(id=f"t{i}", text=f"a turn {i}")], _BANK)
            await store.store_documents([Document(id=f"t{i}", text=f"b turn {i}")], _OTHER)
        found = await store.get_neighbors(["t2", "t0", "t4", "ghost"], _BANK, window=1)
        assert _layout(found) == {"t2": [(-1, "t1"), (1, "t3")], "t0": [(1, "t1")], "t4": [(-1, "t3")]}
        wide = await store.get_neighbors(["t2"], _BANK, window=2)
        assert _layout(wide) == {"t2": [(-2, "t0"), (-1, "t1"), (1, "t3"), (2, "t4")]}
        assert {n.document.text for n in wide["t2"]} == {"a turn 0", "a turn 1", "a turn 3", "a turn 4"}

    async def test_one_batch_keeps_its_order(self, store: Any) -> None:
        # Retain order is the order of the batch, whatever order the ids sort in.
        batch = [Document(id=doc_id, text=f"turn {doc_id}") for doc_id in ("t9", "t1", "t5", "t3")]
        await store.store_documents(batch, _BANK)
        found = await store.get_neighbors(["t1", "t3"], _BANK, window=1)
        assert _layout(found) == {"t1": [(-1, "t9"), (1, "t5")], "t3": [(-1, "t5")]}

    async def test_upsert_keeps_place_and_delete_closes_the_gap(self, store: Any) -> None:
        await store.store_documents(_turns("a", 4), _BANK)
        await store.store_documents([Document(id="t1", text="edited")], _BANK)
        await store.delete(["t2"], _BANK)
        found = await store.get_neighbors(["t1"], _BANK, window=1)
        assert _layout(found) == {"t1": [(-1, "t0"), (1, "t3")]}

    async def test_nothing_for_unknown_bank_empty_ids_or_zero_window(self, store: Any) -> None:
        await store.store_documents(_turns("a", 3), _BANK)
        assert await store.get_neighbors(["t1"], _OTHER, window=1) == {}
        assert await store.get_neighbors([], _BANK, window=1) == {}
        assert await store.get_neighbors(["t1"], _BANK, window=0) == {}

"""Failure injection for retain's all-or-nothing tests: a real store that refuses its write to one bank.

``refusing(PostgresVectorStore, "vector")`` is a subclass whose batch write to :data:`REFUSED_BANK`
yields once (so the bank's other store writes are under way, as retain runs them concurrently), sets
the instance's ``refused`` event and raises ``OSError``; every other bank is written normally.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypeVar

from astrocyte.types import Document, Entity, VectorItem

__all__ = ["REFUSED_BANK", "refusing"]

#: Writes to this bank are refused by the stores :func:`refusing` makes.
REFUSED_BANK = "doomed"

_Store = TypeVar("_Store")


class _Refusing:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused = asyncio.Event()

    async def _refuse(self, bank_id: str) -> None:
        await asyncio.sleep(0)
        if bank_id == REFUSED_BANK:
            self.refused.set()
            raise OSError("disk full")


class _RefusingVectors(_Refusing):
    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        await self._refuse(items[0].bank_id)
        return await super().store_vectors(items)  # type: ignore[misc, no-any-return]


class _RefusingDocuments(_Refusing):
    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        await self._refuse(bank_id)
        return await super().store_documents(documents, bank_id)  # type: ignore[misc, no-any-return]


class _RefusingEntities(_Refusing):
    async def store_entities(self, entities: list[Entity], bank_id: str) -> list[str]:
        await self._refuse(bank_id)
        return await super().store_entities(entities, bank_id)  # type: ignore[misc, no-any-return]


_MIXINS: dict[str, type[_Refusing]] = {
    "vector": _RefusingVectors,
    "document": _RefusingDocuments,
    "graph": _RefusingEntities,
}


def refusing(store_class: type[_Store], kind: Literal["vector", "document", "graph"]) -> type[_Store]:
    """``store_class`` (a vector, document or graph store) refusing its write to :data:`REFUSED_BANK`."""
    return type(f"Refusing{store_class.__name__}", (_MIXINS[kind], store_class), {})

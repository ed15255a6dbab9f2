"""Quotas: how many memories and bytes of memory text a bank may hold.

Usage of a bank is counted from the system of record (the vector store) the first time the bank is
checked, then tracked as retains succeed; a forget drops the count so the next check recounts.
Check and write happen under one lock per bank, so concurrent retains cannot overshoot together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from astrocyte.errors import QuotaExceededError
from astrocyte.policy.settings import QuotaSettings
from astrocyte.provider import VectorStore

__all__ = ["BankUsage", "QuotaTracker"]

_PAGE = 1000


@dataclass(slots=True)
class BankUsage:
    memories: int = 0
    bytes: int = 0


class QuotaTracker:
    def __init__(self, settings: QuotaSettings, vector: VectorStore) -> None:
        self._settings = settings
        self._vector = vector
        self._usage: dict[str, BankUsage] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    async def usage(self, bank_id: str) -> BankUsage:
        """Current usage of ``bank_id`` (counted from the vector store when not yet known)."""
        known = self._usage.get(bank_id)
        if known is not None:
            return known
        counted = BankUsage()
        offset = 0
        while True:
            page = await self._vector.list_vectors(bank_id, offset=offset, limit=_PAGE)
            counted.memories += len(page)
            counted.bytes += sum(len(item.text.encode("utf-8")) for item in page)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        self._usage[bank_id] = counted
        return counted

    def _check(self, bank_id: str, usage: BankUsage, memories: int, size: int) -> None:
        limits = self._settings.limits_for(bank_id)
        if limits.max_memories is not None and usage.memories + memories > limits.max_memories:
            raise QuotaExceededError(
                bank_id=bank_id,
                quota="max_memories",
                limit=limits.max_memories,
                usage=usage.memories,
                requested=memories,
            )
        if limits.max_bytes is not None and usage.bytes + size > limits.max_bytes:
            raise QuotaExceededError(
                bank_id=bank_id, quota="max_bytes", limit=limits.max_bytes, usage=usage.bytes, requested=size
            )

    @asynccontextmanager
    async def reserve(self, wanted: Mapping[str, tuple[int, int]]) -> AsyncIterator[dict[str, BankUsage]]:
        """Hold the banks' locks, check ``wanted`` (bank → (memories, bytes)) fits, and yield the
        usage records for the caller to add what it really wrote."""
        if not self.enabled:
            yield {}
            return
        async with AsyncExitStack() as stack:
            for bank_id in sorted(wanted):  # one lock order: no deadlock between batches
                await stack.enter_async_context(self._locks.setdefault(bank_id, asyncio.Lock()))
            records: dict[str, BankUsage] = {}
            for bank_id, (memories, size) in wanted.items():
                records[bank_id] = await self.usage(bank_id)
                self._check(bank_id, records[bank_id], memories, size)
            yield records

    def forget(self, bank_id: str) -> None:
        """Drop the tracked usage of ``bank_id`` (recounted on its next check)."""
        self._usage.pop(bank_id, None)

"""Per-bank snapshots of memory summaries, so the banks and bank pages do not rescan the store on
every load (the vector-store SPI has no count; a scan of 10k memories takes seconds).

A snapshot is rebuilt after a retain or forget into its bank (seen on the audit trail) and when it
is older than ``max_age_seconds`` — writers in other processes are not on this gateway's trail.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from astrocyte import Astrocyte
from astrocyte.policy.audit import AuditEvent
from astrocyte_gateway.console._scan import StoredMemory, retained_at, scan_bank
from astrocyte_gateway.console.models import MemorySummary

__all__ = ["BankIndex", "BankSnapshot"]

_SNIPPET = 240
_WRITES = frozenset({"retain", "forget"})


@dataclass(frozen=True, slots=True)
class BankSnapshot:
    memories: list[MemorySummary]  # the store's insertion order (oldest first)
    size_bytes: int
    last_write: datetime | None
    taken_at: float


def summarise(item: StoredMemory) -> MemorySummary:
    text = item.text if len(item.text) <= _SNIPPET else item.text[: _SNIPPET - 1] + "…"
    return MemorySummary(
        memory_id=item.id,
        text=text,
        tags=item.tags,
        occurred_at=item.occurred_at,
        retained_at=retained_at(item),
    )


class BankIndex:
    def __init__(self, memory: Astrocyte, max_age_seconds: float = 30.0) -> None:
        self._memory = memory
        self._max_age = max_age_seconds
        self._snapshots: dict[str, BankSnapshot] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._writes: dict[str, int] = {}  # writes seen per bank, to spot one landing mid-scan

    def observe(self, event: AuditEvent) -> None:
        """Audit-trail listener: a write into a bank makes its snapshot stale."""
        if event.action in _WRITES and event.bank_id is not None:
            self._snapshots.pop(event.bank_id, None)
            self._writes[event.bank_id] = self._writes.get(event.bank_id, 0) + 1

    async def snapshot(self, bank_id: str) -> BankSnapshot:
        current = self._snapshots.get(bank_id)
        if current is not None and time.monotonic() - current.taken_at < self._max_age:
            return current
        async with self._locks.setdefault(bank_id, asyncio.Lock()):  # one rescan per bank at a time
            current = self._snapshots.get(bank_id)
            if current is not None and time.monotonic() - current.taken_at < self._max_age:
                return current
            writes = self._writes.get(bank_id, 0)
            fresh = await self._scan(bank_id)
            if self._writes.get(bank_id, 0) == writes:  # else the scan may have missed it: do not keep
                self._snapshots[bank_id] = fresh
            return fresh

    async def _scan(self, bank_id: str) -> BankSnapshot:
        taken_at = time.monotonic()
        memories: list[MemorySummary] = []
        size = 0
        async for page in scan_bank(self._memory, bank_id):
            memories.extend(summarise(item) for item in page)
            size += sum(len(item.text.encode("utf-8")) for item in page)
        stamps = [m.retained_at for m in memories if m.retained_at is not None]
        return BankSnapshot(memories, size, max(stamps, default=None), taken_at)

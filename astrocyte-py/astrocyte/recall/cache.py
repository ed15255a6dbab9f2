"""Tier 0 of tiered retrieval: recent recall results keyed on (banks, normalised query, filters).

Every write or forget to a bank bumps that bank's generation. An entry remembers the generations of
its banks from *before* its recall ran and is served only while they are unchanged — so a result
computed while a forget was in flight can never be served afterwards, and a forgotten memory is
never returned from the cache.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from astrocyte.recall_settings import RecallCacheSettings
from astrocyte.types import RecallRequest, RecallResult

__all__ = ["RecallCache", "normalise_query"]

_SPACE = re.compile(r"\s+")


def normalise_query(query: str) -> str:
    """Case-folded, whitespace collapsed, trailing ``?!.`` dropped: "Where is  Bob?" == "where is bob"."""
    return _SPACE.sub(" ", query.casefold()).strip().rstrip("?!. ")


@dataclass(slots=True)
class _Entry:
    banks: tuple[str, ...]
    generations: tuple[int, ...]
    stored_at: float
    result: RecallResult


class RecallCache:
    def __init__(self, settings: RecallCacheSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = settings.max_entries
        self._ttl = settings.ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._generation: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self._max > 0

    @staticmethod
    def key(
        request: RecallRequest, banks: list[str], weights: Mapping[str, float] | None, now: datetime | None
    ) -> str | None:
        """The cache key, or ``None`` for requests never cached (caller-supplied external context)."""
        if request.external_context:
            return None
        return json.dumps(
            [
                sorted(banks),
                normalise_query(request.query),
                request.model_dump(mode="json", include={"max_results", "max_tokens", "tags", "time_range"}),
                sorted(request.strategies) if request.strategies is not None else None,
                sorted((weights or {}).items()),
                now.isoformat() if now is not None else None,
            ],
            default=str,
        )

    def generations(self, banks: list[str]) -> tuple[int, ...]:
        """Take this *before* recalling; hand it to :meth:`put` with the result."""
        return tuple(self._generation.get(bank, 0) for bank in sorted(banks))

    def get(self, key: str) -> RecallResult | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        current = tuple(self._generation.get(bank, 0) for bank in entry.banks)
        if current != entry.generations or self._clock() - entry.stored_at > self._ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.result.model_copy(deep=True)

    def put(self, key: str, banks: list[str], generations: tuple[int, ...], result: RecallResult) -> None:
        if not self.enabled or generations != self.generations(banks):
            return  # a write or forget landed while this recall ran: its result may be stale
        self._entries[key] = _Entry(
            tuple(sorted(banks)), generations, self._clock(), result.model_copy(deep=True)
        )
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def invalidate(self, bank_id: str) -> None:
        """A write or forget touched ``bank_id``: no entry over it is served again."""
        self._generation[bank_id] = self._generation.get(bank_id, 0) + 1
        for key in [k for k, entry in self._entries.items() if bank_id in entry.banks]:
            del self._entries[key]

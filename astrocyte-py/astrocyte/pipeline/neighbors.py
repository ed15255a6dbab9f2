"""Neighbour-turn spreading (sync, pure): evidence often sits in the turn next to the one that
matched ("Did you go?" — "Yes, the parade was great"), so a hit lends part of its score to the
memories retained just before and after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from astrocyte.stores._filters import as_utc

__all__ = ["Adjacent", "Seed", "neighbor_bonus"]


@dataclass(frozen=True, slots=True)
class Seed:
    key: str
    score: float
    occurred_at: datetime | None


@dataclass(frozen=True, slots=True)
class Adjacent:
    key: str
    offset: int
    occurred_at: datetime | None


def neighbor_bonus(
    seeds: Sequence[Seed],
    neighbors: Mapping[str, Sequence[Adjacent]],
    *,
    weight: float,
    max_gap: timedelta | None,
) -> dict[str, float]:
    """Bonus per neighbour key: the best ``weight · seed score / |offset|`` over the seeds next to it.

    A neighbour further than ``max_gap`` in time from its seed (both timestamps known) belongs to
    another conversation or session and gets nothing from it. The max, not the sum, keeps a turn
    surrounded by many weak hits from outranking the hits themselves.
    """
    bonus: dict[str, float] = {}
    for seed in seeds:
        seed_time = as_utc(seed.occurred_at)
        for adjacent in neighbors.get(seed.key, ()):
            other_time = as_utc(adjacent.occurred_at)
            known_times = seed_time is not None and other_time is not None
            if max_gap is not None and known_times and abs(other_time - seed_time) > max_gap:  # type: ignore[operator]
                continue
            value = weight * seed.score / abs(adjacent.offset)
            if value > bonus.get(adjacent.key, 0.0):
                bonus[adjacent.key] = value
    return bonus

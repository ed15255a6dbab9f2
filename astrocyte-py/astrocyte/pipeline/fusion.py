"""Weighted reciprocal-rank fusion (sync, pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["rrf_fuse"]


def rrf_fuse(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float] | None = None, k: int = 60
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: ``score(id) = Σ_s weight_s / (k + rank_s(id))`` with 1-based ranks.

    Ties keep the order in which ids were first seen (strategy order, then rank), so fusion is
    deterministic. Strategies missing from ``weights`` weigh 1.0; a weight of 0 ignores a strategy.
    """
    scores: dict[str, float] = {}
    for name, ids in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        if weight <= 0:
            continue
        seen: set[str] = set()
        rank = 0
        for memory_id in ids:
            if memory_id in seen:  # a strategy lists each id once; ignore repeats
                continue
            seen.add(memory_id)
            rank += 1
            scores[memory_id] = scores.get(memory_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])

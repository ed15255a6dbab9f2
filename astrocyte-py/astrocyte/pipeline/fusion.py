"""Fusion of per-strategy rankings into one (sync, pure).

Two fusers share one input shape, ``{strategy: [(id, score), ...]}`` best first:

* :func:`rrf_fuse` — weighted reciprocal-rank fusion; only ranks count.
* :func:`score_fuse` — each strategy's scores are min-max normalised to [0, 1] and blended with a
  rank prior, then summed with the strategy weights. Unlike RRF it keeps *how much* better the top
  hit of a strategy is than the rest, so one confident strategy can outvote two lukewarm ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Literal

__all__ = ["FusionMode", "rrf_fuse", "score_fuse"]

FusionMode = Literal["score", "rrf"]


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


def score_fuse(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float] | None = None,
    *,
    rank_blend: float = 0.3,
    k: int = 60,
) -> list[tuple[str, float]]:
    """Fuse scored rankings: ``Σ_s weight_s · ((1 - rank_blend) · norm_s(id) + rank_blend · prior_s(id))``.

    ``norm_s`` min-max normalises strategy ``s``'s scores over its own candidates (a strategy whose
    candidates all score the same gives each 1.0); ``prior_s = (k + 1) / (k + rank)`` is 1.0 at rank 1
    and decays like RRF. The result is sorted descending; ties keep first-seen order. Strategies
    missing from ``weights`` weigh 1.0; a weight of 0 ignores a strategy; repeated ids count once.
    """
    if not 0.0 <= rank_blend <= 1.0:
        raise ValueError(f"rank_blend must be within [0, 1], got {rank_blend}")
    score_share, top_prior = 1.0 - rank_blend, k + 1
    fused: dict[str, float] = {}
    for name, scored in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        if weight <= 0 or not scored:
            continue
        distinct = _first_seen(scored)
        low = min(distinct.values())
        spread = max(distinct.values()) - low
        for rank, (memory_id, score) in enumerate(distinct.items(), start=1):
            norm = (score - low) / spread if spread > 0 else 1.0
            contribution = weight * (score_share * norm + rank_blend * (top_prior / (k + rank)))
            fused[memory_id] = fused.get(memory_id, 0.0) + contribution
    return sorted(fused.items(), key=itemgetter(1), reverse=True)  # a stable sort: ties keep their order


def _first_seen(scored: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Each id's first score, in first-seen order."""
    first: dict[str, float] = {}
    for memory_id, score in scored:
        if memory_id not in first:
            first[memory_id] = score
    return first

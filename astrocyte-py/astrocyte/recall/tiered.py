"""Cost-tiered recall (``tiered_retrieval:``): spend only as much work as the question needs.

* tier 0 — the recall cache (exact request seen recently, no write or forget since);
* tier 1 — vector + full text (and the time-scoped vector search when the query names a time);
* tier 2 — every configured strategy (graph expansion) plus the proxy sources of the banks;
* tier 3 — with an ``llm_provider``: the model rewrites the query, both rankings are fused and the
  model reranks the result.

A tier is *sufficient* when at least ``min_results`` hits (capped at the request's ``max_results``)
reach ``min_score`` of agreement: ``Σ weight · (k + 1) / (k + rank)`` over the strategies that
returned the hit, divided by the weights of all strategies that ran (1.0 = ranked first by every
strategy; a hit only one of two equal strategies found stays below 0.5). Recall stops at the first sufficient tier;
``trace.tiers`` lists the tiers that ran with their cost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime

from astrocyte.config import RecallSettings
from astrocyte.errors import ProviderError, StoreError
from astrocyte.pipeline.fusion import rrf_fuse
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.recall.cache import RecallCache
from astrocyte.recall.pipelines import RecallPipelines
from astrocyte.recall.proxy import ProxyRecall
from astrocyte.recall_settings import TieredRetrievalConfig
from astrocyte.types import LLMMessage, MemoryHit, RecallRequest, RecallResult, RecallTrace, TierTrace

__all__ = ["TIER1_STRATEGIES", "TieredRecall"]

#: Strategies of tier 1: the cheap index lookups.
TIER1_STRATEGIES = ("vector", "fulltext", "temporal")
_SEP = "\x1f"
_REWRITE_PROMPT = (
    "Rewrite the user's question as one search query for a memory store: keep every name, date and "
    "key term, add close synonyms. Answer with the query only, on one line."
)
_RERANK_PROMPT = (
    "Order the numbered memories by how well they answer the question. Answer with the numbers only, "
    "most relevant first, separated by commas."
)
_NUMBER = re.compile(r"\d+")


class TieredRecall:
    def __init__(
        self,
        stores: MemoryStores,
        pipelines: RecallPipelines,
        proxies: ProxyRecall | None,
        settings: TieredRetrievalConfig,
        recall: RecallSettings,
    ) -> None:
        self._stores = stores
        self._pipelines = pipelines
        self._proxies = proxies
        self._settings = settings
        self._recall = recall
        self.cache = RecallCache(settings.cache)

    async def recall(
        self,
        request: RecallRequest,
        banks: list[str],
        *,
        now: datetime | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> RecallResult:
        started = time.perf_counter()
        key = RecallCache.key(request, banks, weights, now) if self.cache.enabled else None
        tiers: list[TierTrace] = []
        if key is not None:
            cached = self.cache.get(key)
            took = (time.perf_counter() - started) * 1000
            if cached is not None:
                tier = TierTrace(
                    tier=0, name="cache", duration_ms=took, hits=len(cached.hits), sufficient=True
                )
                cached.trace.tiers = [tier]
                cached.trace.total_ms = took
                cached.trace.embedding_ms = 0.0
                return cached
            tiers.append(TierTrace(tier=0, name="cache", duration_ms=took, note="miss"))
        generations = self.cache.generations(banks)

        result, sufficient = await self._escalate(request, banks, now, weights, tiers)
        result.trace.tiers = tiers
        result.trace.embedding_ms = sum(tier.embedding_ms for tier in tiers)  # every tier embeds the query
        result.trace.total_ms = (time.perf_counter() - started) * 1000
        if not sufficient:
            result.trace.notes.append(
                f"no tier reached min_results={self._settings.min_results} at min_score={self._settings.min_score}"
            )
        if key is not None:
            self.cache.put(key, banks, generations, result)
        return result

    async def _escalate(
        self,
        request: RecallRequest,
        banks: list[str],
        now: datetime | None,
        weights: Mapping[str, float] | None,
        tiers: list[TierTrace],
    ) -> tuple[RecallResult, bool]:
        active = [
            name
            for name, weight in self._pipelines.weights(weights).items()
            if weight > 0 and (request.strategies is None or name in request.strategies)
        ]
        cheap = [name for name in active if name in TIER1_STRATEGIES]
        result: RecallResult | None = None
        if cheap:
            started = time.perf_counter()
            result = await self._pipelines.get(weights, proxies=False).recall(
                request.model_copy(update={"strategies": cheap}), banks, now=now
            )
            sufficient = self._sufficient(result, request.max_results)
            tiers.append(self._trace(1, "vector+fulltext", started, result, sufficient))
            if sufficient:
                return result, True
        more = [name for name in active if name not in TIER1_STRATEGIES]
        has_proxies = bool(self._proxies and self._proxies.for_banks(banks))
        if result is None or (self._settings.max_tier >= 2 and (more or has_proxies)):
            started = time.perf_counter()
            result = await self._pipelines.get(weights).recall(request, banks, now=now)
            sufficient = self._sufficient(result, request.max_results)
            tiers.append(self._trace(2, "graph+proxies", started, result, sufficient))
            if sufficient:
                return result, True
        assert result is not None
        if self._settings.max_tier >= 3 and self._stores.llm is not None:
            started = time.perf_counter()
            earlier = len(result.trace.strategies)
            try:
                result = await self._llm_tier(request, banks, now, weights, result)
            except (ProviderError, StoreError) as exc:  # the model is an optional extra: keep tier 2
                failed = TierTrace(tier=3, name="llm rewrite+rerank", note=f"failed, tier 2 hits kept: {exc}")
                failed.duration_ms = (time.perf_counter() - started) * 1000
                tiers.append(failed)
                return result, False
            tier = self._trace(3, "llm rewrite+rerank", started, result, True, llm_calls=2)
            tier.store_calls = len(result.trace.strategies) - earlier  # only the rewritten query's searches
            tiers.append(tier)
            return result, True
        return result, False

    # ------------------------------------------------------------------ sufficiency

    def _sufficient(self, result: RecallResult, max_results: int) -> bool:
        support = self._support(result.trace)
        good = sum(
            1
            for hit in result.hits
            if support.get((hit.bank_id, hit.memory_id), 0.0) >= self._settings.min_score
        )
        return good >= min(self._settings.min_results, max_results)

    def _support(self, trace: RecallTrace) -> dict[tuple[str | None, str], float]:
        """How much the strategies that ran agree on each memory, from their rankings alone (so the
        fusion mode and post-fusion boosts do not matter): ``Σ weight · (k + 1) / (k + rank)`` over the
        strategies that returned it, divided by the weights of every strategy that ran on its bank."""
        k = self._recall.rrf_k
        totals: dict[str | None, float] = {}
        support: dict[tuple[str | None, str], float] = {}
        for run in trace.strategies:
            if run.error is not None or run.name.startswith("proxy:"):
                continue
            totals[run.bank_id] = totals.get(run.bank_id, 0.0) + run.weight
            for rank, memory_id in enumerate(dict.fromkeys(run.hit_ids), start=1):
                key = (run.bank_id, memory_id)
                support[key] = support.get(key, 0.0) + run.weight * (k + 1) / (k + rank)
        return {key: value / totals[key[0]] for key, value in support.items() if totals[key[0]] > 0}

    @staticmethod
    def _trace(
        tier: int, name: str, started: float, result: RecallResult, sufficient: bool, llm_calls: int = 0
    ) -> TierTrace:
        return TierTrace(
            tier=tier,
            name=name,
            duration_ms=(time.perf_counter() - started) * 1000,
            embedding_ms=result.trace.embedding_ms,
            hits=len(result.hits),
            sufficient=sufficient,
            store_calls=sum(1 for run in result.trace.strategies if not run.skipped),
            llm_calls=llm_calls,
        )

    # ------------------------------------------------------------------ tier 3

    async def _llm_tier(
        self,
        request: RecallRequest,
        banks: list[str],
        now: datetime | None,
        weights: Mapping[str, float] | None,
        previous: RecallResult,
    ) -> RecallResult:
        llm = self._stores.llm
        assert llm is not None
        rewrite = await llm.complete(
            [
                LLMMessage(role="system", content=_REWRITE_PROMPT),
                LLMMessage(role="user", content=request.query),
            ],
            max_tokens=64,
        )
        rewritten = (rewrite.text.strip().splitlines() or [""])[0].strip()
        hits = previous.hits
        trace = previous.trace.model_copy(deep=True, update={"embedding_ms": 0.0})
        if rewritten and rewritten != request.query:
            again = await self._pipelines.get(weights).recall(
                request.model_copy(update={"query": rewritten}), banks, now=now
            )
            hits = self._fuse(previous.hits, again.hits)[: request.max_results]
            trace.strategies.extend(again.trace.strategies)
            trace.embedding_ms = again.trace.embedding_ms
            trace.notes.append(f"tier 3 rewrote the query to {rewritten!r}")
        numbered = "\n".join(f"[{i}] {hit.text}" for i, hit in enumerate(hits, start=1))
        order = await llm.complete(
            [
                LLMMessage(role="system", content=_RERANK_PROMPT),
                LLMMessage(role="user", content=f"Memories:\n{numbered}\n\nQuestion: {request.query}"),
            ],
            max_tokens=128,
        )
        return RecallResult(hits=_reordered(hits, order.text), trace=trace)

    def _fuse(self, first: list[MemoryHit], second: list[MemoryHit]) -> list[MemoryHit]:
        by_key = {f"{h.bank_id}{_SEP}{h.memory_id}": h for h in (*second, *first)}
        rankings = {
            "original": [f"{h.bank_id}{_SEP}{h.memory_id}" for h in first],
            "rewritten": [f"{h.bank_id}{_SEP}{h.memory_id}" for h in second],
        }
        return [
            by_key[key].model_copy(update={"score": score})
            for key, score in rrf_fuse(rankings, k=self._recall.rrf_k)
        ]


def _reordered(hits: list[MemoryHit], answer: str) -> list[MemoryHit]:
    """``hits`` in the order the model named them; hits it left out keep their order after those."""
    named = [int(n) - 1 for n in _NUMBER.findall(answer)]
    order = list(dict.fromkeys(i for i in named if 0 <= i < len(hits)))
    order += [i for i in range(len(hits)) if i not in order]
    return [hits[i] for i in order]

"""Recall path: strategies in parallel → fusion → speaker boost → neighbour spreading → optional
rerank → result cap and token budget.

Strategies (each can be switched off by weight 0 in ``recall.strategies`` or per request):

* ``vector``   — cosine nearest neighbours of the query embedding;
* ``fulltext`` — BM25 over the DocumentStore;
* ``graph``    — memories mentioning the entities named in the query (and their linked entities);
* ``temporal`` — when the query names a time ("last May", "in 2023"), vector search inside it.

Fusion is score-based by default (``recall.fusion: score``, see :mod:`astrocyte.pipeline.fusion`) or
weighted RRF. After fusion, hits spoken by a participant the query names are boosted
(``speaker_boost``) and the top hits lend part of their score to the turns retained next to them
(``neighbor_window``; only with a document store offering :class:`~astrocyte.provider.NeighborLookup`).

A strategy that fails is recorded in the trace and the others still answer; only when every strategy
fails does recall raise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from astrocyte.config import HomeostasisSettings, RecallSettings
from astrocyte.errors import CircuitOpenError, InvalidRequestError, StoreError
from astrocyte.pipeline.entities import query_entity_names
from astrocyte.pipeline.fusion import rrf_fuse, score_fuse
from astrocyte.pipeline.keywords import keyword_query
from astrocyte.pipeline.neighbors import Adjacent, Seed, neighbor_bonus
from astrocyte.pipeline.speakers import named_speakers, speakers_of
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.pipeline.temporal import TemporalMatch, parse_time_expression
from astrocyte.pipeline.tokens import count_tokens
from astrocyte.provider import DocumentBatchLookup, NeighborLookup
from astrocyte.recall.proxy import ProxyFetch, ProxyRecall
from astrocyte.stores._filters import as_utc, matches_filters
from astrocyte.types import (
    Document,
    ExternalContextItem,
    MemoryHit,
    Metadata,
    RecallRequest,
    RecallResult,
    RecallTrace,
    StrategyTrace,
    TimeRange,
    VectorFilters,
)

__all__ = ["STRATEGIES", "RecallPipeline"]

STRATEGIES: tuple[str, ...] = ("vector", "fulltext", "graph", "temporal")
_SEP = "\x1f"
#: Temporal weight when the query names a time ("on 9 June, 2023", "last May").
_NAMED_TIME_WEIGHT = 1.5


@dataclass(slots=True)
class _Payload:
    bank_id: str
    memory_id: str
    text: str
    metadata: Metadata
    tags: list[str]
    occurred_at: datetime | None
    # The strategy's own score (cosine, BM25...; graph hits carry none) going into fusion, the
    # ranking score after it (fused, then speaker and neighbour adjusted).
    score: float = 0.0
    strategies: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _StrategyRun:
    name: str
    bank_id: str
    ranked: list[_Payload | str]  # a payload, or a bare memory id (graph) to hydrate later
    trace: StrategyTrace


class RecallPipeline:
    def __init__(
        self,
        stores: MemoryStores,
        settings: RecallSettings,
        limits: HomeostasisSettings,
        proxies: ProxyRecall | None = None,
    ) -> None:
        self._stores = stores
        self._settings = settings
        self._limits = limits
        self._proxies = proxies

    def _active(self, request: RecallRequest) -> dict[str, float]:
        weights = {name: w for name, w in self._settings.strategies.items() if w > 0}
        if request.strategies is not None:
            unknown = set(request.strategies) - set(STRATEGIES)
            if unknown:
                raise InvalidRequestError(
                    f"unknown strategies {sorted(unknown)}; choose from {list(STRATEGIES)}",
                    field="strategies",
                )
            weights = {name: weights.get(name, 1.0) for name in request.strategies}
        if self._stores.document is None:
            weights.pop("fulltext", None)
        if self._stores.graph is None:
            weights.pop("graph", None)
        return weights

    async def recall(
        self, request: RecallRequest, banks: list[str], now: datetime | None = None
    ) -> RecallResult:
        started = time.perf_counter()
        weights = self._active(request)
        filters = None
        if request.tags or request.time_range:
            filters = VectorFilters(tags=request.tags, time_range=request.time_range)
        embed_started = time.perf_counter()
        query_vector, embed_skipped = await self._embed_query(request.query, weights)
        embedding_ms = (time.perf_counter() - embed_started) * 1000
        temporal = parse_time_expression(request.query, now) if "temporal" in weights else None
        if temporal is not None:
            # Query-aware fusion: a query that names a time is mostly about that time.
            weights["temporal"] = max(weights["temporal"], _NAMED_TIME_WEIGHT)
        names = query_entity_names(request.query) if "graph" in weights else []

        jobs: list[Awaitable[_StrategyRun]] = []
        for bank in banks:
            for name in weights:
                runner = self._runner(name, request.query, query_vector, bank, filters, temporal, names)
                if runner is not None:
                    jobs.append(self._timed(name, bank, weights[name], runner))
        runs, proxied = await self._gather(jobs, request.query, banks)
        if runs and all(r.trace.error for r in runs):
            raise StoreError(
                "every recall strategy failed: " + "; ".join(f"{r.name}: {r.trace.error}" for r in runs)
            )

        trace = RecallTrace(strategies=[r.trace for r in runs], embedding_ms=embedding_ms)
        if embed_skipped:
            trace.notes.append(f"vector and temporal skipped: {embed_skipped}")
        if temporal is not None:
            trace.notes.append(f"temporal: '{temporal.phrase}' → {_fmt_range(temporal.time_range)}")
        ranked = self._fuse(runs, weights, trace)
        ranked = self._boost_speakers(ranked, names if "graph" in weights else None, request.query, trace)
        ranked = await self._spread(ranked, filters, trace)
        trace.strategies.extend(fetch.trace for fetch in proxied)
        hits = await self._finish(
            ranked, request, _external_rankings(request.external_context, proxied), weights, trace
        )
        trace.total_ms = (time.perf_counter() - started) * 1000
        return RecallResult(hits=hits, trace=trace)

    async def _finish(
        self,
        ranked: list[_Payload],
        request: RecallRequest,
        external: dict[str, list[MemoryHit]],
        weights: dict[str, float],
        trace: RecallTrace,
    ) -> list[MemoryHit]:
        """External merge, rerank and budget. MemoryHit DTOs are built only for the hits returned
        (a pool of candidates per strategy is fused, a handful kept), unless a merge or reranker
        needs all of them."""
        candidates: list[_Payload] | list[MemoryHit] = ranked
        if external:
            candidates = self._merge_external([_memory_hit(p) for p in ranked], external, weights)
        if self._stores.reranker is not None and self._settings.rerank:
            candidates = await self._stores.reranker.rerank(request.query, [_as_hit(c) for c in candidates])
        return [_as_hit(c) for c in self._budget(candidates, request, trace)]

    async def _embed_query(self, query: str, weights: dict[str, float]) -> tuple[list[float], str | None]:
        """The query vector. While the embedder's circuit is open, the strategies that need it are
        dropped (and the reason returned) so full text and graph still answer."""
        if "vector" not in weights and "temporal" not in weights:
            return [], None
        try:
            return (await self._stores.embedder.embed([query]))[0], None
        except CircuitOpenError as exc:
            weights.pop("vector", None)
            weights.pop("temporal", None)
            if not weights:
                raise
            return [], str(exc)

    # ------------------------------------------------------------------ strategies

    def _runner(
        self,
        name: str,
        query: str,
        vector: list[float],
        bank: str,
        filters: VectorFilters | None,
        temporal: TemporalMatch | None,
        names: list[str],
    ) -> Callable[[], Awaitable[list[_Payload | str]]] | None:
        pool = self._settings.candidate_pool
        if name == "vector":
            return lambda: self._vector(vector, bank, pool, filters)
        if name == "fulltext":
            return lambda: self._fulltext(query, bank, pool, filters)
        if name == "graph" and names:
            return lambda: self._graph(names, bank, pool, filters)
        if name == "temporal" and temporal is not None:
            scoped = (filters or VectorFilters()).model_copy(
                update={"time_range": _intersect(filters, temporal.time_range)}
            )
            return lambda: self._vector(vector, bank, pool, scoped)
        return None

    async def _timed(
        self, name: str, bank: str, weight: float, runner: Callable[[], Awaitable[list[_Payload | str]]]
    ) -> _StrategyRun:
        started = time.perf_counter()
        ranked: list[_Payload | str] = []
        skipped, error = False, None
        try:
            ranked = await runner()
        except CircuitOpenError as exc:  # a store known to be broken is not even asked
            skipped, error = True, str(exc)
        except Exception as exc:  # one broken store must not fail the whole recall
            error = f"{type(exc).__name__}: {exc}"
        trace = StrategyTrace(
            name=name,
            bank_id=bank,
            weight=weight,
            duration_ms=(time.perf_counter() - started) * 1000,
            hit_ids=[r if isinstance(r, str) else r.memory_id for r in ranked],
            skipped=skipped,
            error=error,
        )
        return _StrategyRun(name, bank, ranked, trace)

    async def _vector(
        self, vector: list[float], bank: str, limit: int, filters: VectorFilters | None
    ) -> list[_Payload | str]:
        hits = await self._stores.vector.search_similar(vector, bank, limit=limit, filters=filters)
        return [_Payload(bank, h.id, h.text, h.metadata, h.tags, h.occurred_at, h.score) for h in hits]

    async def _fulltext(
        self, query: str, bank: str, limit: int, filters: VectorFilters | None
    ) -> list[_Payload | str]:
        assert self._stores.document is not None
        text = keyword_query(query) if self._settings.fulltext_keywords else query
        hits = await self._stores.document.search_fulltext(text, bank, limit=limit, filters=filters)
        return [_Payload(bank, h.id, h.text, h.metadata, h.tags, h.occurred_at, h.score) for h in hits]

    async def _graph(
        self, names: list[str], bank: str, limit: int, filters: VectorFilters | None
    ) -> list[_Payload | str]:
        """Memories mentioning the query's entities, best first. The graph stores no text: it is read
        here, in this strategy's own task, so the read overlaps the other strategies instead of
        following them. The graph reaches memories through entities, not through the request's tag
        and time filters, so those apply here; a hit without a readable document in the filters stays
        a bare id (kept only when another strategy found it too)."""
        graph = self._stores.graph
        assert graph is not None
        found = await asyncio.gather(*(graph.query_entities(n, bank, limit=3) for n in names))
        entity_ids = list(dict.fromkeys(e.id for group in found for e in group))
        if not entity_ids:
            return []
        hits = await graph.query_neighbors(entity_ids, bank, max_depth=1, limit=limit)
        ids = [h.memory_id for h in hits]
        if self._stores.document is None or not ids:
            return list(ids)
        docs = {doc.id: doc for doc in await self._documents(ids, bank)}
        ranked: list[_Payload | str] = []
        for memory_id in ids:
            doc = docs.get(memory_id)
            if doc is not None and matches_filters(
                filters, tags=doc.tags, metadata=doc.metadata, occurred_at=doc.occurred_at
            ):
                ranked.append(_Payload(bank, doc.id, doc.text, doc.metadata, doc.tags, doc.occurred_at))
            else:
                ranked.append(memory_id)
        return ranked

    # ------------------------------------------------------------------ fusion and limits

    def _fuse(
        self, runs: list[_StrategyRun], weights: dict[str, float], trace: RecallTrace
    ) -> list[_Payload]:
        """The candidates of every run, fused, best first (each payload's ``score`` set to its fused score)."""
        payloads, rankings = self._candidates(runs, trace)
        run_weights: dict[str, float] = {}
        present: dict[str, list[tuple[str, float]]] = {}  # each run's ranking of the readable candidates
        for run in runs:
            name = run.name
            run_key = f"{name}{_SEP}{run.bank_id}"
            run_weights[run_key] = weights.get(name, 1.0)
            ranking = rankings[run_key]
            if name == "graph":  # only graph hits can lack a payload (no readable document)
                ranking = [(key, score) for key, score in ranking if key in payloads]
            present[run_key] = ranking
            for key, _ in ranking:
                strategies = payloads[key].strategies
                if name not in strategies:
                    strategies.append(name)
        if self._settings.fusion == "rrf":
            ranked_ids = {rk: [k for k, _ in keys] for rk, keys in present.items()}
            fused = rrf_fuse(ranked_ids, run_weights, self._settings.rrf_k)
        else:
            fused = score_fuse(
                present, run_weights, rank_blend=self._settings.rank_blend, k=self._settings.rrf_k
            )
        ranked: list[_Payload] = []
        for key, score in fused:
            payload = payloads[key]
            payload.score = score
            ranked.append(payload)
        return ranked

    def _candidates(
        self, runs: list[_StrategyRun], trace: RecallTrace
    ) -> tuple[dict[str, _Payload], dict[str, list[tuple[str, float]]]]:
        """(payload per bank-qualified memory key, ``(key, score)`` ranking per run)."""
        payloads: dict[str, _Payload] = {}
        read_by_graph: dict[str, _Payload] = {}  # yields to a scoring strategy's copy of the memory
        unread: set[str] = set()
        rankings: dict[str, list[tuple[str, float]]] = {}
        for run in runs:
            prefix = f"{run.bank_id}{_SEP}"
            keys: list[tuple[str, float]] = []
            if run.name == "graph":  # graph hits are ranked, not scored
                for rank, entry in enumerate(run.ranked, start=1):
                    if isinstance(entry, str):  # a graph hit without a readable document
                        key = prefix + entry
                        unread.add(key)
                    else:
                        key = prefix + entry.memory_id
                        read_by_graph.setdefault(key, entry)
                    keys.append((key, 1.0 / rank))
            else:  # the scoring strategies rank payloads only
                for payload in cast(list[_Payload], run.ranked):
                    key = prefix + payload.memory_id
                    payloads.setdefault(key, payload)
                    keys.append((key, payload.score))
            rankings[f"{run.name}{_SEP}{run.bank_id}"] = keys
        for key, payload in read_by_graph.items():
            payloads.setdefault(key, payload)
        dropped = [key for key in unread if key not in payloads]
        if dropped and self._stores.document is None:
            trace.notes.append(f"{len(dropped)} graph hits dropped: no document store to read their text")
        return payloads, rankings

    async def _documents(self, ids: list[str], bank: str) -> list[Document]:
        """Documents by id: one round trip when the store can batch, else one call per id."""
        store = self._stores.document
        assert store is not None
        if isinstance(store, DocumentBatchLookup):
            return await store.get_documents(ids, bank)
        found = await asyncio.gather(*(store.get_document(i, bank) for i in ids))
        return [doc for doc in found if doc is not None]

    # ------------------------------------------------------------------ post-fusion signals

    def _boost_speakers(
        self, hits: list[_Payload], names: list[str] | None, query: str, trace: RecallTrace
    ) -> list[_Payload]:
        """Multiply the score of hits spoken by a participant the query names by ``1 + speaker_boost``.
        ``names``: the query's entity names when already extracted (for the graph strategy)."""
        boost = self._settings.speaker_boost
        if boost <= 0 or not hits:
            return hits
        speakers = [speakers_of(hit.text, hit.metadata) for hit in hits]
        spoken = {s for group in speakers for s in group}
        if not spoken:  # no dialogue turns among the hits: nothing to boost, skip parsing the query
            return hits
        named = named_speakers(query_entity_names(query) if names is None else names, spoken)
        if not named:
            return hits
        trace.notes.append(f"speaker boost: {', '.join(sorted(named))}")
        for hit, spoken_by in zip(hits, speakers, strict=True):
            if not named.isdisjoint(spoken_by):
                hit.score *= 1.0 + boost
        return sorted(hits, key=lambda hit: -hit.score)

    async def _spread(
        self, hits: list[_Payload], filters: VectorFilters | None, trace: RecallTrace
    ) -> list[_Payload]:
        """Lend part of the top hits' scores to the turns retained next to them (one batch per bank).

        Neighbours outside the request's tag and time filters are never lifted."""
        window = self._settings.neighbor_window
        store = self._stores.document
        if window < 1 or self._settings.neighbor_weight <= 0 or not isinstance(store, NeighborLookup):
            return hits
        seeds = hits[: self._settings.neighbor_seeds]
        by_bank: dict[str, list[str]] = {}
        for hit in seeds:
            by_bank.setdefault(hit.bank_id, []).append(hit.memory_id)
        started = time.perf_counter()
        try:
            found = await asyncio.gather(
                *(store.get_neighbors(ids, bank, window) for bank, ids in by_bank.items())
            )
        except Exception as exc:  # spreading refines the ranking; failing it must not fail recall
            trace.notes.append(f"neighbour spreading skipped: {type(exc).__name__}: {exc}")
            return hits
        known = {f"{hit.bank_id}{_SEP}{hit.memory_id}": hit for hit in hits}
        adjacency: dict[str, list[Adjacent]] = {}
        outside: dict[str, _Payload] = {}  # neighbours fusion did not rank
        for bank, groups in zip(by_bank, found, strict=True):
            for memory_id, group in groups.items():
                adjacent = adjacency.setdefault(f"{bank}{_SEP}{memory_id}", [])
                for neighbour in group:
                    doc = neighbour.document
                    key = f"{bank}{_SEP}{doc.id}"
                    if not matches_filters(
                        filters, tags=doc.tags, metadata=doc.metadata, occurred_at=doc.occurred_at
                    ):
                        continue
                    adjacent.append(Adjacent(key, neighbour.offset, doc.occurred_at))
                    if key not in known and key not in outside:
                        outside[key] = _Payload(
                            bank, doc.id, doc.text, doc.metadata, doc.tags, doc.occurred_at
                        )
        bonus = neighbor_bonus(
            [Seed(f"{h.bank_id}{_SEP}{h.memory_id}", h.score, h.occurred_at) for h in seeds],
            adjacency,
            weight=self._settings.neighbor_weight,
            max_gap=timedelta(minutes=self._settings.neighbor_max_gap_minutes),
        )
        for key, extra in bonus.items():
            hit = known.get(key)
            if hit is None:
                hit = known[key] = outside[key]
            hit.score += extra
            hit.strategies.append("neighbor")
        elapsed_ms = (time.perf_counter() - started) * 1000
        trace.notes.append(f"neighbour spreading: {len(bonus)} turns boosted in {elapsed_ms:.1f} ms")
        return sorted(known.values(), key=lambda hit: -hit.score)

    async def _gather(
        self, jobs: list[Awaitable[_StrategyRun]], query: str, banks: list[str]
    ) -> tuple[list[_StrategyRun], list[ProxyFetch]]:
        """The strategy runs and the proxies' answers, concurrently. A lone strategy with no proxy to
        ask is awaited in place: no task to schedule, no extra event-loop turns per recall."""
        if not (self._proxies and self._proxies.for_banks(banks)):
            if len(jobs) == 1:
                return [await jobs[0]], []
            return list(await asyncio.gather(*jobs)), []
        local_runs, proxied = await asyncio.gather(asyncio.gather(*jobs), self._proxies.fetch(query, banks))
        return list(local_runs), proxied

    def _merge_external(
        self, hits: list[MemoryHit], external: dict[str, list[MemoryHit]], weights: dict[str, float]
    ) -> list[MemoryHit]:
        """Caller-supplied context and proxy hits join the fused list by RRF, one ranking each."""
        local = {f"{h.bank_id}{_SEP}{h.memory_id}": h for h in hits}
        keyed = {name: {f"{name}{_SEP}{h.memory_id}": h for h in group} for name, group in external.items()}
        rankings = {"local": list(local), **{name: list(group) for name, group in keyed.items()}}
        run_weights = {
            "local": 1.0,
            **{name: weights.get(name, weights.get("external", 1.0)) for name in keyed},
        }
        fused = rrf_fuse(rankings, run_weights, self._settings.rrf_k)
        merged = {**local, **{key: hit for group in keyed.values() for key, hit in group.items()}}
        return [merged[key].model_copy(update={"score": score}) for key, score in fused]

    def _budget(
        self, hits: Sequence[_Payload | MemoryHit], request: RecallRequest, trace: RecallTrace
    ) -> list[_Payload | MemoryHit]:
        """The leading hits within ``max_results`` and the token budget (payloads, or MemoryHit DTOs
        once a merge or reranker needed them)."""
        limit = min(request.max_results, self._limits.max_recall_results)
        max_tokens = min(request.max_tokens or self._limits.max_recall_tokens, self._limits.max_recall_tokens)
        kept: list[_Payload | MemoryHit] = []
        used = 0
        for hit in hits[:limit]:
            cost = count_tokens(hit.text)
            if used + cost > max_tokens:
                trace.truncated = True
                break
            kept.append(hit)
            used += cost
        if len(hits) > limit:
            trace.notes.append(f"{len(hits) - limit} fused hits beyond max_results")
        trace.tokens_used = used
        return kept


_HIT_FIELDS = frozenset(MemoryHit.model_fields)


def _memory_hit(payload: _Payload) -> MemoryHit:
    """The hit DTO of a payload, assembled the way ``MemoryHit.model_construct`` does it. Payloads come
    from validated store DTOs, so nothing is re-validated; ``model_construct`` itself re-walks every
    field's defaults and aliases, which costs more than validating would on this hot path."""
    hit = MemoryHit.__new__(MemoryHit)
    set_slot = object.__setattr__
    set_slot(
        hit,
        "__dict__",
        {
            "memory_id": payload.memory_id,
            "bank_id": payload.bank_id,
            "text": payload.text,
            "score": payload.score,
            "metadata": payload.metadata,
            "tags": payload.tags,
            "occurred_at": payload.occurred_at,
            "strategies": payload.strategies,
        },
    )
    set_slot(hit, "__pydantic_fields_set__", set(_HIT_FIELDS))
    set_slot(hit, "__pydantic_extra__", None)
    set_slot(hit, "__pydantic_private__", None)
    return hit


def _as_hit(candidate: _Payload | MemoryHit) -> MemoryHit:
    return candidate if isinstance(candidate, MemoryHit) else _memory_hit(candidate)


def _external_hits(items: list[ExternalContextItem], name: str, fallback: str) -> list[MemoryHit]:
    return [
        MemoryHit(
            memory_id=item.id or f"{fallback}-{index}",
            bank_id=item.source,
            text=item.text,
            score=0.0,
            metadata=item.metadata,
            strategies=[name],
        )
        for index, item in enumerate(items)
    ]


def _external_rankings(
    context: list[ExternalContextItem] | None, proxied: list[ProxyFetch]
) -> dict[str, list[MemoryHit]]:
    """One ranking per origin: ``external`` (the request's context) and ``proxy:<id>`` per proxy."""
    rankings: dict[str, list[MemoryHit]] = {}
    if context:
        rankings["external"] = _external_hits(context, "external", "external")
    for fetch in proxied:
        if fetch.items:
            rankings[fetch.trace.name] = _external_hits(
                fetch.items, fetch.trace.name, f"{fetch.source_id}-hit"
            )
    return rankings


def _intersect(filters: VectorFilters | None, time_range: TimeRange) -> TimeRange:
    """The query's time expression narrowed by an explicit request time range, if any."""
    explicit = filters.time_range if filters else None
    if explicit is None:
        return time_range
    starts = [t for t in (as_utc(explicit.start), as_utc(time_range.start)) if t is not None]
    ends = [t for t in (as_utc(explicit.end), as_utc(time_range.end)) if t is not None]
    start = max(starts) if starts else None
    end = min(ends) if ends else None
    if start is not None and end is not None and start > end:
        end = start
    return TimeRange(start=start, end=end)


def _fmt_range(time_range: TimeRange) -> str:
    start = time_range.start.date().isoformat() if time_range.start else "…"
    end = time_range.end.date().isoformat() if time_range.end else "…"
    return f"[{start}, {end})"

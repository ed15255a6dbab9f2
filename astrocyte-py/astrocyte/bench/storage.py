"""Storage benchmark: bulk retain throughput and recall latency through the framework, each beside
the raw engine calls of the same stores measured in the same run.

For each size ``n`` a fresh bank is filled with ``n`` synthetic conversation-like memories (names,
places and topics, so every recall strategy has work) through ``Astrocyte.retain_many`` with
precomputed embeddings (the embedder is a lookup: embedding cost is excluded). The raw write rate is
the writes retain makes (``store_vectors``, ``store_documents``, entities and their links) of the same
kind of items into a side bank, batch for batch alternating with the framework's batches so both pay
the same index state. Recall is measured two ways per query, alternating so load noise hits both alike:

* ``vector``: ``recall(strategies=["vector"])`` vs the raw ``search_similar`` it wraps;
* ``hybrid``: full ``recall`` (vector + full text + graph, fused) vs the raw calls those strategies
  make, run concurrently as the pipeline runs them.

With ``bulk_store_config`` (a factory of fresh, empty stores) each size is also imported in bulk:
``Astrocyte.bulk_load`` around the same ``retain_many`` batches vs the raw writes inside the stores'
own ``bulk_load``, each into fresh stores and timed until the block has exited (index build included).

Framework times exclude the query embedding (``trace.embedding_ms``). Pure functions build the data
and the statistics; :func:`run_storage_bench` does the I/O.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from astrocyte._facade import Astrocyte
from astrocyte.embeddings.hashing import HashingEmbedder
from astrocyte.pipeline.entities import entity_id, extract_entities_rules
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.types import Document, Entity, MemoryEntityAssociation, RetainRequest, VectorItem

__all__ = [
    "LatencyStats",
    "PrecomputedEmbedder",
    "SizeReport",
    "StorageReport",
    "latency_stats",
    "run_storage_bench",
    "synthetic_memories",
    "synthetic_queries",
]

_NAMES = ("Alice", "Bruno", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Juno", "Kofi", "Lena")
_PLACES = ("Berlin", "Lisbon", "Nairobi", "Osaka", "Quito", "Oslo", "Perth", "Cairo", "Denver", "Hanoi")
_TOPICS = (
    "adoption agencies", "a camping trip", "the pottery class", "a marathon", "the new job",
    "a sunset painting", "the book club", "a jazz concert", "the garden", "a chess match",
    "the bakery", "a sailing course", "the photo exhibit", "a cooking contest", "the hiking club",
)  # fmt: skip
_VERBS = ("talked about", "planned", "wrote about", "remembered", "asked about", "enjoyed", "worried about")
_FILLER = (
    "yesterday", "last week", "with friends", "after work", "for the kids", "on the weekend",
    "again", "for hours", "quietly", "with the family", "at night", "in the morning",
)  # fmt: skip


def synthetic_memories(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct memory texts (a serial number keeps each unique)."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(_NAMES)} {rng.choice(_VERBS)} {rng.choice(_TOPICS)} in {rng.choice(_PLACES)} "
        f"{rng.choice(_FILLER)}, note {i}."
        for i in range(count)
    ]


def synthetic_queries(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [
        f"What did {rng.choice(_NAMES)} say about {rng.choice(_TOPICS)} in {rng.choice(_PLACES)}?"
        for _ in range(count)
    ]


class PrecomputedEmbedder:
    """An :class:`~astrocyte.provider.EmbeddingProvider` that looks vectors up (computed beforehand)."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(self, vectors: Mapping[str, list[float]], dimensions: int) -> None:
        self._vectors = dict(vectors)
        self._dimensions = dimensions

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._vectors[text] for text in texts]


@dataclass(frozen=True, slots=True)
class LatencyStats:
    p50_ms: float
    p95_ms: float


def latency_stats(samples_ms: Sequence[float]) -> LatencyStats:
    """Median and 95th percentile (nearest rank) of ``samples_ms``."""
    ordered = sorted(samples_ms)
    if not ordered:
        return LatencyStats(0.0, 0.0)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return LatencyStats(statistics.median(ordered), p95)


@dataclass(slots=True)
class SizeReport:
    n: int
    retain_per_s: float
    raw_write_per_s: float
    recall: dict[str, tuple[LatencyStats, LatencyStats]] = field(default_factory=dict)
    """strategy set → (framework, raw engine)."""
    bulk: tuple[float, float] | None = None
    """(framework, raw) memories/s of a bulk import into fresh stores, index build included."""


@dataclass(slots=True)
class StorageReport:
    store: str
    dimensions: int
    queries: int
    sizes: list[SizeReport] = field(default_factory=list)


Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""


async def _fill(
    memory: Astrocyte,
    bank: str,
    texts: list[str],
    raw_texts: list[str],
    vectors: Mapping[str, list[float]],
    batch: int,
    progress: Progress,
) -> tuple[float, float]:
    """Retain ``texts`` through the framework and write ``raw_texts`` straight to the engines, batch
    by batch alternately, so both pay the same index state (an HNSW index built mid-fill slows every
    later insert of either). Returns (framework memories/s, raw memories/s)."""
    raw_stores = _raw(memory)
    framework_s = raw_s = 0.0
    raw_done = 0
    for start in range(0, len(texts), batch):
        requests = [RetainRequest(content=t, bank_id=bank) for t in texts[start : start + batch]]
        started = time.perf_counter()
        await memory.retain_many(requests)
        framework_s += time.perf_counter() - started
        raw_part = raw_texts[raw_done : raw_done + batch]
        if raw_part:
            started = time.perf_counter()
            await _raw_write(raw_stores, f"{bank}-raw", raw_part, vectors)
            raw_s += time.perf_counter() - started
            raw_done += len(raw_part)
        progress("retain", min(start + batch, len(texts)), len(texts))
    return len(texts) / framework_s, (raw_done / raw_s if raw_s else 0.0)


def _raw(memory: Astrocyte) -> MemoryStores:
    """The stores without the framework's circuit-breaker wrappers (the same instances underneath)."""
    stores = memory.stores
    return MemoryStores(
        vector=getattr(stores.vector, "_inner", stores.vector),
        embedder=stores.embedder,
        document=getattr(stores.document, "_inner", stores.document),
        graph=getattr(stores.graph, "_inner", stores.graph),
    )


async def _raw_write(
    stores: MemoryStores, bank: str, texts: list[str], vectors: Mapping[str, list[float]]
) -> None:
    """The writes retain makes for ``texts`` (vectors, documents, entities and their links), made
    directly on the engines: no near-duplicate probe, PII scan, chunking or metadata."""
    ids = [f"raw_{uuid.uuid4().hex}" for _ in texts]
    await stores.vector.store_vectors(
        [VectorItem(id=i, bank_id=bank, vector=vectors[t], text=t) for i, t in zip(ids, texts, strict=True)]
    )
    if stores.document is not None:
        await stores.document.store_documents(
            [Document(id=i, text=t) for i, t in zip(ids, texts, strict=True)], bank
        )
    if stores.graph is not None:
        entities: dict[str, Entity] = {}
        links: list[MemoryEntityAssociation] = []
        for memory_id, text in zip(ids, texts, strict=True):
            for extracted in extract_entities_rules(text):
                eid = entity_id(extracted.name)
                entities.setdefault(
                    eid, Entity(id=eid, name=extracted.name, entity_type=extracted.entity_type)
                )
                links.append(MemoryEntityAssociation(memory_id=memory_id, entity_id=eid))
        await stores.graph.store_entities(list(entities.values()), bank)
        await stores.graph.link_memories_to_entities(links, bank)


async def _raw_hybrid(stores: MemoryStores, query: str, vector: list[float], bank: str, pool: int) -> None:
    """The store calls the hybrid recall strategies make, concurrently, without the framework."""
    calls: list[Any] = [stores.vector.search_similar(vector, bank, limit=pool)]
    if stores.document is not None:
        calls.append(stores.document.search_fulltext(query, bank, limit=pool))
    graph = stores.graph
    if graph is not None:
        names = [e.name for e in extract_entities_rules(query)]

        async def via_graph() -> None:
            assert graph is not None
            found = await asyncio.gather(*(graph.query_entities(n, bank, limit=3) for n in names))
            ids = list(dict.fromkeys(e.id for group in found for e in group)) or [entity_id(n) for n in names]
            if ids:
                await graph.query_neighbors(ids, bank, max_depth=1, limit=pool)

        calls.append(via_graph())
    await asyncio.gather(*calls)


async def _measure_recall(
    memory: Astrocyte, bank: str, queries: list[str], vectors: Mapping[str, list[float]], progress: Progress
) -> dict[str, tuple[LatencyStats, LatencyStats]]:
    pool = memory.config.recall.candidate_pool
    raw_stores = _raw(memory)
    samples: dict[str, tuple[list[float], list[float]]] = {"vector": ([], []), "hybrid": ([], [])}

    async def framework_ms(query: str, strategies: list[str] | None) -> float:
        started = time.perf_counter()
        result = await memory.recall(query, bank_id=bank, strategies=strategies)
        return (time.perf_counter() - started) * 1000 - result.trace.embedding_ms

    async def raw_ms(query: str, strategies: list[str] | None) -> float:
        started = time.perf_counter()
        if strategies == ["vector"]:
            await raw_stores.vector.search_similar(vectors[query], bank, limit=pool)
        else:
            await _raw_hybrid(raw_stores, query, vectors[query], bank, pool)
        return (time.perf_counter() - started) * 1000

    for done, query in enumerate(queries, start=1):
        for name, strategies in (("vector", ["vector"]), ("hybrid", None)):
            framework, raw = samples[name]
            # The second call of a pair finds the pages the first one read in the buffer cache (it
            # matters once a bank outgrows shared_buffers), so the order alternates.
            if done % 2:
                framework.append(await framework_ms(query, strategies))
                raw.append(await raw_ms(query, strategies))
            else:
                raw.append(await raw_ms(query, strategies))
                framework.append(await framework_ms(query, strategies))
        progress("recall", done, len(queries))
    return {name: (latency_stats(f), latency_stats(r)) for name, (f, r) in samples.items()}


async def run_storage_bench(
    store_config: Mapping[str, Any],
    sizes: Sequence[int],
    *,
    store: str,
    queries: int = 200,
    batch: int = 500,
    raw_write_sample: int = 5000,
    dimensions: int = 384,
    progress: Progress | None = None,
    bulk_store_config: Callable[[], Mapping[str, Any]] | None = None,
) -> StorageReport:
    """Run the benchmark for each of ``sizes`` on the stores ``store_config`` selects (and the bulk
    import, when ``bulk_store_config`` gives fresh stores)."""
    report_progress: Progress = progress or (lambda stage, done, total: None)
    texts = synthetic_memories(max(sizes) + raw_write_sample)
    query_texts = synthetic_queries(queries)
    hashing = HashingEmbedder(dimensions=dimensions)
    vectors = dict(zip(texts + query_texts, await hashing.embed(texts + query_texts), strict=True))
    settings = {
        # Every synthetic memory is distinct; keep them all (probes still run, as in production).
        "retain": {"dedup_threshold": 1.0},
        "homeostasis": {"max_recall_results": 100},
    }
    config = {**store_config, **settings}
    report = StorageReport(store=store, dimensions=dimensions, queries=queries)
    run_id = uuid.uuid4().hex[:8]
    async with Astrocyte.from_config(config) as memory:
        memory.stores.embedder = PrecomputedEmbedder(vectors, dimensions)
        for size in sizes:
            bank = f"bench-{run_id}-{size}"
            sample = texts[max(sizes) : max(sizes) + min(raw_write_sample, size)]
            retain_rate, raw_rate = await _fill(
                memory, bank, texts[:size], sample, vectors, batch, report_progress
            )
            recall = await _measure_recall(memory, bank, query_texts, vectors, report_progress)
            report.sizes.append(SizeReport(size, retain_rate, raw_rate, recall))
    if bulk_store_config is not None:
        for report_size in report.sizes:
            configs = ({**bulk_store_config(), **settings} for _ in range(2))
            report_size.bulk = await _bulk_rates(
                configs, texts[: report_size.n], vectors, dimensions, batch, report_progress
            )
    return report


async def _bulk_rates(
    configs: Iterator[Mapping[str, Any]],
    texts: list[str],
    vectors: Mapping[str, list[float]],
    dimensions: int,
    batch: int,
    progress: Progress,
) -> tuple[float, float]:
    """(framework, raw) memories/s importing ``texts`` in bulk, each into its own fresh stores."""
    bank = f"bulk-{uuid.uuid4().hex[:8]}"
    async with Astrocyte.from_config(next(configs)) as memory:
        memory.stores.embedder = PrecomputedEmbedder(vectors, dimensions)
        started = time.perf_counter()
        async with memory.bulk_load():
            for start in range(0, len(texts), batch):
                await memory.retain_many(
                    [RetainRequest(content=t, bank_id=bank) for t in texts[start : start + batch]]
                )
                progress("bulk import", min(start + batch, len(texts)), len(texts))
        framework_s = time.perf_counter() - started
    async with Astrocyte.from_config(next(configs)) as memory:
        stores = _raw(memory)
        started = time.perf_counter()
        async with stores.bulk_load():
            for start in range(0, len(texts), batch):
                await _raw_write(stores, bank, texts[start : start + batch], vectors)
                progress("raw bulk write", min(start + batch, len(texts)), len(texts))
        raw_s = time.perf_counter() - started
    return len(texts) / framework_s, len(texts) / raw_s

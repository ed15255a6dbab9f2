"""``astrocyte-bench-qdrant``: the adapter's cost over raw qdrant-client, measured side by side.

Writes ``--n`` random vectors into one bank through :class:`QdrantVectorStore` (retain throughput),
then runs the same ``--queries`` bank-filtered searches through the adapter and through the raw
``AsyncQdrantClient.query_points`` of the same collection, alternating, and prints p50/p95 of both and
their difference (the framework overhead: filter building, hit mapping, validation).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Sequence

import numpy as np

from astrocyte.types import VectorItem
from astrocyte_qdrant._query import bank_filter
from astrocyte_qdrant.store import QdrantVectorStore

__all__ = ["main"]

_BANK = "bench"


def _percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    await call
    return (time.perf_counter() - started) * 1000


async def _run(n: int, dim: int, queries: int, batch: int, url: str) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    store = QdrantVectorStore(url=url, collection="astrocyte_bench", check_compatibility=False)
    try:
        started = time.perf_counter()
        for start in range(0, n, batch):
            await store.store_vectors(
                [
                    VectorItem(id=f"m{i}", bank_id=_BANK, vector=vectors[i].tolist(), text=f"memory {i}")
                    for i in range(start, min(n, start + batch))
                ]
            )
        write_s = time.perf_counter() - started

        raw = store._client  # the very client the adapter uses: same connection, same collection
        probes = [vectors[int(i)].tolist() for i in rng.integers(0, n, queries)]
        adapter_ms: list[float] = []
        raw_ms: list[float] = []
        for probe in probes:  # alternate so load drift hits both sides alike
            adapter_ms.append(await _timed(store.search_similar(probe, _BANK, limit=10)))
            raw_ms.append(
                await _timed(
                    raw.query_points(
                        "astrocyte_bench",
                        query=probe,
                        query_filter=bank_filter(_BANK),
                        limit=10,
                        with_payload=True,
                    )
                )
            )
    finally:
        await store.close()

    where = "embedded, in memory" if url == ":memory:" else url
    print(f"qdrant {where}: n={n} dim={dim} queries={queries}")
    print(f"  retain (store_vectors, batches of {batch}): {n / write_s:,.0f} vectors/s")
    for label, samples in (("adapter search_similar", adapter_ms), ("raw query_points", raw_ms)):
        print(
            f"  {label:24s} p50 {statistics.median(samples):7.2f} ms   p95 {_percentile(samples, 0.95):7.2f} ms"
        )
    overhead = statistics.median(adapter_ms) - statistics.median(raw_ms)
    ratio = statistics.median(adapter_ms) / statistics.median(raw_ms)
    print(f"  overhead p50 {overhead:+.2f} ms (ratio {ratio:.2f}x)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000, help="vectors to write")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500, help="vectors per store_vectors call")
    parser.add_argument("--url", default=":memory:", help="a Qdrant server (default: the embedded engine)")
    args = parser.parse_args(argv)
    asyncio.run(_run(args.n, args.dim, args.queries, args.batch, args.url))
    return 0

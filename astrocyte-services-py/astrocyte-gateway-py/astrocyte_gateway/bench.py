"""``astrocyte bench gateway``: gateway overhead = loopback HTTP round trip (real uvicorn, keep-alive
httpx client, API-key auth, full middleware) − the same library call on the same ``Astrocyte``.

Library and HTTP calls alternate inside one run, so machine noise hits both alike; the report gives
p50/p95 of each and the overhead at p50 and p95.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from astrocyte import Astrocyte
from astrocyte.identity import ActorIdentity, AstrocyteContext
from astrocyte_gateway.app import create_app
from astrocyte_gateway.server import serving
from astrocyte_gateway.settings import hash_api_key

__all__ = ["GatewayBenchReport", "LatencyPair", "run_gateway_bench"]

_KEY = "bench-key-0123456789"
_BANK = "user-bench"
_TOPICS = ("tea", "bees", "Lisbon", "chess", "piano", "rowing", "Kafka", "sourdough", "orchids", "trains")


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True)
class LatencyPair:
    """Milliseconds of one operation, library vs HTTP."""

    operation: str
    library: list[float]
    http: list[float]

    def row(self) -> dict[str, float]:
        lib50, lib95 = statistics.median(self.library), _percentile(self.library, 0.95)
        http50, http95 = statistics.median(self.http), _percentile(self.http, 0.95)
        return {
            "library_p50_ms": round(lib50, 3),
            "library_p95_ms": round(lib95, 3),
            "http_p50_ms": round(http50, 3),
            "http_p95_ms": round(http95, 3),
            "overhead_p50_ms": round(http50 - lib50, 3),
            "overhead_p95_ms": round(http95 - lib95, 3),
            "ratio_p50": round(http50 / lib50, 2) if lib50 else 0.0,
        }


@dataclass(frozen=True)
class GatewayBenchReport:
    memories: int
    iterations: int
    pairs: list[LatencyPair]

    def to_json(self) -> dict[str, Any]:
        return {
            "memories": self.memories,
            "iterations": self.iterations,
            "results": {pair.operation: pair.row() for pair in self.pairs},
        }


def _config(store: str, path: str | None) -> dict[str, Any]:
    if store == "sqlite":
        assert path is not None
        stores: dict[str, Any] = {
            kind: "sqlite" for kind in ("vector_store", "document_store", "graph_store")
        }
        stores |= {
            f"{kind}_config": {"path": path} for kind in ("vector_store", "document_store", "graph_store")
        }
    else:
        stores = {"vector_store": "memory", "document_store": "memory", "graph_store": "memory"}
    return {
        **stores,
        "deployment": {"mode": "standalone"},
        "retain": {"dedup_threshold": 1.0},
        "gateway": {
            "auth": {"api_keys": [{"sha256": hash_api_key(_KEY), "principal": "user:bench"}]},
            "mcp": False,
        },
    }


def _sentence(index: int) -> str:
    topic = _TOPICS[index % len(_TOPICS)]
    return (
        f"Memory {index}: the bench user talked about {topic} on day {index % 365} with friend {index % 97}."
    )


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def run_gateway_bench(
    *,
    memories: int = 1000,
    iterations: int = 200,
    warmup: int = 20,
    store: str = "memory",
    path: str | None = None,
) -> GatewayBenchReport:
    """Load ``memories`` memories, then time ``iterations`` alternating library/HTTP recalls and retains."""
    memory = Astrocyte.from_config(_config(store, path))
    context = AstrocyteContext(actor=ActorIdentity(type="user", id="bench"))
    headers = {"Authorization": f"Bearer {_KEY}"}
    try:
        batch = [{"content": _sentence(i), "bank_id": _BANK} for i in range(memories)]
        for start in range(0, len(batch), 500):
            await memory.retain_many(batch[start : start + 500], context=context)
        app = create_app(memory)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, headers=headers) as client:

            async def http_post(path: str, body: dict[str, Any]) -> None:
                response = await client.post(path, json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")

            recall_lib: list[float] = []
            recall_http: list[float] = []
            retain_lib: list[float] = []
            retain_http: list[float] = []
            for i in range(warmup + iterations):
                topic = _TOPICS[i % len(_TOPICS)]
                query = {"query": f"What did the bench user say about {topic}?", "bank_id": _BANK}
                lib_doc = {"content": f"Library note {i} about {topic}.", "bank_id": _BANK}
                web_doc = {"content": f"HTTP note {i} about {topic}.", "bank_id": _BANK}
                timings = (
                    await _timed(partial(memory.recall, query, context=context)),
                    await _timed(partial(http_post, "/v1/recall", query)),
                    await _timed(partial(memory.retain, lib_doc, context=context)),
                    await _timed(partial(http_post, "/v1/retain", web_doc)),
                )
                if i >= warmup:
                    for samples, value in zip(
                        (recall_lib, recall_http, retain_lib, retain_http), timings, strict=True
                    ):
                        samples.append(value)
        return GatewayBenchReport(
            memories=memories,
            iterations=iterations,
            pairs=[
                LatencyPair("recall", recall_lib, recall_http),
                LatencyPair("retain", retain_lib, retain_http),
            ],
        )
    finally:
        await memory.close()

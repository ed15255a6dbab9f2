"""``astrocyte bench gateway``: gateway overhead = HTTP round trip seen by a client − the library
call the gateway made for that request.

The gateway runs as in production, in its own process (:mod:`astrocyte_gateway.bench_server`:
uvicorn with uvloop/httptools when installed, API-key auth, full middleware); this process is the
client (keep-alive, standard-library HTTP), so the client's own work does not compete with the
server on one event loop. The server times each library call around the very ``await`` its route
makes and reports the timings at the end, so every round trip is paired with its own library call:
the overhead is all a client pays beyond the library (request parse and validation, auth,
middleware, response encoding, HTTP on loopback, the client's send, receive and JSON decoding).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from astrocyte_gateway.bench_server import BENCH_BANK, BENCH_TOPICS
from astrocyte_gateway.settings import hash_api_key

__all__ = ["GatewayBenchReport", "LatencyPair", "run_gateway_bench"]

_KEY = "bench-key-0123456789"
_STARTUP_TIMEOUT_S = 300.0


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
        paired = [web - lib for web, lib in zip(self.http, self.library, strict=True)]
        return {
            "library_p50_ms": round(lib50, 3),
            "library_p95_ms": round(lib95, 3),
            "http_p50_ms": round(http50, 3),
            "http_p95_ms": round(http95, 3),
            "overhead_p50_ms": round(http50 - lib50, 3),
            "overhead_p95_ms": round(http95 - lib95, 3),
            # Per-request differences (the library call ran inside that very round trip): less
            # sensitive to load drifting during the run than the difference of the percentiles.
            "paired_overhead_p50_ms": round(statistics.median(paired), 3),
            "paired_overhead_p95_ms": round(_percentile(paired, 0.95), 3),
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


async def _read_json_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await process.stdout.readline()
    if not line:
        raise RuntimeError(f"the bench gateway exited (code {await process.wait()}) before reporting")
    payload: dict[str, Any] = json.loads(line)
    return payload


@asynccontextmanager
async def _gateway_process(spec: dict[str, Any]) -> AsyncIterator[tuple[str, dict[str, list[float]]]]:
    """Start the bench gateway; yield its URL and a dict filled, after the block, with the
    library-call timings it reports when its stdin is closed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "astrocyte_gateway.bench_server",
        json.dumps(spec),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    timings: dict[str, list[float]] = {}
    try:
        async with asyncio.timeout(_STARTUP_TIMEOUT_S):
            url = (await _read_json_line(process))["url"]
        yield url, timings
        process.stdin.close()
        async with asyncio.timeout(60.0):
            timings.update(await _read_json_line(process))
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


class _Client:
    """A keep-alive HTTP/1.1 client on the gateway: the standard library's, the leanest at hand, so
    the client's own work is a small share of the round trip (httpx spent several times the
    gateway's own CPU per request). Each call still sends real JSON, reads the whole answer and
    decodes it, as any client that uses the result must."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=60)
        self._headers = {"Authorization": f"Bearer {_KEY}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, Any]) -> float:
        """Milliseconds from sending ``body`` to holding the decoded answer."""
        started = time.perf_counter()
        self._connection.request("POST", path, body=json.dumps(body), headers=self._headers)
        response = self._connection.getresponse()
        answer = json.loads(response.read())
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {str(answer)[:200]}")
        return elapsed

    def close(self) -> None:
        self._connection.close()


def _drive(url: str, calls: int) -> tuple[list[float], list[float]]:
    """``calls`` recalls and retains, alternating; their round-trip milliseconds."""
    client = _Client(url)
    recall: list[float] = []
    retain: list[float] = []
    try:
        for i in range(calls):
            topic = BENCH_TOPICS[i % len(BENCH_TOPICS)]
            query = {"query": f"What did the bench user say about {topic}?", "bank_id": BENCH_BANK}
            recall.append(client.post("/v1/recall", query))
            note = {"content": f"HTTP note {i} about {topic}.", "bank_id": BENCH_BANK}
            retain.append(client.post("/v1/retain", note))
    finally:
        client.close()
    return recall, retain


async def run_gateway_bench(
    *,
    memories: int = 1000,
    iterations: int = 200,
    warmup: int = 20,
    store: str = "memory",
    path: str | None = None,
) -> GatewayBenchReport:
    """Load ``memories`` memories in a gateway process, then time ``iterations`` recalls and retains
    over HTTP (alternating), each paired with the library call the gateway made for it."""
    spec = {"config": _config(store, path), "memories": memories}
    async with _gateway_process(spec) as (url, library):
        # A blocking client, in a thread: this loop only has to collect the server's report.
        recall_http, retain_http = await asyncio.to_thread(_drive, url, warmup + iterations)
    return GatewayBenchReport(
        memories=memories,
        iterations=iterations,
        pairs=[
            LatencyPair("recall", library["recall"][warmup:], recall_http[warmup:]),
            LatencyPair("retain", library["retain"][warmup:], retain_http[warmup:]),
        ],
    )

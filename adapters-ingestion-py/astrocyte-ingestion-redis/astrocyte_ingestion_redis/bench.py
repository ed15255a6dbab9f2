"""Ingest throughput through Redis Streams vs the same messages handled without Redis, in one run.

``astrocyte-ingest-bench-redis --messages 2000 --runs 3`` prints messages/s (median over runs) for:

* ``direct-single`` / ``direct-batch``: the messages through :class:`IngestHandler` straight into
  ``Astrocyte.retain`` one by one, or ``retain_many`` per batch (the baselines: parsing,
  idempotency, retain; no transport);
* ``redis``: the same messages published to a fresh stream and consumed by
  :class:`RedisStreamSource` (XREADGROUP batches, XACK after retain) until every one is retained.

The embedder is the built-in ``hashing`` one; the store is the embedded SQLite default (``--store
memory`` for the in-memory reference stores). Use ``nice`` on shared machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import redis.asyncio as redis_async

from astrocyte import Astrocyte
from astrocyte.ingest import InboundMessage, IngestHandler, SourceConfig
from astrocyte_ingestion_redis.source import RedisStreamSource

__all__ = ["main"]

_SETTINGS = SourceConfig(type="stream", driver="redis", target_bank="bench")
_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
]


def _bodies(count: int, run: str) -> list[bytes]:
    bodies = []
    for i in range(count):
        words = " ".join(_WORDS[(i * k + 3) % len(_WORDS)] for k in range(1, 9))
        text = f"Event {run}-{i}: sensor {i * 7919 % 10007} reported {words} at level {i % 97}."
        bodies.append(json.dumps({"content": text}).encode())
    return bodies


def _memory(store: str, directory: Path) -> Astrocyte:
    if store == "memory":
        config: dict[str, object] = {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": "memory",
        }
    else:
        path = str(directory / f"{uuid.uuid4().hex}.db")
        config = {
            "vector_store": "sqlite",
            "vector_store_config": {"path": path},
            "document_store": "sqlite",
            "document_store_config": {"path": path},
            "graph_store": "sqlite",
            "graph_store_config": {"path": path},
        }
    return Astrocyte.from_config({**config, "embedding_provider": "hashing"})


async def _direct(bodies: list[bytes], store: str, directory: Path, batch_size: int) -> float:
    """Messages handled without a transport: one by one (``batch_size`` 1) or in batches."""
    memory = _memory(store, directory)
    handler = IngestHandler(memory, "bench", _SETTINGS)
    messages = [InboundMessage(f"d-{index}", body) for index, body in enumerate(bodies)]
    try:
        started = time.perf_counter()
        for start in range(0, len(messages), batch_size):
            if batch_size == 1:
                await handler.handle(messages[start])
            else:
                await handler.handle_batch(messages[start : start + batch_size])
        elapsed = time.perf_counter() - started
    finally:
        await memory.close()
    assert handler.stats.retained == len(bodies)
    return len(bodies) / elapsed


async def _through_redis(
    bodies: list[bytes], store: str, directory: Path, url: str, batch_size: int
) -> float:
    memory = _memory(store, directory)
    client = redis_async.Redis.from_url(url)
    stream = f"astrocyte-bench-{uuid.uuid4().hex}"
    handler = IngestHandler(memory, "bench", _SETTINGS)
    source = RedisStreamSource(handler=handler, url=url, stream=stream, batch_size=batch_size, block_ms=50)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for body in bodies:
                pipe.xadd(stream, {"body": body})
            await pipe.execute()
        started = time.perf_counter()
        await source.start()
        for _ in range(120_000):  # bounded: at most 600 s
            if handler.stats.retained >= len(bodies):
                break
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await source.stop()
    finally:
        await client.delete(stream, f"{stream}:dead-letter")
        await client.aclose()
        await memory.close()
    if handler.stats.retained < len(bodies):
        raise SystemExit(f"only {handler.stats.retained} of {len(bodies)} messages retained within 600 s")
    return len(bodies) / elapsed


async def _bench(args: argparse.Namespace) -> None:
    rates: dict[str, list[float]] = {"direct-single": [], "direct-batch": [], "redis": []}
    with tempfile.TemporaryDirectory(prefix="astrocyte-bench-") as tmp:
        for run in range(args.runs):
            bodies = _bodies(args.messages, f"{run}-{uuid.uuid4().hex[:6]}")
            rates["direct-single"].append(await _direct(bodies, args.store, Path(tmp), 1))
            rates["direct-batch"].append(await _direct(bodies, args.store, Path(tmp), args.batch_size))
            rates["redis"].append(
                await _through_redis(bodies, args.store, Path(tmp), args.url, args.batch_size)
            )
            print(
                f"run {run + 1}: "
                + "   ".join(f"{name} {values[-1]:8.1f} msg/s" for name, values in rates.items())
            )
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"\n{args.messages} messages x {args.runs} runs, store={args.store}, embedder=hashing, "
        f"batch={args.batch_size} (median messages/s)"
    )
    print(f"direct-single  IngestHandler.handle -> retain        {medians['direct-single']:9.1f}")
    print(f"direct-batch   IngestHandler.handle_batch -> retain_many {medians['direct-batch']:9.1f}")
    print(f"redis          XREADGROUP -> retain_many -> XACK      {medians['redis']:9.1f}")
    print(
        f"ratio redis/direct-batch {medians['redis'] / medians['direct-batch']:.2f}, "
        f"redis/direct-single {medians['redis'] / medians['direct-single']:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="astrocyte-ingest-bench-redis", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.runs < 1:
        parser.error("--messages and --runs must be at least 1")
    asyncio.run(_bench(args))


if __name__ == "__main__":
    main()

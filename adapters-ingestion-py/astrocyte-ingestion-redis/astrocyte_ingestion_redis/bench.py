"""Ingest throughput through Redis Streams vs the same messages handled without Redis, in one run.

``astrocyte-ingest-bench-redis --messages 2000 --runs 3`` prints messages/s (median over runs) for
``direct-single`` / ``direct-batch`` (IngestHandler straight into retain, one by one or
``retain_many`` per ``--batch-size``) and ``redis`` (a fresh stream consumed by
:class:`RedisStreamSource`: XREADGROUP batches, retain, XACK). Hashing embedder; SQLite store by
default (``--store memory`` for the in-memory reference stores). Use ``nice`` on shared machines.
"""

from __future__ import annotations

import time
import uuid

import redis.asyncio as redis_async

from astrocyte.bench.ingest import Through, parser, run, wait_retained
from astrocyte.ingest import IngestHandler
from astrocyte_ingestion_redis.source import RedisStreamSource

__all__ = ["main"]


def _through(url: str, batch_size: int) -> Through:
    async def through(bodies: list[bytes], handler: IngestHandler) -> float:
        client = redis_async.Redis.from_url(url)
        stream = f"astrocyte-bench-{uuid.uuid4().hex}"
        source = RedisStreamSource(
            handler=handler, url=url, stream=stream, batch_size=batch_size, block_ms=50
        )
        try:
            async with client.pipeline(transaction=False) as pipe:
                for body in bodies:
                    pipe.xadd(stream, {"body": body})
                await pipe.execute()
            started = time.perf_counter()
            await source.start()
            await wait_retained(handler, len(bodies))
            elapsed = time.perf_counter() - started
            await source.stop()
        finally:
            await client.delete(stream, f"{stream}:dead-letter")
            await client.aclose()
        return elapsed

    return through


def main(argv: list[str] | None = None) -> None:
    built = parser("astrocyte-ingest-bench-redis", (__doc__ or "").split("\n\n")[0])
    built.add_argument("--url", default="redis://127.0.0.1:6379/0")
    args = built.parse_args(argv)
    run(args, "redis", _through(args.url, args.batch_size))


if __name__ == "__main__":
    main()

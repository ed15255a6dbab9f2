"""Ingest throughput through NATS JetStream vs the same messages handled without NATS, in one run.

``astrocyte-ingest-bench-nats --messages 2000 --runs 3`` prints messages/s (median over runs) for
``direct-single`` / ``direct-batch`` (IngestHandler straight into retain, one by one or
``retain_many`` per ``--batch-size``) and ``nats`` (a fresh stream, consumed by
:class:`NatsJetStreamSource`: pull batches, retain, ack). Hashing embedder; SQLite store by default.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import nats
from nats.js.errors import NotFoundError

from astrocyte.bench.ingest import Through, parser, run, wait_retained
from astrocyte.ingest import IngestHandler
from astrocyte_ingestion_nats.source import NatsJetStreamSource

__all__ = ["main"]


def _through(url: str, batch_size: int) -> Through:
    async def through(bodies: list[bytes], handler: IngestHandler) -> float:
        client = await nats.connect(url)
        js = client.jetstream()
        run_id = uuid.uuid4().hex[:10]
        stream, subject = f"astrocyte_bench_{run_id}", f"astrocyte.bench.{run_id}"
        await js.add_stream(name=stream, subjects=[subject])
        source = NatsJetStreamSource(
            handler=handler,
            url=url,
            stream=stream,
            subject=subject,
            batch_size=batch_size,
            fetch_timeout_seconds=0.2,
        )
        try:
            for body in bodies:
                await js.publish(subject, body)
            started = time.perf_counter()
            await source.start()
            await wait_retained(handler, len(bodies))
            elapsed = time.perf_counter() - started
            await source.stop()
        finally:
            await source.abort()
            for name in (stream, f"{stream}_dead_letter"):
                with contextlib.suppress(NotFoundError):
                    await js.delete_stream(name)
            await client.close()
        return elapsed

    return through


def main(argv: list[str] | None = None) -> None:
    built = parser("astrocyte-ingest-bench-nats", (__doc__ or "").split("\n\n")[0])
    built.add_argument("--url", default="nats://127.0.0.1:4222")
    args = built.parse_args(argv)
    run(args, "nats", _through(args.url, args.batch_size))


if __name__ == "__main__":
    main()

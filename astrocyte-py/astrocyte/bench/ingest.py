"""Shared harness for ingest-connector throughput benchmarks (messages/s, hashing embedder).

A connector's benchmark supplies one coroutine, ``through(bodies, handler)``: it publishes ``bodies``
to a fresh stream/subject/topic, then starts its source with ``handler`` and returns the seconds from
that start until every message was retained (publishing is not timed).
:func:`run` measures it side by side with the ``direct`` baseline (the same messages handed straight
to :class:`~astrocyte.ingest.IngestHandler`, no transport: one by one, and in ``--batch-size``
batches) in the same run, ``--runs`` times, and prints medians and the ratios. Use ``nice`` on shared machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from astrocyte._facade import Astrocyte
from astrocyte.ingest import InboundMessage, IngestHandler, SourceConfig

__all__ = ["Through", "bench_bodies", "bench_memory", "parser", "run", "wait_retained"]

#: Publishes ``bodies``, consumes them through a transport; returns the consume time in seconds.
Through = Callable[[list[bytes], IngestHandler], Awaitable[float]]

_WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
)  # fmt: skip


def bench_bodies(count: int, run: str) -> list[bytes]:
    """``count`` distinct JSON messages (``{"content": ...}``) of a few dozen words."""
    bodies = []
    for i in range(count):
        words = " ".join(_WORDS[(i * k + 3) % len(_WORDS)] for k in range(1, 9))
        text = f"Event {run}-{i}: sensor {i * 7919 % 10007} reported {words} at level {i % 97}."
        bodies.append(json.dumps({"content": text}).encode())
    return bodies


def bench_memory(store: str, directory: Path) -> Astrocyte:
    """A fresh Astrocyte on the hashing embedder: in-memory stores, or one new SQLite file."""
    if store == "memory":
        config: dict[str, object] = {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": "memory",
        }
    else:
        path = str(directory / f"{uuid.uuid4().hex}.db")
        config = {name: "sqlite" for name in ("vector_store", "document_store", "graph_store")} | {
            f"{name}_config": {"path": path} for name in ("vector_store", "document_store", "graph_store")
        }
    return Astrocyte.from_config({**config, "embedding_provider": "hashing"})


async def wait_retained(handler: IngestHandler, count: int, within_seconds: float = 600.0) -> None:
    """Return once ``handler`` retained ``count`` messages; ``SystemExit`` after ``within_seconds``."""
    deadline = time.monotonic() + within_seconds
    while handler.stats.retained < count:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {handler.stats.retained} of {count} messages retained within {within_seconds:.0f} s"
            )
        await asyncio.sleep(0.005)


def _settings(driver: str) -> SourceConfig:
    return SourceConfig(type="stream", driver=driver, target_bank="bench")


async def _direct(bodies: list[bytes], memory: Astrocyte, driver: str, batch_size: int) -> float:
    handler = IngestHandler(memory, "bench", _settings(driver))
    messages = [InboundMessage(f"d-{index}", body) for index, body in enumerate(bodies)]
    started = time.perf_counter()
    if batch_size == 1:
        for message in messages:
            await handler.handle(message)
    else:
        for offset in range(0, len(messages), batch_size):
            await handler.handle_batch(messages[offset : offset + batch_size])
    elapsed = time.perf_counter() - started
    if handler.stats.retained != len(bodies):
        raise SystemExit(f"direct baseline retained {handler.stats.retained} of {len(bodies)}")
    return len(bodies) / elapsed


async def _transport(bodies: list[bytes], memory: Astrocyte, driver: str, through: Through) -> float:
    handler = IngestHandler(memory, "bench", _settings(driver))
    elapsed = await through(bodies, handler)
    if handler.stats.retained != len(bodies):
        raise SystemExit(f"{driver} retained {handler.stats.retained} of {len(bodies)}")
    return len(bodies) / elapsed


async def _measure(
    name: str, bodies: list[bytes], args: argparse.Namespace, driver: str, through: Through
) -> float:
    with tempfile.TemporaryDirectory(prefix="astrocyte-bench-") as tmp:
        memory = bench_memory(args.store, Path(tmp))
        try:
            if name == driver:
                return await _transport(bodies, memory, driver, through)
            return await _direct(bodies, memory, driver, 1 if name == "direct-single" else args.batch_size)
        finally:
            await memory.close()


async def _bench(args: argparse.Namespace, driver: str, through: Through) -> None:
    rates: dict[str, list[float]] = {"direct-single": [], "direct-batch": [], driver: []}
    for run_index in range(args.runs):
        bodies = bench_bodies(args.messages, f"{run_index}-{uuid.uuid4().hex[:6]}")
        for name, results in rates.items():
            results.append(await _measure(name, bodies, args, driver, through))
        print(
            f"run {run_index + 1}: " + "   ".join(f"{name} {r[-1]:8.1f} msg/s" for name, r in rates.items())
        )
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"\n{args.messages} messages x {args.runs} runs, store={args.store}, embedder=hashing, "
        f"batch={args.batch_size} (median messages/s)\n"
        f"direct-single  IngestHandler.handle -> retain             {medians['direct-single']:9.1f}\n"
        f"direct-batch   IngestHandler.handle_batch -> retain_many  {medians['direct-batch']:9.1f}\n"
        f"{driver:<14} consume -> retain_many -> ack/commit      {medians[driver]:9.1f}\n"
        f"ratio {driver}/direct-batch {medians[driver] / medians['direct-batch']:.2f}, "
        f"{driver}/direct-single {medians[driver] / medians['direct-single']:.2f}"
    )


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The common options (``--messages``, ``--runs``, ``--store``); a connector adds its own."""
    built = argparse.ArgumentParser(prog=prog, description=description)
    built.add_argument("--messages", type=int, default=2000)
    built.add_argument("--runs", type=int, default=3)
    built.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    built.add_argument("--batch-size", type=int, default=64, help="messages per fetch (and per direct batch)")
    return built


def run(args: argparse.Namespace, driver: str, through: Through) -> None:
    """Run the benchmark described by ``args`` (from :func:`parser`) and print the report."""
    if args.messages < 1 or args.runs < 1 or args.batch_size < 1:
        raise SystemExit("--messages, --runs and --batch-size must be at least 1")
    asyncio.run(_bench(args, driver, through))

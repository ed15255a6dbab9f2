"""``astrocyte bench chat-proxy``: latency the chat proxy adds over a direct upstream call.

One run, one local OpenAI-compatible upstream (:mod:`astrocyte.bench.chat_upstream`, in a process
of its own so it does not share this one's GIL), one bank of ``memories`` memories, and four ways to
send the same chat completion, interleaved request by request so machine noise hits them alike:

``direct``     the request straight to the upstream (the baseline; same shared HTTP client stack);
``off``        through :class:`~astrocyte.chat_proxy.ChatProxy` with ``X-Astrocyte-Memory: off``
               (parsing and forwarding only);
``read-only``  plus recall for the latest user turn and injection of the memory block;
``on``         plus the exchange queued for background retain (the default mode).

Reported: p50/p95 per path and the added latency over ``direct`` (differences of the percentiles),
and for reference the library's own ``recall`` of the same query (``recall``), which is most of
what ``read-only`` adds.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from astrocyte._facade import Astrocyte
from astrocyte.bench.ingest import bench_memory
from astrocyte.chat_proxy import (
    MEMORIES_HEADER,
    ChatProxy,
    ChatProxySettings,
    ChatReply,
    ChatUpstream,
    MemoryMode,
)
from astrocyte.http import build_async_client
from astrocyte.types import RetainRequest

__all__ = ["ChatProxyBenchReport", "PathLatency", "format_report", "run_chat_proxy_bench"]

_BANK = "bench-chat"
_PATHS = ("direct", "off", "read-only", "on", "recall")
_TOPICS = (
    "Lisbon", "sailing", "the quarterly report", "the kestrel project", "Caroline's move", "the API outage",
    "the sensor array", "the hiring plan", "the database migration", "the team offsite",
)  # fmt: skip


@dataclass
class PathLatency:
    """Latency of one path, in milliseconds."""

    name: str
    p50_ms: float
    p95_ms: float
    mean_ms: float
    added_p50_ms: float = 0.0
    added_p95_ms: float = 0.0


@dataclass
class ChatProxyBenchReport:
    requests: int
    memories: int
    store: str
    paths: list[PathLatency] = field(default_factory=list)
    mean_injected: float = 0.0
    retained: int = 0
    dead_lettered: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def _upstream_process() -> Iterator[str]:
    """``python -m astrocyte.bench.chat_upstream`` in a child process; its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "astrocyte.bench.chat_upstream"], stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = process.stdout.readline().strip() if process.stdout is not None else ""
        if not base_url.startswith("http://"):
            raise SystemExit(
                "the local chat upstream did not start (python -m astrocyte.bench.chat_upstream)"
            )
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _memory_texts(count: int) -> list[str]:
    return [
        f"Note {i}: the discussion about {_TOPICS[i % len(_TOPICS)]} concluded with decision {i * 7919 % 10007}."
        for i in range(count)
    ]


def _chat(i: int) -> dict[str, Any]:
    topic = _TOPICS[i % len(_TOPICS)]
    return {
        "model": "local-model",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": f"What did we decide about {topic} (question {i})?"},
        ],
        "temperature": 0,
    }


async def run_chat_proxy_bench(
    *, requests: int, memories: int, store: str, warmup: int = 10
) -> ChatProxyBenchReport:
    """Measure the four paths ``requests`` times each (after ``warmup`` unmeasured rounds)."""
    report = ChatProxyBenchReport(requests=requests, memories=memories, store=store)
    with _upstream_process() as base_url, tempfile.TemporaryDirectory() as directory:
        memory = bench_memory(store, Path(directory))
        settings = ChatProxySettings.model_validate({"upstream": {"base_url": base_url}})
        proxy = ChatProxy(memory, settings=settings, upstream=ChatUpstream(base_url))
        direct = build_async_client(base_url=base_url, purpose="bench")
        try:
            texts = _memory_texts(memories)
            for start in range(0, len(texts), 500):
                batch = [RetainRequest(content=text, bank_id=_BANK) for text in texts[start : start + 500]]
                await memory.retain_many(batch)
            samples, injected = await _measure(memory, proxy, direct, requests, warmup)
            await proxy.retainer.drain()
            report.retained = proxy.retainer.stats.retained
            report.dead_lettered = proxy.retainer.stats.dead_lettered
        finally:
            await direct.aclose()
            await proxy.aclose()
            await memory.close()
    baseline = samples["direct"]
    for name in _PATHS:
        values = samples[name]
        latency = PathLatency(
            name, _percentile(values, 0.5), _percentile(values, 0.95), statistics.fmean(values)
        )
        if name not in ("direct", "recall"):
            latency.added_p50_ms = latency.p50_ms - _percentile(baseline, 0.5)
            latency.added_p95_ms = latency.p95_ms - _percentile(baseline, 0.95)
        report.paths.append(latency)
    report.mean_injected = statistics.fmean(injected) if injected else 0.0
    return report


async def _measure(
    memory: Astrocyte, proxy: ChatProxy, direct: httpx.AsyncClient, requests: int, warmup: int
) -> tuple[dict[str, list[float]], list[int]]:
    async def send_direct(body: dict[str, Any]) -> int:
        response = await direct.post("chat/completions", json=body)
        response.raise_for_status()
        return 0

    def through(mode: MemoryMode) -> Callable[[dict[str, Any]], Awaitable[int]]:
        async def send(body: dict[str, Any]) -> int:
            reply = await proxy.complete(body, bank_id=_BANK, memory_mode=mode)
            if not isinstance(reply, ChatReply) or reply.status != 200:
                raise SystemExit(
                    f"the proxy answered {reply.status} in mode {mode!r}; the benchmark needs 200"
                )
            return int(reply.headers[MEMORIES_HEADER])

        return send

    async def recall_only(body: dict[str, Any]) -> int:
        query = body["messages"][-1]["content"]
        limit = proxy.settings.memory.max_results
        return len((await memory.recall(query, bank_id=_BANK, max_results=limit)).hits)

    senders = {
        "recall": recall_only,
        "direct": send_direct,
        "off": through("off"),
        "read-only": through("read-only"),
        "on": through("on"),
    }
    samples: dict[str, list[float]] = {name: [] for name in _PATHS}
    injected: list[int] = []
    for i in range(warmup + requests):
        body = _chat(i)
        order = _PATHS[i % len(_PATHS) :] + _PATHS[: i % len(_PATHS)]  # rotate who goes first
        for name in order:
            started = time.perf_counter()
            count = await senders[name](body)
            elapsed = (time.perf_counter() - started) * 1000
            if i >= warmup:
                samples[name].append(elapsed)
                if name == "read-only":
                    injected.append(count)
        await asyncio.sleep(0)  # let the background retain run between rounds, as between real requests
    return samples, injected


def format_report(report: ChatProxyBenchReport) -> list[str]:
    """The report as text lines."""
    lines = [
        f"chat proxy: {report.requests} requests per path, {report.memories} memories in one bank "
        f"({report.store} store, hashing embedder), local upstream on loopback",
        f"{'path':<10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'+p50 ms':>8} {'+p95 ms':>8} {'p50 ratio':>9}",
    ]
    direct = report.paths[0]
    for path in report.paths:
        timing = f"{path.name:<10} {path.p50_ms:8.2f} {path.p95_ms:8.2f} {path.mean_ms:8.2f}"
        if path.name == "recall":
            lines.append(f"{timing} {'-':>8} {'-':>8} {'-':>9}")
            continue
        ratio = path.p50_ms / direct.p50_ms if direct.p50_ms else float("nan")
        lines.append(f"{timing} {path.added_p50_ms:8.2f} {path.added_p95_ms:8.2f} {ratio:9.2f}")
    lines.append("recall: the library's recall of the same query alone (reference for what read-only adds)")
    lines.append(
        f"memories injected per request (mean): {report.mean_injected:.1f}; exchanges retained in the "
        f"background: {report.retained}, dead-lettered: {report.dead_lettered}"
    )
    lines.append(
        "+p50/+p95: added over direct (difference of percentiles). Shared machines are noisy: compare within one run."
    )
    return lines

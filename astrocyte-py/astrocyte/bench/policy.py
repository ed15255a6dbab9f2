"""What the policy layer costs: ``python -m astrocyte.bench.policy [--calls N] [--redis URL]``.

Hot paths (PII scan, token bucket, access check) are timed alone; then retain and recall run
through the facade on the in-memory reference stores with every policy off (the baseline) and on
(context + access control, rate limits, quotas, circuit breakers, audit; PII is timed as a hot
path), interleaved
call by call so machine noise hits both alike. Reports medians, p95 and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from astrocyte._facade import Astrocyte
from astrocyte.access import AccessPolicy
from astrocyte.access_settings import AgentSettings, BankGrants
from astrocyte.identity import AstrocyteContext
from astrocyte.policy.pii import PiiScanner
from astrocyte.policy.ratelimit import BucketRequest, TokenBucketLimiter

__all__ = ["main", "run"]

_TEXT = (
    "Caroline met Melanie at the support group on 8 May 2023 and they talked about adoption agencies, "
    "camping in the mountains and the sunrise painting by the lake. "
) * 6
_GENEROUS = {"rate": 1_000_000.0, "burst": 1_000_000}


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _time_sync(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1000)  # µs
    return _stats(samples)


def _hot_paths(repeat: int) -> dict[str, tuple[float, float]]:
    scanner = PiiScanner()
    limiter = TokenBucketLimiter()
    buckets = [BucketRequest("principal", "user:1", 1e9, 10**9), BucketRequest("bank", "user-1", 1e9, 10**9)]
    policy = AccessPolicy(
        agents={
            f"a{i}": AgentSettings(principal=f"agent:a{i}", allowed_banks=[f"team{i}-*"]) for i in range(10)
        },
        banks={f"shared{i}-*": BankGrants(readers=["user:*"], owners=[f"user:o{i}"]) for i in range(10)},
    )
    context = AstrocyteContext(principal="user:1")
    return {
        f"pii scan ({len(_TEXT)} chars)": _time_sync(lambda: scanner.scan(_TEXT), repeat),
        "token bucket (2 buckets)": _time_sync(lambda: limiter.acquire(buckets, time.monotonic()), repeat),
        "access check (10 agents, 10 grants)": _time_sync(
            lambda: policy.check(context, "shared3-x", "read"), repeat
        ),
    }


def _config(policy_on: bool, redis_url: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {"profile": "minimal"}
    if not policy_on:
        config["policy"] = {"circuit_breaker": {"enabled": False}, "audit": {"enabled": False}}
        return config
    rate_limits: dict[str, Any] = {"per_principal": _GENEROUS, "per_bank": _GENEROUS}
    if redis_url:
        rate_limits |= {"backend": "redis", "redis_url": redis_url, "key_prefix": "astrocyte-bench:"}
    config["policy"] = {"rate_limits": rate_limits, "quotas": {"max_memories": 10_000_000}}
    return config  # the PII barrier is a content feature; its cost is the "pii scan" hot path


async def _facade(calls: int, redis_url: str | None) -> dict[str, dict[str, tuple[float, float]]]:
    base = Astrocyte.from_config(_config(False, None))
    full = Astrocyte.from_config(_config(True, redis_url))
    context = AstrocyteContext(principal="user:bench")
    timings: dict[str, dict[str, list[float]]] = {
        "retain": {"off": [], "on": []},
        "recall": {"off": [], "on": []},
    }

    async def timed(kind: str, label: str, call: Callable[[], Awaitable[object]]) -> None:
        started = time.perf_counter()
        await call()
        timings[kind][label].append((time.perf_counter() - started) * 1000)

    try:
        for index in range(calls):
            text = f"Fact {index}: {_TEXT[: 200 + index % 50]}"
            await timed("retain", "off", lambda t=text: base.retain(t, bank_id="user-bench"))  # type: ignore[misc]
            await timed("retain", "on", lambda t=text: full.retain(t, context=context))  # type: ignore[misc]
        for index in range(calls):
            query = f"What did Caroline say about camping {index}?"
            await timed("recall", "off", lambda q=query: base.recall(q, bank_id="user-bench"))  # type: ignore[misc]
            await timed("recall", "on", lambda q=query: full.recall(q, context=context))  # type: ignore[misc]
    finally:
        await base.close()
        await full.close()
    return {kind: {label: _stats(s) for label, s in runs.items()} for kind, runs in timings.items()}


def run(calls: int = 300, redis_url: str | None = None) -> str:
    """Run both parts and return the report as text."""
    lines = ["hot paths (µs)                          median      p95"]
    for name, (median, p95) in _hot_paths(max(calls * 10, 1000)).items():
        lines.append(f"  {name:<36} {median:8.1f} {p95:8.1f}")
    backend = f"redis {redis_url}" if redis_url else "in-process"
    lines.append(f"facade on memory stores, {calls} calls each (ms; rate limits {backend})")
    lines.append("  verb     policy off med/p95    policy on med/p95    ratio (median)")
    for kind, result in asyncio.run(_facade(calls, redis_url)).items():
        (off_med, off_p95), (on_med, on_p95) = result["off"], result["on"]
        lines.append(
            f"  {kind:<8} {off_med:8.3f} {off_p95:8.3f}     {on_med:8.3f} {on_p95:8.3f}     {on_med / off_med:6.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m astrocyte.bench.policy", description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="retain and recall calls per variant")
    parser.add_argument("--redis", default=None, help="use the Redis limiter at this URL (redis://...)")
    args = parser.parse_args(argv)
    print(run(args.calls, args.redis))


if __name__ == "__main__":
    main()

"""The server half of ``astrocyte bench gateway``: the gateway in its own process, as in production.

``python -m astrocyte_gateway.bench_server SPEC`` (SPEC: JSON ``{"config": {...}, "memories": N}``)
loads N memories, serves the gateway with uvicorn's production choices (uvloop and httptools when
installed) on a free loopback port, prints ``{"url": ...}`` once it listens, and when its stdin
closes prints ``{"recall": [...], "retain": [...]}``: the milliseconds of every library call the routes made, in
order. Timing the library call inside the server, around the very call the route awaits, pairs each
HTTP round trip with its own library call on the same loop and in the same process.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any

import uvicorn

from astrocyte import Astrocyte
from astrocyte.identity import ActorIdentity, AstrocyteContext
from astrocyte.types import RecallResult, RetainResult
from astrocyte_gateway.app import create_app

__all__ = ["BENCH_BANK", "BENCH_TOPICS", "TimedAstrocyte", "bench_sentence", "main"]

BENCH_BANK = "user-bench"
BENCH_TOPICS = (
    "tea",
    "bees",
    "Lisbon",
    "chess",
    "piano",
    "rowing",
    "Kafka",
    "sourdough",
    "orchids",
    "trains",
)


def bench_sentence(index: int) -> str:
    topic = BENCH_TOPICS[index % len(BENCH_TOPICS)]
    return (
        f"Memory {index}: the bench user talked about {topic} on day {index % 365} with friend {index % 97}."
    )


class TimedAstrocyte(Astrocyte):
    """An :class:`Astrocyte` that records how long each ``recall`` and ``retain`` took (ms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recall_ms: list[float] = []
        self.retain_ms: list[float] = []

    def start_timing(self) -> None:
        """Forget the calls so far (the memories loaded before serving)."""
        self.recall_ms.clear()
        self.retain_ms.clear()

    async def recall(self, *args: Any, **kwargs: Any) -> RecallResult:
        started = time.perf_counter()
        result = await super().recall(*args, **kwargs)
        self.recall_ms.append((time.perf_counter() - started) * 1000)
        return result

    async def retain(self, *args: Any, **kwargs: Any) -> RetainResult:
        started = time.perf_counter()
        result = await super().retain(*args, **kwargs)
        self.retain_ms.append((time.perf_counter() - started) * 1000)
        return result


async def _load(memory: Astrocyte, count: int) -> None:
    context = AstrocyteContext(actor=ActorIdentity(type="user", id="bench"))
    batch = [{"content": bench_sentence(i), "bank_id": BENCH_BANK} for i in range(count)]
    for start in range(0, len(batch), 500):
        await memory.retain_many(batch[start : start + 500], context=context)


def _stop_when_stdin_closes(server: uvicorn.Server) -> None:
    """Shut down once the bench closes our stdin (or dies). Not a signal: uvicorn re-raises a
    captured SIGTERM after shutdown, which would kill the process before it reports."""

    def wait() -> None:
        sys.stdin.buffer.read()
        server.should_exit = True  # uvicorn polls this flag

    threading.Thread(target=wait, name="bench-stdin", daemon=True).start()


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def _serve(server: uvicorn.Server, memory: TimedAstrocyte, memories: int) -> None:
    try:
        await _load(memory, memories)
        memory.start_timing()
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await serving  # raises the startup error
                raise RuntimeError("the gateway exited during startup")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        _emit({"url": f"http://127.0.0.1:{port}"})
        _stop_when_stdin_closes(server)
        await serving
        _emit({"recall": memory.recall_ms, "retain": memory.retain_ms})
    finally:
        await memory.close()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    memory = TimedAstrocyte.from_config(spec["config"])
    assert isinstance(memory, TimedAstrocyte)  # from_config builds `cls`, typed as the base class
    config = uvicorn.Config(
        create_app(memory), host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
    )
    # The loop uvicorn.run would pick (uvloop when installed), as `astrocyte serve` runs it.
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(uvicorn.Server(config), memory, int(spec["memories"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``astrocyte ingest sources | run``: list the configured ingest sources, or run them.

``run`` builds every stream/poll source of ``sources:`` and keeps them consuming under an
:class:`~astrocyte.ingest.IngestSupervisor` until SIGINT/SIGTERM (or ``--for SECONDS``), then stops
them gracefully: the batch in hand is retained and acknowledged before exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal

from astrocyte._facade import Astrocyte
from astrocyte.cli._base import Subparsers, add_command, add_config_option, print_error
from astrocyte.config import load_config
from astrocyte.errors import ConfigError
from astrocyte.ingest.registry import RUNNABLE_TYPES, SourceRegistry, build_source
from astrocyte.ingest.supervisor import IngestSupervisor

__all__ = ["register"]


def _sources(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    rows: dict[str, dict[str, str | None]] = {}
    broken = False
    memory = Astrocyte.from_config(args.config) if args.check else None  # --check builds the drivers
    try:
        for source_id, settings in config.sources.items():
            row: dict[str, str | None] = {
                "type": settings.type,
                "driver": settings.driver,
                "bank": settings.target_bank or settings.target_bank_template,
                "extraction_profile": settings.extraction_profile,
            }
            if memory is not None and settings.type in RUNNABLE_TYPES:
                try:
                    build_source(memory, source_id, settings)
                    row["status"] = "ok"
                except ConfigError as exc:
                    row["status"] = f"error: {exc}"
                    broken = True
            rows[source_id] = row
    finally:
        if memory is not None:
            asyncio.run(memory.close())
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no sources configured (add a sources: section to astrocyte.yaml)")
    else:
        for source_id, row in rows.items():
            details = "  ".join(f"{key}={value}" for key, value in row.items() if value is not None)
            print(f"{source_id}  {details}")
    return 1 if broken else 0


async def _run_sources(config_source: str | None, seconds: float | None) -> int:
    memory = Astrocyte.from_config(config_source)
    try:
        registry = SourceRegistry.from_config(memory)
        if not len(registry):
            print_error("no stream or poll sources in sources: — nothing to run")
            return 1
        supervisor = IngestSupervisor(registry)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
                loop.add_signal_handler(signum, stop.set)
        await supervisor.start()
        print(f"running {', '.join(s.source_id for s in registry.sources())} (Ctrl-C stops)", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        await supervisor.stop()
        for source_id, status in (await registry.health()).items():
            print(f"{source_id}: {status.message} {json.dumps(status.details, sort_keys=True)}")
        return 0
    finally:
        await memory.close()


def _run(args: argparse.Namespace) -> int:
    if args.seconds is not None and args.seconds <= 0:
        raise ConfigError("--for must be a positive number of seconds", key_path="--for")
    return asyncio.run(_run_sources(args.config, args.seconds))


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "ingest", _dispatch, help="List or run the ingest sources of the config."
    )
    add_config_option(parser)
    parser.add_argument(
        "action", choices=("sources", "run"), help="sources: list them; run: consume until stopped"
    )
    parser.add_argument(
        "--check", action="store_true", help="sources: build each driver (exit 1 if any fails)"
    )
    parser.add_argument("--json", action="store_true", help="sources: print JSON")
    parser.add_argument("--for", dest="seconds", type=float, default=None, help="run: stop after SECONDS")


def _dispatch(args: argparse.Namespace) -> int:
    if args.action == "sources":
        return _sources(args)
    if args.action == "run":
        return _run(args)
    print_error(f"unknown action {args.action!r}")
    return 2

"""``astrocyte serve`` (the REST gateway) and ``astrocyte mcp`` (MCP over stdio).

Both live in the separate ``astrocyte-gateway`` distribution; it is imported only when a command
runs, and a missing install is reported with the command that fixes it.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

from astrocyte.cli._base import Subparsers, add_command, add_config_option
from astrocyte.errors import BackendNotInstalledError

__all__ = ["add_bench", "gateway_module", "register"]


def gateway_module(name: str) -> ModuleType:
    """``astrocyte_gateway.<name>``, or a :class:`BackendNotInstalledError` saying how to install it."""
    try:
        return importlib.import_module(f"astrocyte_gateway.{name}")
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("astrocyte_gateway"):
            raise
        raise BackendNotInstalledError(
            "the gateway is not installed", hint="pip install astrocyte-gateway"
        ) from None


def _serve(args: argparse.Namespace) -> int:
    code: int = gateway_module("server").serve(args.config, args.host, args.port, args.log_level)
    return code


def _mcp(args: argparse.Namespace) -> int:
    code: int = gateway_module("mcp_server").run_stdio(args.config, args.principal)
    return code


def _bench(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import os
    import tempfile
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    bench = gateway_module("bench")
    with tempfile.TemporaryDirectory(prefix="astrocyte-gw-bench-") as home:
        report = asyncio.run(
            bench.run_gateway_bench(
                memories=args.memories,
                iterations=args.iterations,
                warmup=args.warmup,
                store=args.store,
                path=str(Path(home) / "bench.db"),
            )
        )
    data = report.to_json()
    table = Table(
        title=f"gateway overhead ({data['memories']} memories, {data['iterations']} calls each, {args.store})"
    )
    for column in (
        "op",
        "lib p50",
        "lib p95",
        "http p50",
        "http p95",
        "overhead p50",
        "overhead p95",
        "ratio",
    ):
        table.add_column(column, justify="right")
    for operation, row in data["results"].items():
        table.add_row(operation, *(f"{value:.3f}" for value in row.values()))
    Console().print(table)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"times in ms; overhead = HTTP round trip on loopback − library call (same run, same store); load {load}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


def add_bench(benchmarks: Subparsers) -> None:
    """``astrocyte bench gateway`` (registered by :mod:`astrocyte.cli._bench`)."""
    parser = add_command(
        benchmarks, "gateway", _bench, help="Gateway overhead: loopback HTTP round trip − library call."
    )
    parser.add_argument("--memories", type=int, default=1000, help="memories loaded first (default 1000)")
    parser.add_argument("--iterations", type=int, default=200, help="timed calls per operation (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first (default 20)")
    parser.add_argument("--store", choices=["memory", "sqlite"], default="sqlite")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write the report as JSON")


def register(subparsers: Subparsers) -> None:
    serve = add_command(subparsers, "serve", _serve, help="Serve the REST gateway (needs astrocyte-gateway).")
    add_config_option(serve)
    serve.add_argument(
        "--host", default=None, help="bind address (default $ASTROCYTE_GATEWAY_HOST or 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=None, help="port (default $ASTROCYTE_GATEWAY_PORT or 8080)"
    )
    serve.add_argument("--log-level", default=None, help="debug, info, warning (default info)")
    mcp = add_command(subparsers, "mcp", _mcp, help="Serve MCP over stdio (needs astrocyte-gateway).")
    add_config_option(mcp)
    mcp.add_argument(
        "--principal",
        default=None,
        help="identity of the stdio client, e.g. agent:claude (default $ASTROCYTE_MCP_PRINCIPAL)",
    )

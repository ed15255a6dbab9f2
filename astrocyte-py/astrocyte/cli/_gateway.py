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

__all__ = ["gateway_module", "register"]


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

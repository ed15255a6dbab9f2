"""Running the gateway: ``astrocyte-gateway`` / ``astrocyte serve``, and :func:`serving` (uvicorn in the
current event loop on an ephemeral port — for tests)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from astrocyte.errors import AstrocyteError
from astrocyte_gateway.settings import hash_api_key

__all__ = ["main", "serve", "serving"]

_DEFAULT_HOST = "127.0.0.1"
_DEFAULT_PORT = 8080


@asynccontextmanager
async def serving(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on ``host`` (port 0: any free port) until the block exits; yields
    the base URL. Lifespan runs, so the app's Astrocyte is closed on exit."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="astrocyte-gateway")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the startup error
                raise RuntimeError("the gateway exited during startup")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        await task


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("astrocyte.gateway.access", "astrocyte.gateway", "astrocyte.audit"):
        log = logging.getLogger(name)
        log.setLevel(level.upper())
        log.addHandler(handler)
        log.propagate = False


def serve(config: str | None, host: str | None, port: int | None, log_level: str | None = None) -> int:
    """Build the app from ``config`` and serve it until interrupted (blocking)."""
    from astrocyte_gateway.app import create_app

    level = log_level or os.environ.get("ASTROCYTE_GATEWAY_LOG_LEVEL", "info")
    _configure_logging(level)
    app = create_app(config)
    if app.state.gateway.settings.otel:
        from astrocyte_gateway.otel import instrument

        instrument(app)
    uvicorn.run(
        app,
        host=host or os.environ.get("ASTROCYTE_GATEWAY_HOST", _DEFAULT_HOST),
        port=port if port is not None else int(os.environ.get("ASTROCYTE_GATEWAY_PORT", _DEFAULT_PORT)),
        log_level=level.lower(),
        access_log=False,  # the gateway writes its own JSON access log
        proxy_headers=True,
        lifespan="on",  # "auto" would serve on without closing the stores if startup failed
    )
    return 0


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default=None, help="astrocyte.yaml (default: $ASTROCYTE_CONFIG)")
    parser.add_argument(
        "--host", default=None, help=f"bind address (default $ASTROCYTE_GATEWAY_HOST or {_DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"port (default $ASTROCYTE_GATEWAY_PORT or {_DEFAULT_PORT})"
    )
    parser.add_argument("--log-level", default=None, help="debug, info, warning (default info)")


def main(argv: Sequence[str] | None = None) -> int:
    """``astrocyte-gateway [serve] [--config FILE] [--host H] [--port P]`` or ``hash-key KEY``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["hash-key"]:
        if len(args) != 2:
            print("usage: astrocyte-gateway hash-key KEY", file=sys.stderr)
            return 2
        print(hash_api_key(args[1]))
        return 0
    if args[:1] == ["serve"]:
        args = args[1:]
    parser = argparse.ArgumentParser(prog="astrocyte-gateway", description="Serve the Astrocyte gateway.")
    add_serve_arguments(parser)
    parsed = parser.parse_args(args)
    try:
        return serve(parsed.config, parsed.host, parsed.port, parsed.log_level)
    except AstrocyteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

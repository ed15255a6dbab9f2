"""``create_app``: the gateway's FastAPI application.

Wiring only: settings, state, middleware, problem handlers and one ``include_router`` per route
module (the hot memory routes excepted, see below). A new feature adds its router module and one
``app.include_router(...)`` line here.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from fastapi.telemetry import TelemetryConfig
from starlette.routing import Route

from astrocyte import Astrocyte, __version__
from astrocyte.access_settings import DeploymentSettings
from astrocyte.config import AstrocyteConfig, load_config
from astrocyte.errors import ConfigError
from astrocyte.ingest import IngestSupervisor, SourceRegistry
from astrocyte_gateway import console, routes_admin, routes_chat, routes_health, routes_ingest, routes_memory
from astrocyte_gateway.auth import SECURITY_SCHEMES, build_authenticator
from astrocyte_gateway.mcp_server import McpHttpEndpoint
from astrocyte_gateway.metrics import GatewayMetrics
from astrocyte_gateway.middleware import GatewayMiddleware
from astrocyte_gateway.problems import install_problem_handlers
from astrocyte_gateway.settings import GatewaySettings, parse_gateway_settings
from astrocyte_gateway.state import GatewayState

__all__ = ["create_app", "standalone_config"]


ConfigSource = Astrocyte | AstrocyteConfig | str | os.PathLike[str] | Mapping[str, Any] | None
_NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def standalone_config(config: AstrocyteConfig) -> AstrocyteConfig:
    """``config`` in standalone mode: every call needs an identity. A config left at the default
    (library mode, anonymous unset) is switched; one that explicitly trusts anonymous calls is refused."""
    deployment = config.deployment
    if deployment.mode == "standalone":
        return config
    if deployment.mode == "library" and deployment.allow_anonymous is None:
        return config.model_copy(update={"deployment": DeploymentSettings(mode="standalone")})
    raise ConfigError(
        f"the gateway runs only standalone deployments, not mode {deployment.mode!r} with "
        f"allow_anonymous={deployment.allow_anonymous}",
        key_path="deployment",
        hint="set deployment: {mode: standalone}",
    )


def _config(source: ConfigSource) -> AstrocyteConfig:
    if isinstance(source, Astrocyte):
        if source.access.anonymous_allowed:
            raise ConfigError(
                "this Astrocyte accepts context-less calls; the gateway needs a standalone deployment",
                key_path="deployment.mode",
                hint="build it from a config with deployment: {mode: standalone}",
            )
        return source.config
    config = source if isinstance(source, AstrocyteConfig) else load_config(source)
    return standalone_config(config)


def _lifespan(state: GatewayState) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(state.authenticator.aclose)
            if state.owns_memory:
                stack.push_async_callback(state.memory.close)
            if state.mcp is not None:
                await stack.enter_async_context(state.mcp.session_manager.run())
            if len(state.sources):
                state.supervisor = IngestSupervisor(state.sources)
                await state.supervisor.start()
                stack.push_async_callback(state.supervisor.stop)
            yield

    return lifespan


def create_app(source: ConfigSource = None) -> FastAPI:
    """The gateway over an :class:`~astrocyte.Astrocyte` (used as is, and not closed by the app) or
    over a config (file, mapping, :class:`AstrocyteConfig`, or ``None`` for ``$ASTROCYTE_CONFIG`` /
    ``./astrocyte.yaml``), built now and closed when the app shuts down."""
    config = _config(source)
    settings: GatewaySettings = parse_gateway_settings(config.gateway)
    owns = not isinstance(source, Astrocyte)
    memory = Astrocyte.from_config(config) if owns else source
    assert isinstance(memory, Astrocyte)
    try:
        sources = SourceRegistry.from_config(memory) if settings.ingest else SourceRegistry()
    except BaseException:
        if owns:
            _close_now(memory)
        raise
    state = GatewayState(
        memory=memory,
        settings=settings,
        authenticator=build_authenticator(settings.auth),
        metrics=GatewayMetrics(),
        owns_memory=owns,
        sources=sources,
    )
    app = FastAPI(
        title="Astrocyte gateway",
        version=__version__,
        description="Memory for AI agents over HTTP: retain, recall, reflect, forget.",
        lifespan=_lifespan(state),
        # gateway.otel decides tracing: off, FastAPI's native telemetry (which would start on any
        # globally configured OpenTelemetry provider) is off too, and costs nothing per request.
        telemetry=None if settings.otel else _NO_NATIVE_TELEMETRY,
    )
    app.state.gateway = state
    install_problem_handlers(app)
    if settings.cors.allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors.allow_origins,
            allow_methods=settings.cors.allow_methods,
            allow_headers=settings.cors.allow_headers,
            allow_credentials=settings.cors.allow_credentials,
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=settings.cors.max_age,
        )
    app.add_middleware(
        GatewayMiddleware,
        metrics=state.metrics if settings.metrics else None,
        max_body_bytes=settings.max_body_bytes,
        access_log=settings.access_log,
    )
    # The hot memory routes come first, in the app's own route list rather than an included router:
    # FastAPI matches an included router twice per request, through scope bookkeeping, and every
    # route before the hot ones is tried first — together about a fifth of the gateway's own work
    # per recall. Same paths and operations in the OpenAPI document.
    app.router.routes[0:0] = routes_memory.router.routes
    app.include_router(routes_health.router)
    app.include_router(routes_ingest.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_chat.router)
    app.include_router(console.router)
    if settings.mcp:
        state.mcp = McpHttpEndpoint(memory, state.authenticator)
        app.router.routes.append(
            Route("/mcp", endpoint=state.mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False)
        )
    if settings.metrics:

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")

    _declare_security(app)
    return app


def _close_now(memory: Astrocyte) -> None:
    """Close an Astrocyte built for an app that failed to build. ``create_app`` is sync and may run
    inside an event loop, so the close runs to completion on its own loop in a helper thread."""
    closer = threading.Thread(target=asyncio.run, args=(memory.close(),), name="astrocyte-close")
    closer.start()
    closer.join()


def _declare_security(app: FastAPI) -> None:
    """Add the credential schemes to the generated OpenAPI document (routes reference them)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]

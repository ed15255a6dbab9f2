"""MCP server (official ``mcp`` SDK): tools ``memory_retain``, ``memory_recall``, ``memory_reflect``,
``memory_forget`` and ``memory_list_banks`` over one :class:`~astrocyte.Astrocyte`.

Identity comes from the transport: over streamable HTTP (mounted at ``/mcp`` on the gateway) every
request carries the same credentials as the REST API and is authenticated by the gateway's
authenticator; over stdio (``astrocyte mcp``) the local user names the principal with ``--principal``
(or ``ASTROCYTE_MCP_PRINCIPAL``). Library errors become tool errors ``"<code>: <message>"``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from astrocyte import Astrocyte
from astrocyte.errors import AstrocyteError, ConfigError
from astrocyte.identity import ActorIdentity, AstrocyteContext
from astrocyte.types import ForgetResult, RecallResult, ReflectResult, RetainResult
from astrocyte_gateway.auth import Authenticator
from astrocyte_gateway.problems import GatewayProblem

__all__ = ["MCP_PRINCIPAL_ENV", "McpHttpEndpoint", "build_mcp", "run_stdio"]

MCP_PRINCIPAL_ENV = "ASTROCYTE_MCP_PRINCIPAL"
#: The SDK injects this into any tool parameter annotated with it.
McpContext = Context[Any, Any, Any]
#: How a tool call learns who is calling.
ContextFor = Callable[[McpContext], Awaitable[AstrocyteContext]]


async def _run(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except AstrocyteError as exc:
        raise ToolError(f"{exc.code}: {exc}") from None


def build_mcp(memory: Astrocyte, context_for: ContextFor, *, http: bool = False) -> FastMCP:
    """An MCP server exposing the memory tools; ``context_for`` authenticates each call.

    ``http`` configures the stateless streamable-HTTP transport: credentials ride every request (no
    ambient cookies), so DNS-rebinding checks add nothing and would reject the gateway's real host
    names."""
    server: FastMCP = FastMCP(
        name="astrocyte",
        instructions="Long-term memory: retain facts, recall them later, reflect to answer from memory.",
        log_level="WARNING",
        stateless_http=http,
        json_response=http,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False) if http else None,
    )

    @server.tool()
    async def memory_retain(
        content: str,
        ctx: McpContext,
        bank_id: str | None = None,
        tags: list[str] | None = None,
        occurred_at: str | None = None,
    ) -> RetainResult:
        """Remember ``content`` (in your own bank unless ``bank_id`` names another)."""
        fields: dict[str, Any] = {"tags": tags, "occurred_at": occurred_at}
        context = await context_for(ctx)
        result: RetainResult = await _run(memory.retain(content, bank_id=bank_id, context=context, **fields))
        return result

    @server.tool()
    async def memory_recall(
        query: str,
        ctx: McpContext,
        bank_id: str | None = None,
        bank_ids: list[str] | None = None,
        max_results: int = 10,
        tags: list[str] | None = None,
    ) -> RecallResult:
        """The memories most relevant to ``query``."""
        context = await context_for(ctx)
        request = {"query": query, "bank_id": bank_id, "bank_ids": bank_ids, "max_results": max_results}
        if tags:
            request["tags"] = tags
        result: RecallResult = await _run(memory.recall(request, context=context))
        return result

    @server.tool()
    async def memory_reflect(
        query: str, ctx: McpContext, bank_id: str | None = None, max_results: int = 10
    ) -> ReflectResult:
        """Answer ``query`` from memory, citing the memories used."""
        context = await context_for(ctx)
        request = {"query": query, "bank_id": bank_id, "max_results": max_results}
        result: ReflectResult = await _run(memory.reflect(request, context=context))
        return result

    @server.tool()
    async def memory_forget(
        ctx: McpContext,
        bank_id: str | None = None,
        memory_ids: list[str] | None = None,
        tags: list[str] | None = None,
        all: bool = False,
    ) -> ForgetResult:
        """Forget memories by id or tag, or a whole bank with ``all=true``."""
        context = await context_for(ctx)
        fields: dict[str, Any] = {"tags": tags, "all": all or None}
        result: ForgetResult = await _run(
            memory.forget(bank_id=bank_id, memory_ids=memory_ids, context=context, **fields)
        )
        return result

    @server.tool()
    async def memory_list_banks(ctx: McpContext) -> list[str]:
        """Banks holding memories that you may read."""
        context = await context_for(ctx)
        banks: list[str] = await _run(memory.banks(context=context))
        return banks

    return server


# --------------------------------------------------------------------------- streamable HTTP


def http_context_for(authenticator: Authenticator) -> ContextFor:
    """Authenticate each tool call with the HTTP request's own credentials."""

    async def context_for(ctx: McpContext) -> AstrocyteContext:
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        if headers is None:
            raise ToolError("unauthenticated: no HTTP headers on this request")
        try:
            caller = await authenticator.authenticate({k.lower(): v for k, v in headers.items()})
        except GatewayProblem as exc:
            raise ToolError(f"{exc.code}: {exc.detail}") from None
        return caller.context

    return context_for


class McpHttpEndpoint:
    """ASGI endpoint at ``/mcp``: refuses unauthenticated requests with a 401 before the SDK sees
    them, then hands over to the SDK's stateless streamable-HTTP transport. ``run()`` is entered
    by the gateway's lifespan."""

    def __init__(self, memory: Astrocyte, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        server = build_mcp(memory, http_context_for(authenticator), http=True)
        server.streamable_http_app()  # creates the session manager
        self.session_manager: StreamableHTTPSessionManager = server.session_manager
        self._app: ASGIApp = self.session_manager.handle_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        try:
            caller = await self._authenticator.authenticate(headers)
        except GatewayProblem as exc:
            from starlette.requests import Request

            from astrocyte_gateway.problems import problem_response

            response = problem_response(Request(scope), exc.status, exc.code, exc.detail, headers=exc.headers)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = caller.principal
        await self._app(scope, receive, send)


# --------------------------------------------------------------------------- stdio


def stdio_context(principal: str | None) -> AstrocyteContext:
    """The fixed identity of a stdio session (``--principal`` or ``$ASTROCYTE_MCP_PRINCIPAL``)."""
    chosen = principal or os.environ.get(MCP_PRINCIPAL_ENV)
    if not chosen:
        raise ConfigError(
            "MCP over stdio needs the identity of its user",
            hint=f"pass --principal user:<id> (or agent:<id>), or set {MCP_PRINCIPAL_ENV}",
        )
    kind, _, ident = chosen.partition(":")
    if kind not in ("user", "agent", "service") or not ident:
        raise ConfigError(
            f"principal {chosen!r} must look like 'user:<id>', 'agent:<id>' or 'service:<id>'",
            key_path="--principal",
        )
    return AstrocyteContext(actor=ActorIdentity.model_validate({"type": kind, "id": ident}))


async def _serve_stdio(config: str | None, principal: str | None) -> None:
    from astrocyte.config import load_config
    from astrocyte_gateway.app import standalone_config

    context = stdio_context(principal)

    async def context_for(ctx: McpContext) -> AstrocyteContext:
        return context

    async with Astrocyte.from_config(standalone_config(load_config(config))) as memory:
        await build_mcp(memory, context_for).run_stdio_async()


def run_stdio(config: str | None, principal: str | None) -> int:
    """``astrocyte mcp``: serve the memory tools on stdin/stdout until the client disconnects."""
    stdio_context(principal)  # fail fast, before the stores open
    asyncio.run(_serve_stdio(config, principal))
    return 0

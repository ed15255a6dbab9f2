"""``POST /v1/chat/completions``: the memory-augmented, OpenAI-compatible chat proxy.

HTTP around :class:`astrocyte.chat_proxy.ChatProxy`: the caller's identity comes from the gateway's
auth, the bank from ``X-Astrocyte-Bank`` (else the identity's own bank), the memory mode from
``X-Astrocyte-Memory``. Answers are the upstream's, unchanged (JSON, or an SSE stream passed through
as it arrives) plus ``X-Astrocyte-*`` headers. Upstream failures are problem+json: 502, or the
upstream's own 400/404/413/422/429 (with its ``Retry-After``).

The proxy is built when the app starts and drained when it stops (this router's lifespan). A
deployment whose upstream cannot be resolved still starts; the route then answers 503 naming the
missing ``chat_proxy.upstream`` setting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from astrocyte.chat_proxy import (
    BANK_HEADER,
    MEMORY_HEADER,
    ChatCompletionRequest,
    ChatProxy,
    ChatReply,
    ChatUpstreamError,
    parse_memory_mode,
)
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.identity import AstrocyteContext
from astrocyte_gateway.auth import caller_context
from astrocyte_gateway.chat_metrics import ChatProxyCollector
from astrocyte_gateway.problems import PROBLEM_RESPONSES, GatewayProblem, problem_response

__all__ = ["router"]

logger = logging.getLogger("astrocyte.gateway")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state.gateway
    try:
        proxy = ChatProxy(state.memory)
    except ConfigError as exc:
        app.state.chat_proxy = exc
        if state.memory.config.chat_proxy.enabled:
            logger.warning("chat proxy unavailable until its upstream is configured: %s", exc)
        yield
        return
    app.state.chat_proxy = proxy
    collector = ChatProxyCollector(proxy)
    state.metrics.registry.register(collector)
    try:
        yield
    finally:
        state.metrics.registry.unregister(collector)
        await proxy.aclose()


router = APIRouter(prefix="/v1", tags=["chat"], lifespan=_lifespan)
Context = Annotated[AstrocyteContext, Depends(caller_context)]


def _proxy(request: Request) -> ChatProxy:
    proxy: ChatProxy | ConfigError = request.app.state.chat_proxy
    if isinstance(proxy, ConfigError):
        raise GatewayProblem(
            503, "chat_proxy_not_configured", f"the chat proxy has no usable upstream: {proxy}"
        )
    return proxy


_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ChatCompletionRequest.model_json_schema()}},
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    200: {
        "description": "The upstream's answer, unchanged (a chat.completion, or an SSE stream when "
        "`stream` is true), with X-Astrocyte-Memory, X-Astrocyte-Memories and X-Astrocyte-Bank headers.",
        "content": {"application/json": {}, "text/event-stream": {}},
    },
    502: {**PROBLEM_RESPONSES[503], "description": "The upstream failed or could not be reached."},
    503: {**PROBLEM_RESPONSES[503], "description": "The chat proxy has no usable upstream configured."},
}


@router.post(
    "/chat/completions",
    summary="OpenAI-compatible chat completion with memory recalled, injected and retained",
    response_class=Response,
    responses=_RESPONSES,
    openapi_extra=_BODY_SCHEMA,
)
async def chat_completions(
    request: Request, context: Context, proxy: Annotated[ChatProxy, Depends(_proxy)]
) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise InvalidRequestError(f"the body is not JSON: {exc}", field="body") from exc
    mode = parse_memory_mode(request.headers.get(MEMORY_HEADER))
    bank = (request.headers.get(BANK_HEADER) or "").strip() or None
    try:
        result = await proxy.complete(body, context=context, bank_id=bank, memory_mode=mode)
    except ChatUpstreamError as exc:
        headers = {"Retry-After": exc.retry_after} if exc.retry_after and exc.http_status == 429 else {}
        return problem_response(request, exc.http_status, exc.code, str(exc), headers=headers)
    if isinstance(result, ChatReply):
        return Response(result.content, status_code=result.status, headers=result.headers)
    return StreamingResponse(
        result.chunks(),
        status_code=result.status,
        headers=result.headers,
        background=BackgroundTask(result.aclose),
    )

"""The memory-augmented chat proxy: recall → inject → forward → answer unchanged → retain later.

Framework-free: the gateway's ``POST /v1/chat/completions`` route turns HTTP into a call of
:meth:`ChatProxy.complete` and its :class:`ChatReply` / :class:`ChatStream` back into HTTP.

For each request, with memory on for the caller's bank:

1. the latest user turn is the recall query (the caller's identity and bank ACLs apply);
2. the hits go into one delimited system message within ``chat_proxy.memory.max_tokens``;
3. the request goes upstream with only that message added, and the answer comes back unchanged;
4. the exchange (latest user turn + answer) is queued for retain, after the answer is complete.

A failing memory store never fails the chat: recall errors other than access/validation ones are
logged and counted, and the request is forwarded without memories (``X-Astrocyte-Memory: degraded``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from astrocyte.chat_proxy.injection import MemoryBlock, inject_memory_block, memory_block
from astrocyte.chat_proxy.request import ParsedChatRequest, parse_chat_request
from astrocyte.chat_proxy.retainer import ExchangeRetainer
from astrocyte.chat_proxy.settings import ChatProxySettings
from astrocyte.chat_proxy.transcript import StreamTranscript, completion_text
from astrocyte.chat_proxy.upstream import ChatUpstream, ChatUpstreamError, UpstreamStream
from astrocyte.errors import AccessDeniedError, InvalidRequestError, NotFoundError, ProviderError, StoreError
from astrocyte.types import RetainRequest

if TYPE_CHECKING:  # the facade's config imports this package's settings
    from astrocyte._facade import Astrocyte
    from astrocyte.identity import AstrocyteContext

__all__ = [
    "BANK_HEADER",
    "MEMORIES_HEADER",
    "MEMORY_HEADER",
    "ChatProxy",
    "ChatProxyStats",
    "ChatReply",
    "ChatStream",
    "MemoryMode",
    "parse_memory_mode",
]

_LOG = logging.getLogger("astrocyte.chat_proxy")

#: Request header: ``on`` (default), ``off`` (no recall, no retain) or ``read-only`` (recall, no retain).
#: Response header: the mode applied, or ``degraded`` when recall failed and nothing was injected.
MEMORY_HEADER = "X-Astrocyte-Memory"
#: Request header naming the bank (else the bank the caller's identity resolves to); echoed back.
BANK_HEADER = "X-Astrocyte-Bank"
#: Response header: how many memories were injected.
MEMORIES_HEADER = "X-Astrocyte-Memories"

MemoryMode = Literal["on", "off", "read-only"]
_MODE_ALIASES: dict[str, MemoryMode] = {
    "on": "on",
    "true": "on",
    "1": "on",
    "off": "off",
    "false": "off",
    "0": "off",
    "read-only": "read-only",
    "readonly": "read-only",
}
# Recall wants the gist of the question, not a pasted document: bound the query so a huge user turn
# neither trips the query size limit nor slows every strategy down.
_MAX_QUERY_CHARS = 2000


def parse_memory_mode(value: str | None) -> MemoryMode:
    """The mode an ``X-Astrocyte-Memory`` header value asks for (absent/empty: ``on``)."""
    if value is None or not value.strip():
        return "on"
    mode = _MODE_ALIASES.get(value.strip().lower())
    if mode is None:
        raise InvalidRequestError(
            f"must be one of {', '.join(get_args(MemoryMode))}, got {value!r}", field=MEMORY_HEADER
        )
    return mode


@dataclass(slots=True)
class ChatProxyStats:
    """Counters since start (the retain queue keeps its own: ``ChatProxy.retainer.stats``)."""

    requests: int = 0
    injected: int = 0
    recall_failures: int = 0
    upstream_failures: int = 0


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A complete answer: the upstream's status, headers and bytes, plus the ``X-Astrocyte-*`` headers."""

    status: int
    headers: dict[str, str]
    content: bytes


class ChatStream:
    """An SSE answer: iterate :meth:`chunks` once (the upstream's bytes, unchanged), then ``aclose()``.

    If the upstream breaks off mid-stream, a final OpenAI-style ``data: {"error": ...}`` event says so
    (the status line is already sent). The exchange is retained only when the stream completed.
    """

    def __init__(
        self, upstream: UpstreamStream, headers: dict[str, str], on_complete: Callable[[str], None]
    ) -> None:
        self._upstream = upstream
        self.status = upstream.status
        self.headers = {**upstream.headers, **headers}
        self._on_complete = on_complete

    async def chunks(self) -> AsyncIterator[bytes]:
        transcript = StreamTranscript()
        try:
            async for chunk in self._upstream.chunks():
                transcript.feed(chunk)
                yield chunk
        except ChatUpstreamError as exc:
            _LOG.warning("upstream chat stream broke off: %s", exc)
            error = {"error": {"message": str(exc), "type": "upstream_error", "code": exc.code}}
            yield f"data: {json.dumps(error)}\n\n".encode()
            return
        finally:  # also when the client goes away mid-stream and the generator is closed
            await self._upstream.aclose()
        self._on_complete(transcript.text)

    async def aclose(self) -> None:
        await self._upstream.aclose()


@dataclass(slots=True)
class _MemoryPlan:
    """What memory does for one request."""

    mode: MemoryMode | Literal["degraded"]
    bank_id: str | None = None
    block: MemoryBlock | None = None
    retain: bool = False
    query: str = ""
    context: AstrocyteContext | None = None

    def response_headers(self) -> dict[str, str]:
        headers = {MEMORY_HEADER: self.mode, MEMORIES_HEADER: str(self.block.count if self.block else 0)}
        if self.bank_id is not None:
            headers[BANK_HEADER] = self.bank_id
        return headers


class ChatProxy:
    """Memory around an OpenAI-compatible upstream. ``await aclose()`` drains the retain queue."""

    def __init__(
        self,
        memory: Astrocyte,
        *,
        settings: ChatProxySettings | None = None,
        upstream: ChatUpstream | None = None,
    ) -> None:
        self._memory = memory
        self.settings = settings or memory.config.chat_proxy
        self._upstream = upstream or ChatUpstream.from_config(memory.config)
        self.retainer = ExchangeRetainer(self._retain_exchange, self.settings.retain)
        self.stats = ChatProxyStats()

    async def aclose(self) -> None:
        """Retain what is queued (up to ``chat_proxy.retain.drain_timeout``), then close the upstream."""
        try:
            await self.retainer.aclose()
        finally:
            await self._upstream.aclose()

    async def complete(
        self,
        body: object,
        *,
        context: AstrocyteContext | None = None,
        bank_id: str | None = None,
        memory_mode: MemoryMode = "on",
    ) -> ChatReply | ChatStream:
        """Proxy one decoded ``/chat/completions`` body; a stream when it asks for ``"stream": true``.

        Raises :class:`InvalidRequestError` for a malformed body, :class:`AccessDeniedError` when the
        caller may not read the bank, :class:`ChatUpstreamError` when the upstream fails.
        """
        if not self.settings.enabled:
            raise NotFoundError("the chat proxy is disabled (chat_proxy.enabled: false)")
        self.stats.requests += 1
        parsed = parse_chat_request(body, default_model=self.settings.upstream.default_model)
        plan = await self._plan(parsed, context, bank_id, memory_mode)
        forwarded = dict(parsed.body)
        if plan.block is not None:
            self.stats.injected += 1
            forwarded["messages"] = inject_memory_block(parsed.messages(), plan.block)
        model = parsed.request.model or ""
        try:
            if parsed.request.stream:
                stream = await self._upstream.open_stream(forwarded)
                return ChatStream(
                    stream, plan.response_headers(), lambda answer: self._queue_retain(plan, model, answer)
                )
            reply = await self._upstream.complete(forwarded)
        except ChatUpstreamError:
            self.stats.upstream_failures += 1
            raise
        self._queue_retain(plan, model, completion_text(reply.content))
        return ChatReply(reply.status, {**reply.headers, **plan.response_headers()}, reply.content)

    async def _plan(
        self,
        parsed: ParsedChatRequest,
        context: AstrocyteContext | None,
        bank_id: str | None,
        mode: MemoryMode,
    ) -> _MemoryPlan:
        if mode == "off":
            return _MemoryPlan("off")
        bank = bank_id or self._bank_of(context)
        switches = self.settings.bank_switches(bank)
        if not switches.enabled:
            return _MemoryPlan("off", bank)
        query = parsed.request.latest_user_text()
        retain = mode == "on" and switches.retain and bool(query) and self._may_write(context, bank)
        plan = _MemoryPlan("on" if retain else "read-only", bank, None, retain, query, context)
        if not query:
            return plan
        try:
            result = await self._memory.recall(
                query[:_MAX_QUERY_CHARS],
                bank_id=bank,
                context=context,
                max_results=self.settings.memory.max_results,
            )
        except (StoreError, ProviderError) as exc:
            self.stats.recall_failures += 1
            _LOG.warning("chat proxy recall failed for bank %r; forwarding without memories: %s", bank, exc)
            plan.mode = "degraded"
            return plan
        plan.block = memory_block([hit.text for hit in result.hits], self.settings.memory.max_tokens)
        return plan

    def _bank_of(self, context: AstrocyteContext | None) -> str:
        if context is None:
            raise InvalidRequestError(
                "no bank: send the header or call with an identity that resolves to a bank", field=BANK_HEADER
            )
        return self._memory.access.resolve_bank(context)

    def _may_write(self, context: AstrocyteContext | None, bank: str) -> bool:
        try:
            self._memory.access.check(context, bank, "write")
        except AccessDeniedError:
            return False
        return True

    def _queue_retain(self, plan: _MemoryPlan, model: str, answer: str) -> None:
        if not plan.retain or plan.bank_id is None or not answer.strip():
            return
        request = RetainRequest(
            content=f"user: {plan.query}\nassistant: {answer.strip()}",
            bank_id=plan.bank_id,
            content_type="conversation",
            source="chat_proxy",
            metadata={"model": model} if model else {},
            idempotency_key=uuid.uuid4().hex,
        )
        self.retainer.submit(request, plan.context)

    async def _retain_exchange(self, request: RetainRequest, context: AstrocyteContext | None) -> object:
        return await self._memory.retain(request, context=context)

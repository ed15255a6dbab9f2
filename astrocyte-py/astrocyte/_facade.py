"""``Astrocyte``: the one object agents use — retain, recall, reflect, forget."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ValidationError

from astrocyte._discovery import create_provider
from astrocyte._gate import Gate
from astrocyte.access import AccessPolicy
from astrocyte.config import AstrocyteConfig, load_config
from astrocyte.errors import InvalidRequestError
from astrocyte.identity import AstrocyteContext
from astrocyte.mip.router import IntentDeniedError, MipRouter
from astrocyte.pipeline.forget import forget as _forget
from astrocyte.pipeline.recall import RecallPipeline
from astrocyte.pipeline.reflect import build_context, extractive_answer, llm_answer
from astrocyte.pipeline.retain import RetainPipeline, stored_duplicates_unprobed
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.policy.audit import AuditSink
from astrocyte.policy.breaker import guard_stores
from astrocyte.recall.authority import RecallAuthority
from astrocyte.recall.pipelines import RecallPipelines
from astrocyte.recall.proxy import ProxyRecall
from astrocyte.recall.tiered import TieredRecall
from astrocyte.transports import load_outbound_transport, with_transport
from astrocyte.types import (
    ForgetRequest,
    ForgetResult,
    RecallRequest,
    RecallResult,
    ReflectRequest,
    ReflectResult,
    RetainCopy,
    RetainRequest,
    RetainResult,
)

__all__ = ["Astrocyte", "SyncAstrocyte"]

_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")


def _coerce(
    model: type[_Model], request: _Model | Mapping[str, object] | None, fields: dict[str, object]
) -> _Model:
    """Accept a DTO, a dict, or keyword fields; turn validation failures into InvalidRequestError."""
    if isinstance(request, model):
        return request
    data: dict[str, object] = dict(request or {})
    data.update({k: v for k, v in fields.items() if v is not None})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidRequestError(first["msg"], field=location) from exc


class Astrocyte:
    """Memory for an agent over the stores chosen in ``astrocyte.yaml``.

    >>> async with Astrocyte.from_config() as memory:                    # doctest: +SKIP
    ...     await memory.retain("Alice moved to Lisbon in May 2023.", bank_id="alice")
    ...     result = await memory.recall("Where does Alice live?", bank_id="alice")
    """

    def __init__(
        self, config: AstrocyteConfig, stores: MemoryStores, *, audit_sink: AuditSink | None = None
    ) -> None:
        self.config = config
        self.stores = stores = guard_stores(stores, config.policy.circuit_breaker)
        self._retain = RetainPipeline(stores, config.retain, config.pii, config.extraction_profiles)
        self._proxies = ProxyRecall(
            config.sources,
            limit=config.recall.candidate_pool,
            transport=load_outbound_transport(config.outbound_transport),
        )
        self._recall = RecallPipeline(stores, config.recall, config.homeostasis, self._proxies)
        self._gate = Gate(config, stores, audit_sink)
        # Issue 8 knobs, each off unless enabled: recall_authority, mip, tiered_retrieval.
        self._authority = RecallAuthority(config.recall_authority)
        self._mip = MipRouter.from_config(config.mip)
        self._pipelines = RecallPipelines(stores, config.recall, config.homeostasis, self._proxies)
        self._tiered = (
            TieredRecall(stores, self._pipelines, self._proxies, config.tiered_retrieval, config.recall)
            if config.tiered_retrieval.enabled
            else None
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any] | AstrocyteConfig | None = None,
        *,
        audit_sink: AuditSink | None = None,
    ) -> Astrocyte:
        """Build from a YAML/JSON file, a dict, a loaded :class:`AstrocyteConfig`, or (``None``)
        ``./astrocyte.yaml`` or the embedded default.
        Audit events go to ``audit_sink`` (default: JSON lines on the ``astrocyte.audit`` logger)."""
        config = source if isinstance(source, AstrocyteConfig) else load_config(source)
        return cls(config, _build_stores(config), audit_sink=audit_sink)

    @property
    def access(self) -> AccessPolicy:
        """The grants in force: ``memory.access.effective_permissions(context, bank_id)``."""
        return self._gate.access

    async def close(self) -> None:
        try:
            await self._gate.close()
            await self._proxies.aclose()
        finally:
            await self.stores.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ the four verbs

    async def retain(
        self,
        content: str | RetainRequest | Mapping[str, Any],
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        **fields: Any,
    ) -> RetainResult:
        """Remember ``content`` in ``bank_id``. Extra fields: content_type, metadata, tags,
        occurred_at, source, extraction_profile, idempotency_key (see :class:`RetainRequest`).
        Without ``bank_id`` the bank is resolved from ``context``."""
        bank_id = self._gate.bank_for(bank_id, content, context)
        if isinstance(content, str):
            request = _coerce(RetainRequest, None, {"content": content, "bank_id": bank_id, **fields})
        else:
            request = _coerce(RetainRequest, content, {"bank_id": bank_id, **fields})
        return (await self._retain_routed([request], context))[0]

    async def retain_many(
        self,
        requests: Sequence[RetainRequest | Mapping[str, Any]],
        *,
        context: AstrocyteContext | None = None,
    ) -> list[RetainResult]:
        """Retain a batch: one embedding call, one write per store and bank; all-or-nothing."""
        batch = [
            _coerce(RetainRequest, r, {"bank_id": self._gate.bank_for(None, r, context)}) for r in requests
        ]
        return await self._retain_routed(batch, context)

    @contextlib.asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Import mode for many retains (``astrocyte import --bulk``): stores that can defer index upkeep
        do (Postgres drops the HNSW index of each dimension written and builds it once, in bulk, on
        exit), and retains inside skip the near-duplicate probe of stored memories (it would scan the
        unindexed bank); exact repeats within a batch are still dropped. Searches stay correct but may
        be slow until the block exits: run imports in a maintenance window."""
        async with self.stores.bulk_load():
            with stored_duplicates_unprobed():
                yield

    async def recall(
        self,
        query: str | RecallRequest | Mapping[str, Any],
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> RecallResult:
        """The memories most relevant to ``query``. ``now`` anchors relative times ("last May")."""
        request = self._recall_request(query, bank_id, fields)
        banks, weights, rules = self._route_recall("recall", request, self._banks(request, context), context)
        await self._gate.read("recall", context, banks, request.query)
        result = await self._recall_hits(request, banks, now, weights, rules)
        if self._authority.enabled:
            result.authority_context = self._authority.context(result.hits)
        return result

    async def reflect(
        self,
        query: str | ReflectRequest | Mapping[str, Any],
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> ReflectResult:
        """Answer ``query`` from memory (LLM synthesis when configured, else extractive), citing memories."""
        if isinstance(query, str):
            request = _coerce(ReflectRequest, None, {"query": query, "bank_id": bank_id, **fields})
        else:
            request = _coerce(ReflectRequest, query, {"bank_id": bank_id, **fields})
        recall_request = RecallRequest(
            query=request.query,
            bank_id=request.bank_id,
            bank_ids=request.bank_ids,
            max_results=request.max_results,
            tags=request.tags,
            time_range=request.time_range,
        )
        banks, weights, rules = self._route_recall(
            "reflect", recall_request, self._banks(recall_request, context), context
        )
        await self._gate.read("reflect", context, banks, request.query)
        recalled = await self._recall_hits(recall_request, banks, now, weights, rules)
        limit = self.config.homeostasis.max_reflect_context_tokens
        context_hits = build_context(recalled.hits, min(request.max_tokens or limit, limit))
        authority = self._authority.applies_to_reflect
        if self.stores.llm is not None:
            block = self._authority.context(context_hits).text if authority else None
            return await llm_answer(request.query, context_hits, self.stores.llm, authority=block)
        if authority:
            return self._authority.extractive_answer(request.query, context_hits)
        return extractive_answer(request.query, context_hits)

    async def forget(
        self,
        request: ForgetRequest | Mapping[str, Any] | None = None,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        memory_ids: Sequence[str] | None = None,
        **fields: Any,
    ) -> ForgetResult:
        """Forget by ``memory_ids``, ``tags``, ``time_range`` or ``all=True`` (whole bank), in every store."""
        ids = list(memory_ids) if memory_ids is not None else None
        bank_id = self._gate.bank_for(bank_id, request, context)
        forget_request = _coerce(ForgetRequest, request, {"bank_id": bank_id, "memory_ids": ids, **fields})
        try:
            return await self._gate.forget(context, forget_request, lambda r: _forget(self.stores, r))
        finally:
            self._invalidate([forget_request.bank_id])

    async def banks(self, *, context: AstrocyteContext | None = None) -> list[str]:
        """Banks that hold at least one memory (with a ``context``: only those it may read)."""
        return self._gate.readable(context, await self.stores.vector.list_banks())

    # ------------------------------------------------------------------ issue 8 hooks

    async def _retain_routed(
        self, batch: list[RetainRequest], context: AstrocyteContext | None
    ) -> list[RetainResult]:
        """Retain with mip fan-out and authority tiers; one result per request of ``batch`` (copies
        written to further banks are in its ``fanout``)."""
        try:
            routed = [
                [self._authority.stamp(r) for r in self._mip.route_retain(req, context)] for req in batch
            ]
        except IntentDeniedError as exc:
            self._gate.refused("retain", context, exc.bank_id, exc)
            raise
        flat = [copy for copies in routed for copy in copies]
        try:
            results = iter(await self._gate.retain(context, flat, self._retain.retain_many))
        finally:
            self._invalidate([r.bank_id for r in flat])
        grouped = [[next(results) for _ in copies] for copies in routed]
        return [
            first.model_copy(
                update={"fanout": [RetainCopy.model_validate(r.model_dump(exclude={"fanout"})) for r in rest]}
            )
            for first, *rest in grouped
        ]

    def _route_recall(
        self, action: str, request: RecallRequest, banks: list[str], context: AstrocyteContext | None
    ) -> tuple[list[str], dict[str, float] | None, list[str]]:
        """(banks, strategy weights, deciding mip rules) for a recall or reflect."""
        if not self._mip.enabled:
            return banks, None, []
        try:
            route = self._mip.route_recall(request.query, banks, request.tags, context)
        except IntentDeniedError as exc:
            self._gate.refused(action, context, exc.bank_id, exc)
            raise
        return route.banks, route.strategies, route.rules

    async def _recall_hits(
        self,
        request: RecallRequest,
        banks: list[str],
        now: datetime | None,
        weights: dict[str, float] | None,
        rules: list[str],
    ) -> RecallResult:
        if self._tiered is not None:
            result = await self._tiered.recall(request, banks, now=now, weights=weights)
        else:
            pipeline = self._recall if weights is None else self._pipelines.get(weights)
            result = await pipeline.recall(request, banks, now=now)
        if rules:
            result.trace.notes.append(f"mip: routed by {', '.join(rules)} to banks {banks}")
        return result

    def _invalidate(self, banks: list[str]) -> None:
        if self._tiered is not None:
            for bank in dict.fromkeys(banks):
                self._tiered.cache.invalidate(bank)

    def _recall_request(
        self, query: str | RecallRequest | Mapping[str, Any], bank_id: str | None, fields: dict[str, Any]
    ) -> RecallRequest:
        if isinstance(query, str):
            return _coerce(RecallRequest, None, {"query": query, "bank_id": bank_id, **fields})
        return _coerce(RecallRequest, query, {"bank_id": bank_id, **fields})

    def _banks(self, request: RecallRequest, context: AstrocyteContext | None) -> list[str]:
        """The request's banks, else the context's resolved bank."""
        banks = request.banks()
        if banks:
            return banks
        if context is None:
            raise InvalidRequestError("give bank_id or bank_ids", field="bank_id")
        return [self._gate.access.resolve_bank(context)]


def _build_stores(config: AstrocyteConfig) -> MemoryStores:
    transport = load_outbound_transport(config.outbound_transport)

    def make(kind: str, name: str | None, settings: Mapping[str, Any]) -> Any:
        return (
            None
            if name is None
            else create_provider(kind, name, with_transport(kind, name, settings, transport))
        )

    return MemoryStores(
        vector=make("vector_store", config.vector_store, config.vector_store_config),
        embedder=make("embedding_provider", config.embedding_provider, config.embedding_provider_config),
        document=make("document_store", config.document_store, config.document_store_config),
        graph=make("graph_store", config.graph_store, config.graph_store_config),
        llm=make("llm_provider", config.llm_provider, config.llm_provider_config),
    )


class SyncAstrocyte:
    """Blocking twin of :class:`Astrocyte` for scripts and notebooks (runs its own event loop).

    >>> with SyncAstrocyte.from_config({"profile": "minimal"}) as memory:   # doctest: +SKIP
    ...     memory.retain("Bob likes green tea.", bank_id="bob")
    """

    def __init__(self, memory: Astrocyte) -> None:
        self._memory = memory
        self._runner = asyncio.Runner()
        self._lock = threading.Lock()  # the loop runs one call at a time; callers may be threads

    @classmethod
    def from_config(cls, source: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> SyncAstrocyte:
        return cls(Astrocyte.from_config(source))

    @property
    def config(self) -> AstrocyteConfig:
        return self._memory.config

    @property
    def memory(self) -> Astrocyte:
        """The async facade this twin drives (integrations reach both through it)."""
        return self._memory

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` (built from :attr:`memory`) to completion on this twin's event loop."""
        with self._lock:
            return self._runner.run(coro)

    def retain(self, content: str | RetainRequest | Mapping[str, Any], **kwargs: Any) -> RetainResult:
        return self.run(self._memory.retain(content, **kwargs))

    def retain_many(
        self, requests: Sequence[RetainRequest | Mapping[str, Any]], **kwargs: Any
    ) -> list[RetainResult]:
        return self.run(self._memory.retain_many(requests, **kwargs))

    def recall(self, query: str | RecallRequest | Mapping[str, Any], **kwargs: Any) -> RecallResult:
        return self.run(self._memory.recall(query, **kwargs))

    def reflect(self, query: str | ReflectRequest | Mapping[str, Any], **kwargs: Any) -> ReflectResult:
        return self.run(self._memory.reflect(query, **kwargs))

    def forget(self, request: ForgetRequest | Mapping[str, Any] | None = None, **kwargs: Any) -> ForgetResult:
        return self.run(self._memory.forget(request, **kwargs))

    def banks(self, **kwargs: Any) -> list[str]:
        return self.run(self._memory.banks(**kwargs))

    def close(self) -> None:
        try:
            self.run(self._memory.close())
        finally:
            self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""The policy gate every facade call passes before (and after) the pipeline runs.

Order per call: input validation → bank resolution and access control → rate limits → quotas
(retain) → the pipeline → audit. A refusal at any step raises a typed error and is audited;
nothing is written. Retain and forget are audited on success too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from astrocyte.access import AccessPolicy
from astrocyte.config import AstrocyteConfig
from astrocyte.errors import AstrocyteError, RateLimitedError, StoreError
from astrocyte.identity import AstrocyteContext, Permission
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.policy.audit import Auditor, AuditSink, LoggingAuditSink
from astrocyte.policy.quotas import QuotaTracker
from astrocyte.policy.ratelimit import BucketRequest, InProcessRateLimiter, RateLimiter
from astrocyte.policy.redis_ratelimit import RedisRateLimiter
from astrocyte.policy.settings import RateLimitSettings
from astrocyte.policy.validation import InputValidator
from astrocyte.types import ForgetRequest, ForgetResult, RetainRequest, RetainResult

__all__ = ["Gate"]

_ANONYMOUS = "anonymous"
logger = logging.getLogger("astrocyte.policy")


def _build_limiter(settings: RateLimitSettings) -> RateLimiter | None:
    if not settings.enabled:
        return None
    if settings.backend == "redis":
        return RedisRateLimiter(settings.redis_url, settings.key_prefix)
    return InProcessRateLimiter(settings.max_tracked_keys)


class Gate:
    def __init__(
        self, config: AstrocyteConfig, stores: MemoryStores, audit_sink: AuditSink | None = None
    ) -> None:
        policy = config.policy
        self.access = AccessPolicy(
            agents=config.agents, banks=config.banks, identity=config.identity, deployment=config.deployment
        )
        self._validator = InputValidator(policy.validation)
        self._rates = policy.rate_limits
        self._limiter = _build_limiter(policy.rate_limits)
        self._quotas = QuotaTracker(policy.quotas, stores.vector)
        self._audit = Auditor(audit_sink or LoggingAuditSink(policy.audit.logger), policy.audit.enabled)

    async def close(self) -> None:
        if self._limiter is not None:
            await self._limiter.close()

    # ------------------------------------------------------------------ bank resolution

    def bank_for(self, explicit: str | None, request: object, context: AstrocyteContext | None) -> str | None:
        """The bank to fill into a request: ``explicit``, else (when the request names none and a
        context is given) the context's resolved bank."""
        if explicit is not None or context is None:
            return explicit
        if isinstance(request, Mapping) and (request.get("bank_id") or request.get("bank_ids")):
            return None
        if request is not None and not isinstance(request, str | Mapping):
            return None  # a DTO carries its own bank
        return self.access.resolve_bank(context)

    # ------------------------------------------------------------------ the verbs

    async def retain(
        self,
        context: AstrocyteContext | None,
        requests: list[RetainRequest],
        run: Callable[[list[RetainRequest]], Awaitable[list[RetainResult]]],
    ) -> list[RetainResult]:
        banks = list(dict.fromkeys(r.bank_id for r in requests))
        await self._admit("retain", context, banks, "write", lambda: self._validator.retain(requests))
        wanted: dict[str, tuple[int, int]] = {}
        for request in requests:
            memories, size = wanted.get(request.bank_id, (0, 0))
            wanted[request.bank_id] = (memories + 1, size + len(request.content.encode("utf-8")))
        try:
            async with self._quotas.reserve(wanted) as usage:
                results = await run(requests)
                for request, result in zip(requests, results, strict=True):
                    if result.memory_ids and not result.idempotent_replay and request.bank_id in usage:
                        usage[request.bank_id].memories += len(result.memory_ids)
                        usage[request.bank_id].bytes += len(request.content.encode("utf-8"))
        except AstrocyteError as exc:
            for bank in banks:
                self._audit.record("retain", context, bank, error=exc)
            raise
        for bank in banks:
            written = [
                i for r in results if r.bank_id == bank and not r.idempotent_replay for i in r.memory_ids
            ]
            self._audit.record("retain", context, bank, memory_count=len(written), memory_ids=written)
        return results

    async def read(self, action: str, context: AstrocyteContext | None, banks: list[str], query: str) -> None:
        """Admit a recall or reflect over ``banks``."""
        await self._admit(action, context, banks, "read", lambda: self._validator.query(query, banks))

    async def forget(
        self,
        context: AstrocyteContext | None,
        request: ForgetRequest,
        run: Callable[[ForgetRequest], Awaitable[ForgetResult]],
    ) -> ForgetResult:
        bank = request.bank_id
        await self._admit(
            "forget", context, [bank], "forget", lambda: self._validator.bank(bank), request.memory_ids
        )
        try:
            result = await run(request)
        except AstrocyteError as exc:
            self._audit.record("forget", context, bank, error=exc, memory_ids=request.memory_ids)
            raise
        finally:
            self._quotas.forget(bank)  # recount on the next retain, whatever was deleted
        self._audit.record(
            "forget", context, bank, memory_count=result.deleted_count, memory_ids=result.memory_ids
        )
        return result

    def refused(
        self, action: str, context: AstrocyteContext | None, bank_id: str | None, error: AstrocyteError
    ) -> None:
        """Audit a refusal decided before the gate (a mip deny rule)."""
        self._audit.record(action, context, bank_id, error=error)

    def readable(self, context: AstrocyteContext | None, banks: list[str]) -> list[str]:
        try:
            return self.access.readable(context, banks)
        except AstrocyteError as exc:
            self._audit.record("banks", context, None, error=exc)
            raise

    # ------------------------------------------------------------------ admission

    async def _admit(
        self,
        action: str,
        context: AstrocyteContext | None,
        banks: list[str],
        permission: Permission,
        validate: Callable[[], None],
        memory_ids: list[str] | None = None,
    ) -> None:
        bank: str | None = banks[0] if len(banks) == 1 else None
        try:
            validate()
            for bank in banks:
                self.access.check(context, bank, permission)
            await self._limit(context, banks)
        except AstrocyteError as exc:
            bank = getattr(exc, "bank_id", None) or bank
            self._audit.record(action, context, bank, error=exc, memory_ids=memory_ids)
            raise

    async def _limit(self, context: AstrocyteContext | None, banks: list[str]) -> None:
        if self._limiter is None:
            return
        buckets: list[BucketRequest] = []
        if self._rates.per_principal is not None:
            spec = self._rates.per_principal
            principal = (context.principal if context else None) or _ANONYMOUS
            buckets.append(BucketRequest("principal", principal, spec.rate, spec.burst))
        if self._rates.per_bank is not None:
            spec = self._rates.per_bank
            buckets.extend(BucketRequest("bank", bank, spec.rate, spec.burst) for bank in banks)
        try:
            decision = await self._limiter.acquire(buckets)
        except StoreError:
            if self._rates.on_backend_error == "deny":
                raise
            logger.warning("rate-limit store failed; call allowed (policy.rate_limits.on_backend_error)")
            return
        if not decision.allowed:
            assert decision.denied is not None
            raise RateLimitedError(
                scope=decision.denied.scope, key=decision.denied.key, retry_after=decision.retry_after
            )

"""Structured audit events: who did what to which bank, and how it ended — never memory content.

Events are JSON objects (one per line) written to a sink; the default sink logs them on the
``astrocyte.audit`` logger at INFO, so any logging handler (file, syslog, a SIEM shipper) collects
them. Retain and forget are audited on success and failure; every denial (access, rate limit,
quota, PII rejection, size limit) is audited for every operation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from astrocyte.errors import AstrocyteError
from astrocyte.identity import AstrocyteContext

__all__ = ["AuditEvent", "AuditSink", "Auditor", "LoggingAuditSink"]


class AuditEvent(BaseModel):
    """One audited operation. ``result`` is ``ok`` or the stable error code (``access_denied``...)."""

    model_config = ConfigDict(extra="forbid")

    timestamp: datetime
    action: str
    result: str
    principal: str | None = None
    on_behalf_of: str | None = None
    bank_id: str | None = None
    memory_count: int | None = Field(default=None, description="Memories written or deleted.")
    memory_ids: list[str] | None = Field(
        default=None, description="Memories written or deleted (or named by a refused forget)."
    )
    permission: str | None = Field(default=None, description="The missing permission of a denial.")


class AuditSink(Protocol):
    def emit(self, event: AuditEvent) -> None: ...


class LoggingAuditSink:
    """Each event as one JSON line on a logger (``astrocyte.audit`` by default)."""

    def __init__(self, logger: str = "astrocyte.audit") -> None:
        self._logger = logging.getLogger(logger)

    def emit(self, event: AuditEvent) -> None:
        if self._logger.isEnabledFor(logging.INFO):  # serialise only when someone listens
            self._logger.info(event.model_dump_json(exclude_none=True))


class Auditor:
    """Builds events from a context and an outcome and hands them to the sink."""

    def __init__(self, sink: AuditSink | None, enabled: bool = True) -> None:
        self._sink = sink if enabled else None

    def record(
        self,
        action: str,
        context: AstrocyteContext | None,
        bank_id: str | None,
        *,
        error: AstrocyteError | None = None,
        memory_count: int | None = None,
        memory_ids: list[str] | None = None,
    ) -> None:
        if self._sink is None:
            return
        self._sink.emit(
            AuditEvent(
                timestamp=datetime.now(UTC),
                action=action,
                result="ok" if error is None else error.code,
                principal=context.principal if context else None,
                on_behalf_of=context.on_behalf_of.principal if context and context.on_behalf_of else None,
                bank_id=bank_id,
                memory_count=memory_count,
                memory_ids=memory_ids,
                permission=getattr(error, "permission", None),
            )
        )

"""The recent audit events of a gateway, kept so the console can show a memory's audit trail.

The core writes audit events as JSON lines to a logger (``policy.audit.logger``); the trail listens
on that logger — no change to how the gateway builds its ``Astrocyte`` — and keeps the newest
``capacity`` events in memory. It starts empty with every gateway process: it is a window on recent
activity, the log itself stays the record.
"""

from __future__ import annotations

import logging
from collections import deque

from pydantic import ValidationError

from astrocyte.policy.audit import AuditEvent

__all__ = ["AuditTrail"]


class _TrailHandler(logging.Handler):
    def __init__(self, trail: AuditTrail) -> None:
        super().__init__(level=logging.INFO)
        self._trail = trail

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = AuditEvent.model_validate_json(record.getMessage())
        except ValidationError:
            return  # not an audit event (someone else logging on the same logger)
        self._trail.add(event)


class AuditTrail:
    """Newest audit events first-in-first-out; ``attach()`` starts listening, ``detach()`` stops."""

    def __init__(self, logger: str = "astrocyte.audit", capacity: int = 20_000) -> None:
        self._logger = logging.getLogger(logger)
        self._events: deque[AuditEvent] = deque(maxlen=capacity)
        self._handler = _TrailHandler(self)
        self._previous_level: int | None = None

    def attach(self) -> None:
        if self._handler in self._logger.handlers:
            return
        if not self._logger.isEnabledFor(logging.INFO):
            # The audit sink only serialises events when INFO is enabled on its logger.
            self._previous_level = self._logger.level
            self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._handler)

    def detach(self) -> None:
        self._logger.removeHandler(self._handler)
        if self._previous_level is not None:
            self._logger.setLevel(self._previous_level)
            self._previous_level = None

    def add(self, event: AuditEvent) -> None:
        self._events.append(event)

    def of_memory(self, bank_id: str, memory_id: str) -> list[AuditEvent]:
        """Events that name ``memory_id`` of ``bank_id``, oldest first."""
        return [e for e in self._events if e.bank_id == bank_id and memory_id in (e.memory_ids or ())]

"""Ingest page data: every configured source with status, lag, error counts and dead-letter size."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from astrocyte import Astrocyte, AstrocyteContext
from astrocyte.ingest.settings import SourceConfig
from astrocyte.types import HealthStatus
from astrocyte_gateway.console._scope import permissions_on
from astrocyte_gateway.console.models import SourcesOverview, SourceStatus

__all__ = ["sources_overview"]

_PASSIVE = {"webhook": "receives pushed deliveries", "proxy": "queried at recall time"}


def _int(details: dict[str, object], key: str) -> int | None:
    value = details.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(details: dict[str, object], key: str) -> datetime | None:
    value = details.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _status(source_id: str, settings: SourceConfig, health: HealthStatus | None) -> SourceStatus:
    base = {
        "source_id": source_id,
        "type": settings.type,
        "driver": settings.driver,
        "bank": settings.target_bank,
    }
    if health is None:
        passive = _PASSIVE.get(settings.type)
        message = passive or "not running in this gateway (no ingest supervisor)"
        return SourceStatus.model_validate(
            {**base, "healthy": passive is not None, "running": None, "message": message}
        )
    details: dict[str, object] = dict(health.details)
    last_error = details.get("last_error")
    running = details.get("running")
    return SourceStatus.model_validate(
        {
            **base,
            "healthy": health.healthy,
            "running": running if isinstance(running, bool) else None,
            "message": health.message,
            "lag": _int(details, "lag"),
            "retained": _int(details, "retained"),
            "retried": _int(details, "retried"),
            "consecutive_failures": _int(details, "consecutive_failures"),
            "dead_lettered": _int(details, "dead_lettered"),
            "dead_letter_size": _int(details, "dead_letter_size"),
            "last_error": last_error if isinstance(last_error, str) else None,
            "last_success_at": _when(details, "last_success_at"),
        }
    )


def sources_overview(
    memory: Astrocyte,
    context: AstrocyteContext | None,
    health: Mapping[str, HealthStatus],
    *,
    admin: bool,
) -> SourcesOverview:
    """Admins see every source; others only sources that write into a fixed bank they may read.
    ``health`` holds what the running sources (and the webhook counters) report, by source id."""
    statuses = []
    for source_id, settings in memory.config.sources.items():
        bank = settings.target_bank
        if not admin and (bank is None or "read" not in permissions_on(memory, context, bank)):
            continue
        statuses.append(_status(source_id, settings, health.get(source_id)))
    return SourcesOverview(sources=statuses)

"""``SourceRegistry``: the ingest sources of one Astrocyte, built from ``sources:`` and changed at run time.

Stream and poll entries are built through their ``driver`` entry point (group
``astrocyte.ingest_sources``) with an :class:`IngestHandler` and the entry's ``config`` as keyword
arguments. Webhook and proxy entries need no running object: webhooks are served by
:func:`~astrocyte.ingest.handle_webhook_ingest`, proxies by recall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from astrocyte._discovery import check_constructor_config, check_provider_instance, load_provider_class
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.ingest.errors import UnknownSourceError
from astrocyte.ingest.handler import IngestHandler
from astrocyte.ingest.settings import SourceConfig
from astrocyte.provider import IngestSource
from astrocyte.types import HealthStatus

if TYPE_CHECKING:
    from astrocyte._facade import Astrocyte

__all__ = ["SourceRegistry", "build_source"]

#: Source types the registry runs (webhooks are pushed to us, proxies are queried by recall).
RUNNABLE_TYPES = frozenset({"stream", "poll"})


def _rekeyed(exc: ConfigError, key_path: str) -> ConfigError:
    message = str(exc)
    if exc.key_path and message.startswith(f"{exc.key_path}: "):
        message = message[len(exc.key_path) + 2 :]
    return type(exc)(message.split(" — ")[0], key_path=key_path, hint=exc.hint)


def build_source(memory: Astrocyte, source_id: str, settings: SourceConfig) -> IngestSource:
    """Construct the driver of a stream/poll entry; problems name ``sources.<id>.driver|config``."""
    if settings.type not in RUNNABLE_TYPES or settings.driver is None:
        raise ConfigError(
            f"a {settings.type} source has no driver to run", key_path=f"sources.{source_id}.type"
        )
    try:
        cls = load_provider_class("ingest_source", settings.driver)
    except ConfigError as exc:
        raise _rekeyed(exc, f"sources.{source_id}.driver") from exc
    handler = IngestHandler(memory, source_id, settings)
    options: dict[str, object] = {"handler": handler, **settings.config}
    try:
        check_constructor_config(cls, "ingest_source", settings.driver, options)
        instance = cls(**options)
    except ConfigError as exc:
        raise _rekeyed(exc, f"sources.{source_id}.config") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"driver {settings.driver!r} rejected its configuration: {exc}",
            key_path=f"sources.{source_id}.config",
        ) from exc
    check_provider_instance(instance, "ingest_source", name=settings.driver)
    assert isinstance(instance, IngestSource)
    return instance


class SourceRegistry:
    """Sources by id. Health combines each source's own check with its handler's error counters."""

    def __init__(self) -> None:
        self._sources: dict[str, IngestSource] = {}

    @classmethod
    def from_config(cls, memory: Astrocyte) -> SourceRegistry:
        """Every stream/poll entry of ``memory.config.sources``, built (nothing is started)."""
        registry = cls()
        for source_id, settings in memory.config.sources.items():
            if settings.type in RUNNABLE_TYPES:
                registry.register(build_source(memory, source_id, settings))
        return registry

    def register(self, source: IngestSource) -> None:
        if source.source_id in self._sources:
            raise InvalidRequestError(f"source {source.source_id!r} is already registered", field="source_id")
        self._sources[source.source_id] = source

    def deregister(self, source_id: str) -> IngestSource:
        """Remove and return a source (stopping it is the caller's or the supervisor's job)."""
        try:
            return self._sources.pop(source_id)
        except KeyError:
            raise self._unknown(source_id) from None

    def get(self, source_id: str) -> IngestSource:
        try:
            return self._sources[source_id]
        except KeyError:
            raise self._unknown(source_id) from None

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._sources

    def __len__(self) -> int:
        return len(self._sources)

    def sources(self) -> list[IngestSource]:
        return list(self._sources.values())

    async def health(self) -> dict[str, HealthStatus]:
        """Each source's health; a failing check is reported, never raised."""
        report: dict[str, HealthStatus] = {}
        for source_id, source in self._sources.items():
            try:
                report[source_id] = await source.health_check()
            except Exception as exc:
                report[source_id] = HealthStatus(healthy=False, message=f"health check failed: {exc}")
        return report

    def _unknown(self, source_id: str) -> UnknownSourceError:
        known = ", ".join(sorted(self._sources)) or "none"
        return UnknownSourceError(f"no ingest source {source_id!r} is registered (registered: {known})")

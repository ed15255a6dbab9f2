"""Optional OpenTelemetry tracing (``pip install astrocyte-gateway[otel]``; ``gateway.otel: true``).
Exporters are configured the standard way, through ``OTEL_*`` environment variables."""

from __future__ import annotations

from fastapi import FastAPI

from astrocyte.errors import BackendNotInstalledError

__all__ = ["instrument"]


def instrument(app: FastAPI) -> None:
    """Trace every request of ``app`` (spans named by route template; bodies are never recorded)."""
    try:
        from opentelemetry.instrumentation.fastapi import (  # type: ignore[import-not-found,unused-ignore]
            FastAPIInstrumentor,
        )
    except ModuleNotFoundError:
        raise BackendNotInstalledError(
            "gateway.otel is on but OpenTelemetry is not installed",
            hint="pip install astrocyte-gateway[otel]",
        ) from None
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health,metrics")

"""What every request handler reaches through ``request.app.state.gateway``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from astrocyte import Astrocyte
from astrocyte.ingest import IngestSupervisor, SourceRegistry, SourceStats
from astrocyte_gateway.auth import Authenticator
from astrocyte_gateway.mcp_server import McpHttpEndpoint
from astrocyte_gateway.metrics import GatewayMetrics
from astrocyte_gateway.settings import GatewaySettings

__all__ = ["GatewayState", "Memory", "get_memory", "get_state"]


@dataclass(slots=True)
class GatewayState:
    memory: Astrocyte
    settings: GatewaySettings
    authenticator: Authenticator
    metrics: GatewayMetrics
    owns_memory: bool
    sources: SourceRegistry = field(default_factory=SourceRegistry)
    supervisor: IngestSupervisor | None = None
    #: Counters of each webhook source (webhooks have no running object to ask).
    webhook_stats: dict[str, SourceStats] = field(default_factory=dict)
    mcp: McpHttpEndpoint | None = None


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


async def get_memory(request: Request) -> Astrocyte:
    # async on purpose: FastAPI runs sync dependencies in a worker thread (a thread hop per request).
    return get_state(request).memory


#: A route parameter receiving the app's :class:`~astrocyte.Astrocyte`.
Memory = Annotated[Astrocyte, Depends(get_memory)]

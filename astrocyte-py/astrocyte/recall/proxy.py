"""Proxy (federated) recall: ``sources:`` entries of ``type: proxy`` are queried at recall time.

For a recall touching a proxy's ``target_bank``, its ``url`` (``{query}`` replaced by the URL-encoded
query) is fetched through :mod:`astrocyte.http` within ``timeout_seconds``. The JSON answer's hit list
(at ``results_path``, default ``$.hits``; a top-level list also works) holds strings or objects with
``text`` (or ``content``), optional ``id``, ``score`` and scalar ``metadata``. The hits join local
hits by reciprocal-rank fusion exactly like ``RecallRequest.external_context``.

A slow or failing proxy never fails the recall: its :class:`~astrocyte.types.StrategyTrace`
(``proxy:<source_id>``) carries the error and the other results stand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from pydantic import JsonValue, ValidationError

from astrocyte.http import build_async_client, redact_secrets
from astrocyte.ingest.jsonpath import JsonPath
from astrocyte.ingest.settings import SourceConfig
from astrocyte.provider import OutboundTransportProvider
from astrocyte.types import ExternalContextItem, Metadata, StrategyTrace

__all__ = ["ProxyFetch", "ProxyRecall"]

_MAX_ERROR = 300


@dataclass(frozen=True, slots=True)
class ProxyFetch:
    source_id: str
    items: list[ExternalContextItem]
    trace: StrategyTrace


def _scalar_metadata(value: JsonValue) -> Metadata:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if v is None or isinstance(v, str | int | float | bool)}


def _item(source_id: str, raw: JsonValue) -> ExternalContextItem | None:
    source = f"proxy:{source_id}"
    if isinstance(raw, str):
        return ExternalContextItem(text=raw, source=source) if raw.strip() else None
    if not isinstance(raw, dict):
        return None
    text = raw.get("text", raw.get("content"))
    if not isinstance(text, str) or not text.strip():
        return None
    identifier = raw.get("id")
    score = raw.get("score")
    try:
        return ExternalContextItem(
            text=text,
            id=str(identifier)
            if isinstance(identifier, str | int) and not isinstance(identifier, bool)
            else None,
            source=source,
            score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
            metadata=_scalar_metadata(raw.get("metadata")),
        )
    except ValidationError:
        return None


def parse_hits(
    source_id: str, settings: SourceConfig, document: JsonValue, limit: int
) -> list[ExternalContextItem]:
    """The usable hits of a proxy answer, at most ``limit`` (unusable entries are skipped)."""
    found, hits = JsonPath.parse(settings.results_path).find(document)
    if not found and isinstance(document, list):
        hits = document
    if not isinstance(hits, list):
        raise ValueError(f"answer has no hit list at {settings.results_path}")
    items = [item for raw in hits if (item := _item(source_id, raw)) is not None]
    return items[:limit]


class ProxyRecall:
    """The proxy sources of a config; one shared HTTP client, opened on first use."""

    def __init__(
        self,
        sources: Mapping[str, SourceConfig],
        *,
        limit: int = 50,
        transport: OutboundTransportProvider | None = None,
    ) -> None:
        self._proxies = {sid: s for sid, s in sources.items() if s.type == "proxy"}
        self._limit = limit
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def for_banks(self, banks: list[str]) -> list[str]:
        """Ids of the proxies whose ``target_bank`` is among ``banks``."""
        wanted = set(banks)
        return [sid for sid, s in self._proxies.items() if s.target_bank in wanted]

    async def fetch(self, query: str, banks: list[str]) -> list[ProxyFetch]:
        """Every applicable proxy's hits (never raises for a proxy's failure)."""
        return list(await asyncio.gather(*(self._fetch_one(sid, query) for sid in self.for_banks(banks))))

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _fetch_one(self, source_id: str, query: str) -> ProxyFetch:
        settings = self._proxies[source_id]
        assert settings.url is not None  # SourceConfig requires it for proxies
        url = settings.url.replace("{query}", quote(query, safe=""))
        trace = StrategyTrace(name=f"proxy:{source_id}", bank_id=settings.target_bank)
        started = time.perf_counter()
        items: list[ExternalContextItem] = []
        try:
            async with asyncio.timeout(settings.timeout_seconds):
                response = await self._http().get(url, timeout=settings.timeout_seconds)
            response.raise_for_status()
            items = parse_hits(source_id, settings, response.json(), self._limit)
        except TimeoutError:
            trace.error = f"timed out after {settings.timeout_seconds:g} s"
        except httpx.HTTPStatusError as exc:
            trace.error = f"HTTP {exc.response.status_code} from proxy"
        except (httpx.HTTPError, ValueError) as exc:
            trace.error = redact_secrets(f"{type(exc).__name__}: {exc}", limit=_MAX_ERROR)
        trace.duration_ms = (time.perf_counter() - started) * 1000
        trace.hit_ids = [item.id or f"{source_id}-hit-{index}" for index, item in enumerate(items)]
        return ProxyFetch(source_id, items, trace)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = build_async_client(
                timeout=max(s.timeout_seconds for s in self._proxies.values()),
                transport=self._transport,
                purpose="recall",
            )
        return self._client

    def __bool__(self) -> bool:
        return bool(self._proxies)

"""Prometheus view of the chat proxy's counters (read at scrape time from the live proxy)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from astrocyte.chat_proxy import ChatProxy

__all__ = ["ChatProxyCollector"]


class ChatProxyCollector(Collector):
    """``astrocyte_chat_proxy_*``: requests, injections, failures and the background retain queue."""

    def __init__(self, proxy: ChatProxy) -> None:
        self._proxy = proxy

    def collect(self) -> Iterator[Metric]:
        stats, retain = self._proxy.stats, self._proxy.retainer.stats
        counters = (
            ("requests", "Chat completions proxied.", stats.requests),
            ("injected", "Requests that got a memory block.", stats.injected),
            (
                "recall_failures",
                "Recalls that failed (request forwarded without memories).",
                stats.recall_failures,
            ),
            ("upstream_failures", "Upstream errors answered as problems.", stats.upstream_failures),
            ("retain_submitted", "Exchanges queued for background retain.", retain.submitted),
            ("retain_retained", "Exchanges retained.", retain.retained),
            ("retain_retries", "Retain attempts retried after a failure.", retain.retries),
            (
                "retain_dead_lettered",
                "Exchanges not retained (dead-lettered and logged).",
                retain.dead_lettered,
            ),
        )
        for name, help_text, value in counters:
            yield CounterMetricFamily(f"astrocyte_chat_proxy_{name}", help_text, value=value)
        yield GaugeMetricFamily(
            "astrocyte_chat_proxy_retain_pending",
            "Exchanges queued or being retained.",
            value=self._proxy.retainer.pending,
        )

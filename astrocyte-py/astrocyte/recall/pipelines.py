"""Recall pipelines by strategy weights (mip rules re-weight strategies) and proxy use (tiers)."""

from __future__ import annotations

from collections.abc import Mapping

from astrocyte.config import HomeostasisSettings, RecallSettings
from astrocyte.pipeline.recall import RecallPipeline
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.recall.proxy import ProxyRecall

__all__ = ["RecallPipelines"]


class RecallPipelines:
    """One :class:`RecallPipeline` per (weights, with proxies), built on first use and kept."""

    def __init__(
        self,
        stores: MemoryStores,
        settings: RecallSettings,
        limits: HomeostasisSettings,
        proxies: ProxyRecall | None,
    ) -> None:
        self._stores = stores
        self._settings = settings
        self._limits = limits
        self._proxies = proxies
        self._built: dict[tuple[tuple[tuple[str, float], ...], bool], RecallPipeline] = {}

    def get(self, weights: Mapping[str, float] | None = None, *, proxies: bool = True) -> RecallPipeline:
        """The pipeline with ``weights`` laid over the configured ones (keys not given keep theirs)."""
        key = (tuple(sorted((weights or {}).items())), proxies)
        pipeline = self._built.get(key)
        if pipeline is None:
            settings = self._settings
            if weights:
                settings = settings.model_copy(update={"strategies": {**settings.strategies, **weights}})
            pipeline = RecallPipeline(
                self._stores, settings, self._limits, self._proxies if proxies else None
            )
            self._built[key] = pipeline
        return pipeline

    def weights(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """The effective strategy weights with ``overrides`` applied."""
        return {**self._settings.strategies, **(overrides or {})}

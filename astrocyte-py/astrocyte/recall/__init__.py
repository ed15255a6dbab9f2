"""Recall extensions: proxy (federated) recall over remote search endpoints."""

from astrocyte.recall.proxy import ProxyFetch, ProxyRecall

__all__ = ["ProxyFetch", "ProxyRecall"]

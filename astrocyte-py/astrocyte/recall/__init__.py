"""Recall extensions: proxy (federated) recall, recall authority and the recall cache.

Tiered retrieval lives in :mod:`astrocyte.recall.tiered` (with :mod:`astrocyte.recall.pipelines`);
it is not re-exported here because it builds on :mod:`astrocyte.pipeline.recall`, which imports this
package for proxy recall.
"""

from astrocyte.recall.authority import RecallAuthority
from astrocyte.recall.cache import RecallCache, normalise_query
from astrocyte.recall.proxy import ProxyFetch, ProxyRecall

__all__ = ["ProxyFetch", "ProxyRecall", "RecallAuthority", "RecallCache", "normalise_query"]

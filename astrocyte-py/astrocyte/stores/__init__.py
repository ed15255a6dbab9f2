"""stores

Helpers that out-of-tree store adapters share with the built-in stores, so every backend filters,
scores and ranks exactly alike (filter semantics, cosine mapping, graph scoring, entity matching).
"""

from astrocyte.stores._filters import as_utc, matches_filters, validate_vector
from astrocyte.stores._sqlite_graph import entity_match_rank, rank_graph_hits

__all__ = ["as_utc", "entity_match_rank", "matches_filters", "rank_graph_hits", "validate_vector"]

"""The full-text form of a recall query (sync, pure): questions carry words that every memory
shares ("what", "did", "you", "about") and that add only noise to BM25 — drop them, keep the rest."""

from __future__ import annotations

import re

__all__ = ["QUERY_STOPWORDS", "keyword_query"]

#: Question words, auxiliaries, pronouns and fillers common in questions but not in answers' content.
QUERY_STOPWORDS: frozenset[str] = frozenset(
    {
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been",
        "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "for",
        "from", "had", "has", "have", "having", "he", "her", "hers", "him", "his", "how", "i", "if", "in",
        "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "of", "on", "or", "other",
        "our", "out", "over", "own", "she", "should", "so", "some", "such", "than", "that", "the", "their",
        "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "up",
        "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "whose",
        "why", "will", "with", "would", "you", "your", "yours", "ever", "kind", "sort", "type", "many",
        "much",
    }
)  # fmt: skip

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def keyword_query(query: str) -> str:
    """``query`` without :data:`QUERY_STOPWORDS`; the query itself when nothing else is left."""
    words = _WORD.findall(query)
    kept = [word for word in words if word.casefold() not in QUERY_STOPWORDS]
    return " ".join(kept) if kept else query

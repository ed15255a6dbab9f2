"""The tokenizer shared by the built-in full-text stores (sync, pure).

One tokenizer for every built-in store keeps BM25 scores comparable between the in-memory and the
SQLite document stores: NFKC-normalise (so composed and decomposed accents agree), casefold (a
Unicode-aware lowercase, unlike SQL ``lower()``), split into runs of Unicode letters and digits, and
drop a small English stopword list. Underscores separate words, as in SQLite FTS5's ``unicode61``.
Emoji and punctuation are separators, so operator-looking queries (``"AND" OR ( ) *``) are plain words.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["STOPWORDS", "tokenize"]

# Lucene's classic English stop set: small enough never to drop content words.
STOPWORDS: frozenset[str] = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
        "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
        "this", "to", "was", "will", "with",
    }
)  # fmt: skip

# Letters and digits of any script; "_" is excluded so snake_case splits like FTS5 does.
_WORD = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens of ``text`` without stopwords, in order (duplicates kept for term counts)."""
    normalized = unicodedata.normalize("NFKC", text).casefold()
    return [token for token in _WORD.findall(normalized) if token not in STOPWORDS]

"""``hashing``: the built-in, dependency-free default embedder — **lexical**, not semantic.

:class:`HashingEmbedder` maps a text to a fixed-size vector with the *signed hashing trick*: every
feature of the text is hashed to one of ``dimensions`` buckets and added there with a sign taken from
the same hash, so unrelated features cancel in expectation instead of piling up. Two texts end up
close when they share words (or word pairs, or pieces of words) — never because they mean the same
thing: "car" and "automobile" are as far apart as "car" and "banana". Use a neural embedder
(``sentence-transformers``, ``openai``) when synonyms and paraphrases must match; use this one for
tests, offline installs and as a lexical signal next to them.

Features of a text, after Unicode NFKC normalisation and lower-casing:

* **words** — runs of Unicode word characters (``\\w+``, so any script), plus every symbol character
  (Unicode category ``S*``: emoji, currency, maths) as a word of its own; punctuation is dropped.
  English stop words ("the", "is", "when"...) are left out unless the text has nothing else;
* **word n-grams** — consecutive words (bigrams by default) weighted ``ngram_weight``, so word order
  and phrases count a little;
* **character n-grams** — trigrams of each word with ``<``/``>`` boundary marks (``<ru``, ``run``...),
  so "running" and "runs" share something; a word's character features together weigh
  ``char_weight`` relative to the word itself.

Term frequency is sublinear (``1 + ln tf``) and every vector is L2-normalised; a text with no
feature at all (``""``, ``"  "``, ``"?!"``) gets one fixed vector, so no vector is ever all zeros.
Hashes are BLAKE2b (64-bit) of the UTF-8 text — stable across processes, machines and Python
versions (never Python's salted ``hash()``), so stored vectors stay valid: the same configuration
always yields the same vector for the same text. Changing any parameter changes the vector space;
re-embed stored memories after doing so.

The core (:meth:`HashingEmbedder.embed_batch`, :meth:`HashingEmbedder.embed_one`) is synchronous,
pure and NumPy-backed; :meth:`HashingEmbedder.embed` is the async SPI wrapper.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from astrocyte.errors import ConfigError, InvalidRequestError

__all__ = ["ENGLISH_STOP_WORDS", "HashingEmbedder"]

_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself yourselves s t d ll m re ve
"""
#: Function words dropped from the word features (kept when a text has nothing else).
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_MASK64 = (1 << 64) - 1
_EMPTY_FEATURE = "\x00empty"
_CHUNK = 1024  # texts per NumPy accumulation step

#: (word hash, bucket indices, signed values) of one word.
_WordFeatures = tuple[int, tuple[int, ...], tuple[float, ...]]


def _hash64(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _combine(left: int, right: int) -> int:
    """Order-sensitive 64-bit combination of two hashes (splitmix64 finaliser)."""
    h = (left * 0x9E3779B97F4A7C15 + right + 0x632BE59BD9B4E019) & _MASK64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK64
    return h ^ (h >> 31)


def _is_token(token: str) -> bool:
    # Words are kept; a lone non-word character is kept only when it is a symbol (emoji, €, +...).
    return len(token) > 1 or token.isalnum() or unicodedata.category(token)[0] == "S"


class HashingEmbedder:
    """Deterministic lexical feature-hashing embedder (entry point ``hashing``). See the module doc.

    Every argument is keyword-only so discovery can build it from YAML with ``cls(**config)``.
    """

    SPI_VERSION: ClassVar[int] = 1
    #: ``embed`` calls with more texts than this run in a worker thread to keep the loop responsive.
    INLINE_BATCH_LIMIT: ClassVar[int] = 256

    def __init__(
        self,
        *,
        dimensions: int = 384,
        ngram_range: Sequence[int] = (1, 2),
        ngram_weight: float = 0.25,
        char_ngrams: int = 3,
        char_weight: float = 2.0,
        stop_words: str | Sequence[str] | None = "english",
        cache_size: int = 32_768,
    ) -> None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise ConfigError(f"must be a positive integer, got {dimensions!r}", key_path="dimensions")
        low, high = _check_ngram_range(ngram_range)
        if not isinstance(char_ngrams, int) or char_ngrams < 0 or char_ngrams == 1:
            raise ConfigError(
                f"must be 0 (off) or an integer >= 2, got {char_ngrams!r}", key_path="char_ngrams"
            )
        for key, weight in (("ngram_weight", ngram_weight), ("char_weight", char_weight)):
            if not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
                raise ConfigError(f"must be a finite number >= 0, got {weight!r}", key_path=key)
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigError(f"must be an integer >= 0, got {cache_size!r}", key_path="cache_size")
        self._dimensions = dimensions
        self._ngram_range = (low, high)
        self._ngram_weight = float(ngram_weight)
        self._char_ngrams = char_ngrams
        self._char_weight = float(char_weight)
        self._stop_words = _resolve_stop_words(stop_words)
        self._empty = self._bucket(_hash64(_EMPTY_FEATURE), 1.0)
        # Per instance, bounded: the features of a word depend only on the word and the settings.
        self._word_features: Callable[[str], _WordFeatures] = lru_cache(maxsize=cache_size)(
            self._compute_word_features
        )

    # ------------------------------------------------------------------ SPI

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit-length vector per text, in order. Empty list → ``[]``."""
        if not texts:
            return []
        if len(texts) > self.INLINE_BATCH_LIMIT:
            matrix = await asyncio.to_thread(self._matrix, texts)
        else:
            matrix = self._matrix(texts)
        # float64 rows: ``tolist`` of float64 is faster than of float32 and loses nothing.
        vectors: list[list[float]] = matrix.tolist()
        return vectors

    # ------------------------------------------------------------------ sync core

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of one text, shape ``(dimensions,)``."""
        row: npt.NDArray[np.float32] = self.embed_batch([text])[0]
        return row

    def embed_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts`` as a ``float32`` array of shape ``(len(texts), dimensions)``."""
        return self._matrix(texts).astype(np.float32)

    def _matrix(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Unit-length ``float64`` rows, built a cache-friendly chunk at a time."""
        out = np.empty((len(texts), self._dimensions), dtype=np.float64)
        for begin in range(0, len(texts), _CHUNK):
            out[begin : begin + _CHUNK] = self._chunk(texts, begin, min(begin + _CHUNK, len(texts)))
        return out

    def _chunk(self, texts: Sequence[str], begin: int, end: int) -> npt.NDArray[np.float64]:
        dim = self._dimensions
        indices: list[int] = []
        values: list[float] = []
        per_row: list[int] = []
        for position in range(begin, end):
            text = texts[position]
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"expected a string, got {type(text).__name__}", field=f"texts[{position}]"
                )
            before = len(indices)
            self._collect(text, indices, values)
            per_row.append(len(indices) - before)
        count = end - begin
        rows = np.repeat(np.arange(count, dtype=np.int64), per_row)
        flat = rows * dim + np.asarray(indices, dtype=np.int64)
        sums = np.bincount(flat, weights=np.asarray(values, dtype=np.float64), minlength=count * dim)
        matrix: npt.NDArray[np.float64] = sums.astype(np.float64, copy=False).reshape(count, dim)
        norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))[:, None]
        np.divide(matrix, norms, out=matrix, where=norms > 0.0)
        return matrix

    def tokenize(self, text: str) -> list[str]:
        """The word tokens of ``text`` (normalised, lower-cased; symbols included, punctuation not)."""
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        return [token for token in _TOKEN_RE.findall(text.lower()) if _is_token(token)]

    # ------------------------------------------------------------------ internals

    def _collect(self, text: str, indices: list[int], values: list[float]) -> None:
        """Append the (bucket, signed weight) features of ``text`` to ``indices``/``values``."""
        tokens = self.tokenize(text)
        words = [token for token in tokens if token not in self._stop_words] or tokens
        if not words:
            indices.append(self._empty[0])
            values.append(self._empty[1])
            return
        word_features = self._word_features
        hashes: list[int] = []
        for word, tf in Counter(words).items():
            word_hash, word_indices, word_values = word_features(word)
            hashes.append(word_hash)
            indices.extend(word_indices)
            if tf == 1:
                values.extend(word_values)
            else:
                scale = 1.0 + math.log(tf)
                values.extend([value * scale for value in word_values])
        if self._ngram_range[1] < 2 or self._ngram_weight == 0.0 or len(words) < 2:
            return
        if len(hashes) != len(words):  # repeated words: hashes in text order
            hashes = [word_features(word)[0] for word in words]
        self._collect_ngrams(hashes, indices, values)

    def _collect_ngrams(self, hashes: list[int], indices: list[int], values: list[float]) -> None:
        grams = [_combine(left, right) for left, right in itertools.pairwise(hashes)]
        for size in range(3, self._ngram_range[1] + 1):
            for start in range(len(hashes) - size + 1):
                gram = hashes[start]
                for offset in range(1, size):
                    gram = _combine(gram, hashes[start + offset])
                grams.append(gram)
        dim = self._dimensions
        weight = self._ngram_weight
        for gram, tf in Counter(grams).items():
            value = weight if tf == 1 else weight * (1.0 + math.log(tf))
            indices.append(gram % dim)
            values.append(value if gram >> 63 else -value)

    def _bucket(self, feature_hash: int, weight: float) -> tuple[int, float]:
        """Bucket index from the low bits, sign from the top bit (independent of each other)."""
        sign = 1.0 if feature_hash >> 63 else -1.0
        return feature_hash % self._dimensions, sign * weight

    def _compute_word_features(self, word: str) -> _WordFeatures:
        word_hash = _hash64(word)
        indices: list[int] = []
        values: list[float] = []
        index, value = self._bucket(word_hash, 1.0)
        indices.append(index)
        values.append(value)
        size = self._char_ngrams
        if size and self._char_weight > 0.0 and len(word) >= size:
            marked = f"<{word}>"
            pieces = [marked[i : i + size] for i in range(len(marked) - size + 1)]
            weight = self._char_weight / math.sqrt(len(pieces))
            for piece in pieces:
                index, value = self._bucket(_hash64("\x01" + piece), weight)
                indices.append(index)
                values.append(value)
        return word_hash, tuple(indices), tuple(values)


def _check_ngram_range(ngram_range: Sequence[int]) -> tuple[int, int]:
    values = (
        list(ngram_range) if isinstance(ngram_range, Sequence) and not isinstance(ngram_range, str) else []
    )
    if (
        len(values) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        or not values[0] == 1 <= values[1] <= 5
    ):
        raise ConfigError(
            f"must be [1, max] with 1 <= max <= 5, got {ngram_range!r}",
            key_path="ngram_range",
            hint="e.g. [1, 2] for words and word pairs",
        )
    return values[0], values[1]


def _resolve_stop_words(stop_words: str | Sequence[str] | None) -> frozenset[str]:
    if stop_words is None or stop_words == "none":
        return frozenset()
    if stop_words == "english":
        return ENGLISH_STOP_WORDS
    if isinstance(stop_words, str) or not all(isinstance(word, str) for word in stop_words):
        raise ConfigError(
            f"must be 'english', 'none' or a list of words, got {stop_words!r}", key_path="stop_words"
        )
    return frozenset(word.lower() for word in stop_words)

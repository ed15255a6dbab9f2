"""The contract every :class:`~astrocyte.provider.EmbeddingProvider` must pass.

Subclass :class:`EmbeddingProviderContract` and override the ``provider`` fixture (sync or async,
plain or yielding, so the subclass can close clients afterwards)::

    class TestMyEmbedder(EmbeddingProviderContract):
        normalized = True

        @pytest.fixture
        async def provider(self) -> AsyncIterator[MyEmbedder]:
            embedder = MyEmbedder(...)
            yield embedder
            await embedder.close()

The similarity checks only need *lexical* overlap (the pairs share words and meaning), so a lexical
embedder such as ``hashing`` passes as well as a neural one.
"""

from __future__ import annotations

import asyncio
import math
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pytest

from astrocyte.provider import SUPPORTED_SPI_VERSIONS, EmbeddingProvider

__all__ = ["EmbeddingProviderContract"]

_SAME_TOL = 1e-4  # neural models may differ by float noise between batch compositions

#: (anchor, similar, unrelated): the similar text shares words and meaning with the anchor.
SIMILARITY_TRIPLES: tuple[tuple[str, str, str], ...] = (
    ("The cat sat on the mat.", "A cat was sitting on the mat.", "Quarterly revenue grew by eight percent."),
    (
        "Alice moved to Berlin in 2021.",
        "In 2021 Alice moved from Paris to Berlin.",
        "The recipe needs two cups of flour and an egg.",
    ),
    (
        "How do I reset my password?",
        "Steps to reset a forgotten password",
        "Best hiking trails near the mountain lake",
    ),
)

#: Texts that must embed without error: empty-ish, emoji, other scripts, control characters, long.
ODD_TEXTS: tuple[str, ...] = (
    "",
    " ",
    "\n\t  \r\n",
    "?!...",
    "🎉🚀✨👍🏽",
    "naïve café — déjà vu",
    "日本語のテキストです",
    "Здравствуйте, мир",
    "مرحبا بالعالم",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫√ ≠ ∞",
    "a",
    "tab\tseparated\nlines\r\nand NUL\x00byte",
    "<script>alert('x')</script> {\"json\": [1, 2]}",
    "memory " * 1500,
)

DISTINCT_TEXTS: tuple[str, ...] = (
    "Alice adopted a golden retriever named Max.",
    "Bob's favourite food is spicy ramen.",
    "The quarterly board meeting moved to Thursday.",
    "Carol is training for the Berlin marathon.",
    "Dave fixed the leaking kitchen sink yesterday.",
    "Erin bought tickets to see the opera in Vienna.",
    "The server certificate expires next month.",
    "Frank prefers tea over coffee in the morning.",
)


def _matrix(vectors: list[list[float]]) -> npt.NDArray[np.float64]:
    return np.asarray(vectors, dtype=np.float64)


def _cosine(a: list[float], b: list[float]) -> float:
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denominator = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / denominator if denominator else 0.0


def _assert_same(actual: list[float], expected: list[float]) -> None:
    assert len(actual) == len(expected)
    assert np.allclose(actual, expected, atol=_SAME_TOL, rtol=0.0), "vectors differ for the same text"


class EmbeddingProviderContract:
    """Subclass and provide a ``provider`` fixture. The tests are async (pytest-asyncio, ``asyncio_mode =
    "auto"``); the large batch is marked ``slow``.
    """

    #: Set True when every vector is expected to have unit L2 norm.
    normalized: ClassVar[bool] = False
    #: Size of the large-batch test.
    large_batch_size: ClassVar[int] = 1000

    @pytest.fixture
    def provider(self) -> EmbeddingProvider:
        pytest.fail("subclass EmbeddingProviderContract and define a `provider` fixture")

    # ----------------------------------------------------------------- identity and shape

    async def test_conforms_to_protocol(self, provider: EmbeddingProvider) -> None:
        assert isinstance(provider, EmbeddingProvider)
        assert provider.SPI_VERSION in SUPPORTED_SPI_VERSIONS

    async def test_dimensions_positive_and_every_vector_has_them(self, provider: EmbeddingProvider) -> None:
        dimensions = provider.dimensions
        assert isinstance(dimensions, int)
        assert dimensions > 0
        vectors = await provider.embed(list(DISTINCT_TEXTS))
        assert len(vectors) == len(DISTINCT_TEXTS)
        assert all(len(vector) == dimensions for vector in vectors)

    async def test_empty_list_gives_empty_list(self, provider: EmbeddingProvider) -> None:
        assert await provider.embed([]) == []

    async def test_values_are_plain_finite_floats(self, provider: EmbeddingProvider) -> None:
        vectors = await provider.embed(list(DISTINCT_TEXTS[:3]))
        for vector in vectors:
            assert all(type(value) is float for value in vector), "values must be JSON-ready Python floats"
            assert all(math.isfinite(value) for value in vector)
            assert any(value != 0.0 for value in vector), "an all-zero vector has no direction"

    async def test_unit_norm_when_normalized(self, provider: EmbeddingProvider) -> None:
        vectors = _matrix(await provider.embed(list(DISTINCT_TEXTS)))
        norms = np.linalg.norm(vectors, axis=1)
        assert np.all(norms > 0.0)
        if self.normalized:
            assert np.allclose(norms, 1.0, atol=1e-3), norms

    # ----------------------------------------------------------------- order and determinism

    async def test_order_is_preserved(self, provider: EmbeddingProvider) -> None:
        texts = list(DISTINCT_TEXTS)
        batch = await provider.embed(texts)
        reversed_batch = await provider.embed(texts[::-1])
        for text, vector, mirrored in zip(texts, batch, reversed_batch[::-1], strict=True):
            (single,) = await provider.embed([text])
            _assert_same(vector, single)
            _assert_same(mirrored, single)

    async def test_same_text_gives_same_vector(self, provider: EmbeddingProvider) -> None:
        text = "Alice moved to Berlin in 2021."
        first = await provider.embed([text])
        second = await provider.embed([text])
        _assert_same(first[0], second[0])
        duplicated = await provider.embed([text, "something else", text])
        _assert_same(duplicated[0], duplicated[2])
        _assert_same(duplicated[0], first[0])

    async def test_concurrent_calls_match_sequential_ones(self, provider: EmbeddingProvider) -> None:
        batches = [list(DISTINCT_TEXTS[i : i + 3]) for i in range(0, len(DISTINCT_TEXTS), 3)]
        together = await asyncio.gather(*(provider.embed(batch) for batch in batches))
        for batch, vectors in zip(batches, together, strict=True):
            expected = await provider.embed(batch)
            assert len(vectors) == len(batch)
            for actual, wanted in zip(vectors, expected, strict=True):
                _assert_same(actual, wanted)

    # ----------------------------------------------------------------- inputs

    async def test_odd_texts_embed(self, provider: EmbeddingProvider) -> None:
        vectors = await provider.embed(list(ODD_TEXTS))
        assert len(vectors) == len(ODD_TEXTS)
        matrix = _matrix(vectors)
        assert matrix.shape == (len(ODD_TEXTS), provider.dimensions)
        assert np.isfinite(matrix).all()

    @pytest.mark.slow
    async def test_large_batch(self, provider: EmbeddingProvider) -> None:
        count = self.large_batch_size
        texts = [
            f"Memory number {i}: item {i * 7919 % 1009} was seen in room {i % 97}." for i in range(count)
        ]
        vectors = await provider.embed(texts)
        assert len(vectors) == count
        matrix = _matrix(vectors)
        assert matrix.shape == (count, provider.dimensions)
        assert np.isfinite(matrix).all()
        for index in (0, count // 2, count - 1):  # positions survive any internal batching
            (single,) = await provider.embed([texts[index]])
            _assert_same(vectors[index], single)

    # ----------------------------------------------------------------- geometry

    async def test_distinct_texts_give_distinct_vectors(self, provider: EmbeddingProvider) -> None:
        # (No emoji-only texts here: BERT-style vocabularies map every emoji to the same [UNK].)
        vectors = await provider.embed(
            [*DISTINCT_TEXTS, "Der Hund schläft im Garten.", "猫はソファで寝ている。"]
        )
        for i in range(len(vectors)):
            for j in range(i + 1, len(vectors)):
                assert not np.allclose(vectors[i], vectors[j], atol=_SAME_TOL, rtol=0.0), (i, j)
                assert _cosine(vectors[i], vectors[j]) < 0.99, (i, j)

    @pytest.mark.parametrize("triple", SIMILARITY_TRIPLES, ids=["cat", "berlin", "password"])
    async def test_similar_texts_are_closer_than_unrelated(
        self, provider: EmbeddingProvider, triple: tuple[str, str, str]
    ) -> None:
        anchor, similar, unrelated = await provider.embed(list(triple))
        assert _cosine(anchor, similar) > _cosine(anchor, unrelated) + 0.05
        assert _cosine(anchor, anchor) == pytest.approx(1.0, abs=1e-4)

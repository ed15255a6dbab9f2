"""The contract every :class:`~astrocyte.provider.LLMProvider` must pass.

Subclass :class:`LLMProviderContract` and override the ``provider`` fixture (sync or async, plain or
yielding so the client can be closed afterwards)::

    class TestMyLLM(LLMProviderContract):
        @pytest.fixture
        async def provider(self) -> AsyncIterator[MyLLM]:
            llm = MyLLM(base_url=...)
            yield llm
            await llm.close()

The checks hold for any real model (they never assert what the model says, only its shape), so the
suite runs as well against a hosted API as against a local server speaking its format.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from astrocyte.errors import CapabilityNotSupportedError, InvalidRequestError
from astrocyte.provider import SUPPORTED_SPI_VERSIONS, LLMProvider
from astrocyte.types import LLMCapabilities, LLMCompletion, LLMMessage

__all__ = ["LLMProviderContract"]

_SYSTEM = LLMMessage(role="system", content="You are a terse assistant. Answer in one short sentence.")
_QUESTION = LLMMessage(role="user", content="Name a colour of the sky on a clear day.")


def _check_completion(completion: LLMCompletion) -> None:
    assert isinstance(completion, LLMCompletion)
    assert isinstance(completion.text, str)
    assert completion.text.strip(), "a completion must carry text"
    for count in (completion.input_tokens, completion.output_tokens):
        assert count is None or (isinstance(count, int) and count >= 0)


class LLMProviderContract:
    """Subclass and provide a ``provider`` fixture. The tests are async (``asyncio_mode = "auto"``)."""

    @pytest.fixture
    def provider(self) -> LLMProvider:
        pytest.fail("subclass LLMProviderContract and define a `provider` fixture")

    # ----------------------------------------------------------------- identity

    async def test_conforms_to_protocol(self, provider: LLMProvider) -> None:
        assert isinstance(provider, LLMProvider)
        assert provider.SPI_VERSION in SUPPORTED_SPI_VERSIONS

    async def test_capabilities_are_declared(self, provider: LLMProvider) -> None:
        capabilities = provider.capabilities()
        assert isinstance(capabilities, LLMCapabilities)
        assert capabilities.chat, "an LLMProvider must at least chat"
        limit = capabilities.max_context_tokens
        assert limit is None or limit > 0
        assert capabilities == LLMCapabilities.model_validate_json(capabilities.model_dump_json())

    # ----------------------------------------------------------------- chat

    async def test_complete_answers_a_question(self, provider: LLMProvider) -> None:
        _check_completion(await provider.complete([_QUESTION], max_tokens=64))

    async def test_complete_with_system_and_history(self, provider: LLMProvider) -> None:
        history = [
            _SYSTEM,
            LLMMessage(role="user", content="Remember the number 7."),
            LLMMessage(role="assistant", content="Noted: 7."),
            LLMMessage(role="user", content="Which number did I ask you to remember?"),
        ]
        _check_completion(await provider.complete(history, max_tokens=64, temperature=0.0))

    async def test_concurrent_completions(self, provider: LLMProvider) -> None:
        questions = [LLMMessage(role="user", content=f"Say the number {n}.") for n in range(4)]
        completions = await asyncio.gather(*(provider.complete([q], max_tokens=16) for q in questions))
        assert len(completions) == len(questions)
        for completion in completions:
            _check_completion(completion)

    async def test_empty_conversation_is_rejected(self, provider: LLMProvider) -> None:
        with pytest.raises(InvalidRequestError):
            await provider.complete([])

    @pytest.mark.parametrize(("max_tokens", "temperature"), [(0, 0.0), (-5, 0.0), (16, -0.1), (16, math.inf)])
    async def test_bad_sampling_settings_are_rejected(
        self, provider: LLMProvider, max_tokens: int, temperature: float
    ) -> None:
        with pytest.raises(InvalidRequestError):
            await provider.complete([_QUESTION], max_tokens=max_tokens, temperature=temperature)

    # ----------------------------------------------------------------- embeddings

    async def test_embed_matches_capabilities(self, provider: LLMProvider) -> None:
        texts = ["Alice moved to Berlin.", "Bob likes green tea.", ""]
        if not provider.capabilities().embeddings:
            with pytest.raises(CapabilityNotSupportedError):
                await provider.embed(texts)
            return
        vectors = await provider.embed(texts)
        assert len(vectors) == len(texts)
        widths = {len(vector) for vector in vectors}
        assert len(widths) == 1, "every vector must have the same length"
        assert widths.pop() > 0
        assert all(type(v) is float and math.isfinite(v) for vector in vectors for v in vector)
        assert vectors[0] != vectors[1]
        assert await provider.embed([]) == []

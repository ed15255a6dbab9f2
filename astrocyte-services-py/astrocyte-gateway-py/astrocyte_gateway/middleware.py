"""One pure-ASGI middleware for the per-request chores: request id, body size limit, metrics and
the JSON access log. Pure ASGI (not ``BaseHTTPMiddleware``) keeps its overhead in microseconds.

* ``X-Request-ID``: taken from the request when it is a sane token (≤ 128 visible ASCII chars),
  else generated; echoed on the response and put in ``scope["state"]["request_id"]``.
* Bodies over ``max_body_bytes`` get a 413 problem before any route sees them (declared
  ``Content-Length`` checked first, streamed bodies counted while buffered).
* The access log line holds method, path, route template, status, duration, sizes, principal and
  request id — never headers, query strings or bodies (no secrets, no memory content).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from astrocyte_gateway.metrics import GatewayMetrics
from astrocyte_gateway.problems import PROBLEM_TYPE_BASE

__all__ = ["GatewayMiddleware"]

access_logger = logging.getLogger("astrocyte.gateway.access")
_MAX_REQUEST_ID = 128
_DRAIN_CAP = 64 * 1024 * 1024


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                text: str = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if 0 < len(text) <= _MAX_REQUEST_ID and text.isprintable() and " " not in text:
                return text
            break
    return secrets.token_hex(16)  # 32 hex digits, as uuid4().hex, at a fraction of the cost


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large_body(path: str, request_id: str, limit: int) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + "payload_too_large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body exceeds {limit} bytes (gateway.max_body_bytes)",
            "code": "payload_too_large",
            "instance": path,
            "request_id": request_id,
        }
    ).encode()


async def _drain(receive: Receive, message: Message, size: int) -> None:
    """Read and drop the rest of an oversized streamed body (up to a cap), so the client, still
    sending, can read the 413 instead of seeing the connection reset."""
    while message.get("more_body", False) and size < _DRAIN_CAP:
        message = await receive()
        if message["type"] != "http.request":
            return
        size += len(message.get("body", b""))


class GatewayMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: GatewayMetrics | None, max_body_bytes: int, access_log: bool
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        outcome = {"status": 500, "bytes_out": 0}
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            elif message["type"] == "http.response.body":
                outcome["bytes_out"] += len(message.get("body", b""))
            await send(message)

        try:
            buffered = await self._buffer(scope, receive)
            if buffered is None:
                await self._reject(scope, send_wrapper, request_id)
            else:
                await self.app(scope, buffered, send_wrapper)
        finally:
            self._record(scope, state, outcome, time.perf_counter() - started)

    async def _buffer(self, scope: Scope, receive: Receive) -> Receive | None:
        """A receive that replays the whole body, or ``None`` when the body is over the limit."""
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            return None
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and not declared:
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away; let the app see an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _drain(receive, message, size)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _reject(self, scope: Scope, send: Send, request_id: str) -> None:
        body = _too_large_body(scope["path"], request_id, self.max_body_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(
        self, scope: Scope, state: MutableMapping[str, Any], outcome: dict[str, int], seconds: float
    ) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        if self.metrics is not None:
            self.metrics.observe(scope["method"], route, outcome["status"], seconds)
        if self.access_log and access_logger.isEnabledFor(logging.INFO):
            client = scope.get("client")
            access_logger.info(
                json.dumps(
                    {
                        "ts": time.time(),
                        "request_id": state.get("request_id"),
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": outcome["status"],
                        "duration_ms": round(seconds * 1000, 3),
                        "bytes_out": outcome["bytes_out"],
                        "principal": state.get("principal"),
                        "client": client[0] if client else None,
                    },
                    separators=(",", ":"),
                )
            )

"""The assistant's answer from an upstream reply: a JSON completion, or SSE chunks as they pass by.

Both are best effort by design: the proxy returns the upstream bytes unchanged whatever they hold,
and only retains an exchange whose answer it could read.
"""

from __future__ import annotations

import json

__all__ = ["StreamTranscript", "completion_text"]


def completion_text(body: bytes) -> str:
    """``choices[0].message.content`` of a chat completion (``""`` when absent or not JSON)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    choices = data.get("choices") if isinstance(data, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


class StreamTranscript:
    """Collects ``choices[0].delta.content`` from server-sent events fed in arbitrary byte slices."""

    def __init__(self) -> None:
        self._buffer = b""
        self._parts: list[str] = []
        self.done = False

    def feed(self, chunk: bytes) -> None:
        """Consume the next bytes of the stream (lines may be split across chunks)."""
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._line(line.rstrip(b"\r"))

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self._parts)

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return  # comments, event names, ids and blank separators carry no content
        payload = line[5:].strip()
        if payload == b"[DONE]":
            self.done = True
            return
        try:
            event = json.loads(payload)
        except ValueError:
            return
        choices = event.get("choices") if isinstance(event, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        delta = first.get("delta") if isinstance(first, dict) else None
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            self._parts.append(content)

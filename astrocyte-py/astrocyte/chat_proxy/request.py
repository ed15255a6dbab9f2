"""OpenAI chat-completions requests: validation, and the text of the latest user turn.

The proxy forwards the caller's JSON object as it came (unknown fields such as ``tools``,
``response_format`` or vendor extensions included), so these models only check what the proxy
itself relies on and allow everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from astrocyte.errors import InvalidRequestError

__all__ = ["ChatCompletionRequest", "ChatMessage", "ParsedChatRequest", "parse_chat_request"]

ChatRole = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ChatMessage(BaseModel):
    """One message; ``content`` is a string, a list of content parts, or null (assistant tool calls)."""

    model_config = ConfigDict(extra="allow")

    role: ChatRole
    content: str | list[dict[str, JsonValue]] | None = None

    def text(self) -> str:
        """The message's text: the string content, or its ``{"type": "text"}`` parts joined by newlines."""
        if isinstance(self.content, str):
            return self.content
        if self.content is None:
            return ""
        parts = [part.get("text") for part in self.content if part.get("type") == "text"]
        return "\n".join(part for part in parts if isinstance(part, str))


class ChatCompletionRequest(BaseModel):
    """What the proxy needs from a ``POST /chat/completions`` body (other fields are kept, unchecked)."""

    model_config = ConfigDict(extra="allow")

    model: str | None = Field(default=None, min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False

    def latest_user_text(self) -> str:
        """The text of the last ``user`` message (``""`` when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text().strip()
        return ""


@dataclass(frozen=True, slots=True)
class ParsedChatRequest:
    """A validated request and the JSON object it came from (forwarded with only the memory added)."""

    request: ChatCompletionRequest
    body: dict[str, JsonValue]

    def messages(self) -> list[JsonValue]:
        """The body's ``messages`` as sent (validated to be a non-empty list)."""
        messages = self.body["messages"]
        return list(messages) if isinstance(messages, list) else []


def parse_chat_request(body: object, *, default_model: str | None = None) -> ParsedChatRequest:
    """Validate a decoded JSON body; :class:`InvalidRequestError` names the first bad field.

    A request without ``model`` takes ``default_model`` (``chat_proxy.upstream.default_model``).
    """
    if not isinstance(body, Mapping):
        raise InvalidRequestError(f"the body must be a JSON object, got {type(body).__name__}", field="body")
    data: dict[str, JsonValue] = dict(body)
    if data.get("model") is None and default_model is not None:
        data["model"] = default_model
    try:
        request = ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidRequestError(str(first["msg"]), field=location) from exc
    if request.model is None:
        raise InvalidRequestError("required (or set chat_proxy.upstream.default_model)", field="model")
    return ParsedChatRequest(request, data)

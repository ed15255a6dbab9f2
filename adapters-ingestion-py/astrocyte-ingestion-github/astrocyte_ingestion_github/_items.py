"""What is polled (issues + pull requests, issue comments, review comments) and how an item reads as memory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

__all__ = ["ENDPOINTS", "Endpoint", "GitHubItem", "to_item"]

EndpointName = Literal["issues", "issue_comments", "review_comments"]


@dataclass(frozen=True)
class Endpoint:
    """One GitHub listing that supports ``since`` + ``sort=updated&direction=asc``."""

    name: EndpointName
    path: str  # relative to /repos/{owner}/{repo}


ENDPOINTS: tuple[Endpoint, ...] = (
    # The issues listing returns pull requests too (they carry a ``pull_request`` key).
    Endpoint("issues", "issues"),
    Endpoint("issue_comments", "issues/comments"),
    Endpoint("review_comments", "pulls/comments"),
)


@dataclass(frozen=True)
class GitHubItem:
    """A polled item ready to retain: stable id, text, metadata and its ``updated_at`` cursor value."""

    message_id: str
    text: str
    metadata: dict[str, str | int | float | bool | None]
    updated_at: str
    created_at: str | None
    raw: dict[str, object]

    def message(self) -> dict[str, object]:
        """The JSON message handed to the ingest handler.

        Top level: the item's own scalar fields (``title``, ``state``, ``author_association``...),
        then ``content`` and the derived fields (``repo``, ``kind``, ``number``, ``author``...), so
        ``target_bank_template`` and ``metadata_mapping`` can use either; ``item`` is the whole
        item as GitHub sent it (``$.item.labels[0].name``).
        """
        scalars = {k: v for k, v in self.raw.items() if isinstance(v, str | int | float | bool) or v is None}
        return {
            **scalars,
            **self.metadata,
            "created_at": self.created_at,
            "content": self.text,
            "item": self.raw,
        }


def _str(item: dict[str, object], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _login(item: dict[str, object]) -> str:
    user = item.get("user")
    return _str(user, "login") if isinstance(user, dict) else ""


def _number_from_url(url: str) -> int | None:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _kind(endpoint: EndpointName, item: dict[str, object]) -> str:
    if endpoint == "issues":
        return "pull_request" if isinstance(item.get("pull_request"), dict) else "issue"
    return "issue_comment" if endpoint == "issue_comments" else "review_comment"


def _text(kind: str, item: dict[str, object], repo: str) -> str:
    body = _str(item, "body").strip()
    if kind in ("issue", "pull_request"):
        title = _str(item, "title").strip()
        if not title and not body:
            return ""
        label = "Pull request" if kind == "pull_request" else "Issue"
        head = f"{label} {repo}#{item.get('number')}: {title}"
        return f"{head}\n\n{body}" if body else head
    return body


def to_item(endpoint: EndpointName, item: dict[str, object], repo: str) -> GitHubItem | None:
    """``item`` as a :class:`GitHubItem`; ``None`` for an item with no id or ``updated_at``.

    An item without text keeps ``text == ""``: the handler rejects it, so it lands in the dead letter
    instead of vanishing silently.
    """
    item_id = item.get("id")
    updated_at = _str(item, "updated_at")
    kind = _kind(endpoint, item)
    text = _text(kind, item, repo)
    if not isinstance(item_id, int) or not updated_at:
        return None
    number = item.get("number")
    if not isinstance(number, int):
        number = _number_from_url(_str(item, "issue_url") or _str(item, "pull_request_url"))
    # Same content polled twice (``since`` is inclusive, restarts re-read a page) -> same id -> one
    # memory; an edited body is new content -> a new memory.
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    metadata: dict[str, str | int | float | bool | None] = {
        "source": "github",
        "repo": repo,
        "kind": kind,
        "github_id": item_id,
        "number": number,
        "author": _login(item) or None,
        "url": _str(item, "html_url") or None,
        "state": _str(item, "state") or None,
        "updated_at": updated_at,
    }
    return GitHubItem(
        message_id=f"github:{repo}:{kind}:{item_id}:{digest}",
        text=text,
        metadata=metadata,
        updated_at=updated_at,
        created_at=_str(item, "created_at") or None,
        raw=item,
    )

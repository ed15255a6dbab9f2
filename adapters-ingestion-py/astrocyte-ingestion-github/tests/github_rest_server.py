"""A local HTTP server (real sockets, stdlib ``http.server``) serving GitHub-REST-shaped listings.

It implements the parts of the GitHub REST API the poller relies on, as GitHub documents them:
``since`` (inclusive, on ``updated_at``), ``sort=updated&direction=asc``, ``per_page``/``page`` with
``Link: <...>; rel="next"`` headers, strong ETags with ``304 Not Modified`` on ``If-None-Match``, and
``X-RateLimit-*`` headers; a test can script a rate-limited answer (403 + ``X-RateLimit-Remaining: 0``
or 429 + ``Retry-After``) for the next request.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LISTINGS = {"issues": "issues", "issues/comments": "issue_comments", "pulls/comments": "review_comments"}


@dataclass
class RequestRecord:
    path: str
    query: dict[str, str]
    status: int
    if_none_match: str | None


@dataclass
class GitHubRestState:
    repo: str
    items: dict[str, list[dict[str, object]]] = field(
        default_factory=lambda: {name: [] for name in LISTINGS.values()}
    )
    requests: list[RequestRecord] = field(default_factory=list)
    #: Scripted rate-limit answers for the next requests: ("403", seconds) or ("429", seconds).
    throttle: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1000

    def add(self, listing: str, **fields: object) -> dict[str, object]:
        """Add an item to ``listing`` (issues, issue_comments, review_comments) and return it."""
        with self.lock:
            self._next_id += 1
            item: dict[str, object] = {"id": self._next_id, **fields}
            self.items[listing].append(item)
            return item

    def update(self, item: dict[str, object], **fields: object) -> None:
        with self.lock:
            item.update(fields)


def _query(raw: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(raw).items()}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return

    def do_GET(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        query = _query(split.query)
        prefix = f"/repos/{state.repo}/"
        listing = LISTINGS.get(split.path[len(prefix) :]) if split.path.startswith(prefix) else None
        if listing is None:
            self._send(404, {"message": "Not Found"}, query, split.path)
            return
        with state.lock:
            throttle = state.throttle.pop(0) if state.throttle else None
        if throttle is not None:
            self._throttled(throttle, query, split.path)
            return
        self._listing(state, listing, query, split.path)

    def _listing(self, state: GitHubRestState, listing: str, query: dict[str, str], path: str) -> None:
        since = query.get("since", "")
        with state.lock:
            rows = sorted(
                (item for item in state.items[listing] if str(item["updated_at"]) >= since),
                key=lambda item: (str(item["updated_at"]), int(str(item["id"]))),
            )
        per_page = int(query.get("per_page", "30"))
        page = int(query.get("page", "1"))
        chunk = rows[(page - 1) * per_page : page * per_page]
        body = json.dumps(chunk).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = {"ETag": etag}
        if page * per_page < len(rows):
            next_query = urlencode({**query, "page": str(page + 1)})
            headers["Link"] = f'<http://{self.headers["Host"]}{path}?{next_query}>; rel="next"'
        if self.headers.get("If-None-Match") == etag:
            self._send(304, None, query, path, headers)
            return
        self._send(200, chunk, query, path, headers)

    def _throttled(self, throttle: tuple[str, float], query: dict[str, str], path: str) -> None:
        kind, seconds = throttle
        if kind == "429":
            self._send(429, {"message": "secondary rate limit"}, query, path, {"Retry-After": f"{seconds:g}"})
            return
        reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + seconds) + 1)}
        self._send(403, {"message": "API rate limit exceeded"}, query, path, reset)

    def _send(
        self,
        status: int,
        payload: object,
        query: dict[str, str],
        path: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        state = self.server.state
        with state.lock:
            state.requests.append(RequestRecord(path, query, status, self.headers.get("If-None-Match")))
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        merged = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", **(headers or {})}
        for key, value in merged.items():
            self.send_header(key, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: GitHubRestState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class GitHubRestServer:
    """Start with ``with GitHubRestServer(repo) as server:``; ``server.url`` is the API base URL."""

    def __init__(self, repo: str) -> None:
        self.state = GitHubRestState(repo=repo)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> GitHubRestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

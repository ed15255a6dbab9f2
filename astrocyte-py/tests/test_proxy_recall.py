"""Proxy (federated) recall against a local HTTP server the test starts."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from astrocyte import Astrocyte
from astrocyte.types import ExternalContextItem

#: The slow endpoint answers only when released (at teardown) or after 10 s; recall must not wait.
_SLOW_RELEASE = threading.Event()
_SLOW_ANSWERED = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    queries: list[str]  # set on the class by the fixture

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query).get("q", [""])[0]
        type(self).queries.append(query)
        if parts.path == "/slow":
            _SLOW_RELEASE.wait(10)
            _SLOW_ANSWERED.set()
        if parts.path == "/error":
            self._send(500, b'{"error": "boom"}')
        elif parts.path == "/garbage":
            self._send(200, b"<html>not json</html>")
        elif parts.path == "/list":
            self._send(200, json.dumps([f"Wiki: {query} is documented in the handbook."]).encode())
        else:
            hits = [
                {"id": "kb-1", "text": f"Knowledge base: {query} resets take five minutes.", "score": 0.9},
                {
                    "text": "Knowledge base: unrelated article.",
                    "metadata": {"lang": "en", "nested": {"x": 1}},
                },
                {"no_text": True},
            ]
            self._send(200, json.dumps({"hits": hits}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the client gave up (the timeout test)
            return

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    _SLOW_RELEASE.clear()
    _SLOW_ANSWERED.clear()
    handler = type("Handler", (_Handler,), {"queries": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.queries
    _SLOW_RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


def _proxy(url: str, bank: str = "support", timeout: float = 2.0) -> dict[str, object]:
    return {"type": "proxy", "url": url, "target_bank": bank, "timeout_seconds": timeout}


@pytest.fixture
async def memory(server: tuple[str, list[str]]) -> AsyncIterator[Astrocyte]:
    base, _ = server
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {
                "kb": _proxy(base + "/search?q={query}"),
                "wiki": _proxy(base + "/list?q={query}"),
                "slow": _proxy(base + "/slow?q={query}", timeout=0.2),
                "broken": _proxy(base + "/error?q={query}"),
                "garbage": _proxy(base + "/garbage?q={query}"),
                "elsewhere": _proxy(base + "/search?q={query}", bank="other"),
            },
        }
    )
    await memory.retain("Local note: password resets are handled by the help desk.", bank_id="support")
    yield memory
    await memory.close()


def _trace(result_trace: object, name: str) -> object:
    return next(s for s in result_trace.strategies if s.name == name)  # type: ignore[attr-defined]


async def test_proxy_hits_merge_with_local_hits_and_failures_stay_in_the_trace(
    memory: Astrocyte, server: tuple[str, list[str]]
) -> None:
    _, queries = server
    result = await memory.recall("password reset & more", bank_id="support")
    slow_answered = _SLOW_ANSWERED.is_set()

    texts = [hit.text for hit in result.hits]
    assert "Local note: password resets are handled by the help desk." in texts
    assert "Knowledge base: password reset & more resets take five minutes." in texts
    assert "Wiki: password reset & more is documented in the handbook." in texts
    kb = next(hit for hit in result.hits if hit.memory_id == "kb-1")
    assert kb.strategies == ["proxy:kb"]
    assert kb.bank_id == "proxy:kb"
    unrelated = next(hit for hit in result.hits if hit.text.endswith("unrelated article."))
    assert unrelated.metadata == {"lang": "en"}
    assert "password reset & more" in queries  # the query was URL-encoded and decoded intact

    names = {s.name for s in result.trace.strategies}
    assert {"proxy:kb", "proxy:wiki", "proxy:slow", "proxy:broken", "proxy:garbage"} <= names
    assert "proxy:elsewhere" not in names  # its target_bank is not part of this recall
    assert _trace(result.trace, "proxy:kb").hit_ids == ["kb-1", "kb-hit-1"]  # type: ignore[attr-defined]
    assert "timed out after 0.2 s" in (_trace(result.trace, "proxy:slow").error or "")  # type: ignore[attr-defined]
    assert _trace(result.trace, "proxy:broken").error == "HTTP 500 from proxy"  # type: ignore[attr-defined]
    assert "JSONDecodeError" in (_trace(result.trace, "proxy:garbage").error or "")  # type: ignore[attr-defined]
    assert not slow_answered  # recall returned before the slow proxy answered: cut at its timeout


async def test_recall_of_a_bank_without_proxies_makes_no_requests(
    memory: Astrocyte, server: tuple[str, list[str]]
) -> None:
    _, queries = server
    await memory.retain("Nothing federated here.", bank_id="private")
    result = await memory.recall("federated", bank_id="private")
    assert queries == []
    assert all(not s.name.startswith("proxy:") for s in result.trace.strategies)


async def test_external_context_merges_by_the_same_rrf(memory: Astrocyte) -> None:
    result = await memory.recall(
        "password reset",
        bank_id="support",
        external_context=[ExternalContextItem(text="Agent tool: reset link sent.", id="tool-1")],
    )
    tool = next(hit for hit in result.hits if hit.memory_id == "tool-1")
    assert tool.strategies == ["external"]
    assert tool.bank_id == "external"
    assert any(hit.strategies == ["proxy:kb"] for hit in result.hits)


async def test_unreachable_proxy_never_fails_the_recall() -> None:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {"down": _proxy("http://127.0.0.1:1/search?q={query}")},
        }
    )
    try:
        await memory.retain("A local memory about printers.", bank_id="support")
        result = await memory.recall("printers", bank_id="support")
    finally:
        await memory.close()
    assert result.hits[0].text == "A local memory about printers."
    assert "ConnectError" in (_trace(result.trace, "proxy:down").error or "")  # type: ignore[attr-defined]

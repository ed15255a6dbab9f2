"""The poller against a local GitHub-REST-shaped server: pagination, ETag 304s, rate limits, resumable cursor."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from astrocyte_ingestion_github._cursor import CursorFile, EndpointCursor
from astrocyte_ingestion_github._items import ENDPOINTS, GitHubItem
from astrocyte_ingestion_github._poller import RepoPoller
from astrocyte_ingestion_github._rest import RateLimitPolicy, RestPager
from github_rest_server import GitHubRestServer

from astrocyte.errors import ConfigError
from astrocyte.http import ProviderHTTPError, build_async_client

REPO = "octo/memory"


@pytest.fixture
def server() -> Iterator[GitHubRestServer]:
    with GitHubRestServer(REPO) as running:
        yield running


@pytest.fixture
async def pager(server: GitHubRestServer) -> AsyncIterator[RestPager]:
    client = build_async_client(base_url=server.url, timeout=5)
    yield RestPager(client, RateLimitPolicy(max_wait_seconds=5))
    await client.aclose()


def _seed(server: GitHubRestServer, issues: int) -> None:
    for n in range(1, issues + 1):
        server.state.add(
            "issues",
            number=n,
            title=f"Issue {n}",
            body=f"Body of issue {n}",
            state="open",
            user={"login": "ana"},
            html_url=f"https://github.com/{REPO}/issues/{n}",
            created_at=f"2026-01-01T00:00:{n:02d}Z",
            updated_at=f"2026-01-01T00:00:{n:02d}Z",
        )


class _Collector:
    def __init__(self) -> None:
        self.items: list[GitHubItem] = []

    async def __call__(self, item: GitHubItem) -> None:
        self.items.append(item)


def _poller(pager: RestPager, state: Path, per_page: int = 2) -> RepoPoller:
    return RepoPoller(repo=REPO, pager=pager, cursors=CursorFile(state), per_page=per_page)


async def test_pages_follow_link_headers_and_pull_requests_are_told_apart(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path
) -> None:
    _seed(server, 5)
    server.state.add(
        "issues",
        number=6,
        title="Add recall cache",
        body="",
        pull_request={"url": "x"},
        updated_at="2026-01-01T00:01:00Z",
    )
    server.state.add(
        "issue_comments",
        body="Looks good to me",
        issue_url=f"https://api.github.com/repos/{REPO}/issues/6",
        user={"login": "bo"},
        updated_at="2026-01-01T00:02:00Z",
    )
    server.state.add(
        "review_comments",
        body="nit: rename this",
        pull_request_url=f"https://api.github.com/repos/{REPO}/pulls/6",
        updated_at="2026-01-01T00:03:00Z",
    )
    collected = _Collector()
    stats = await _poller(pager, tmp_path / "state.json").poll_once(collected)

    assert stats.items == 8
    assert stats.pages == 3 + 1 + 1  # six issues at two per page, one page per comment listing
    kinds = [item.metadata["kind"] for item in collected.items]
    assert kinds == ["issue"] * 5 + ["pull_request", "issue_comment", "review_comment"]
    assert collected.items[5].text == f"Pull request {REPO}#6: Add recall cache"
    assert collected.items[6].metadata["number"] == 6
    assert collected.items[0].metadata["author"] == "ana"
    assert len({item.message_id for item in collected.items}) == 8


async def test_unchanged_repository_answers_304_with_the_stored_etag(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path
) -> None:
    _seed(server, 3)
    poller = _poller(pager, tmp_path / "state.json", per_page=10)
    first, second, third = _Collector(), _Collector(), _Collector()
    await poller.poll_once(first)
    await poller.poll_once(second)  # `since` is inclusive: the newest item comes back once more
    stats = await poller.poll_once(third)

    assert len(first.items) == 3
    assert [item.message_id for item in second.items] == [first.items[-1].message_id]
    assert third.items == []
    assert stats.not_modified == len(ENDPOINTS)
    last_issue_requests = [r for r in server.state.requests if r.path.endswith("/issues")][-1]
    assert last_issue_requests.status == 304 and last_issue_requests.if_none_match


async def test_restart_resumes_from_the_persisted_cursor(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path
) -> None:
    _seed(server, 4)
    state = tmp_path / "state.json"
    await _poller(pager, state).poll_once(_Collector())
    server.state.add("issues", number=9, title="New", body="", updated_at="2026-02-01T00:00:00Z")

    fresh = _Collector()  # a new poller process: only the file carries the position
    await _poller(pager, state).poll_once(fresh)

    numbers = [item.metadata["number"] for item in fresh.items]
    assert numbers == [4, 9]  # the inclusive boundary item (deduplicated by id downstream) and the new one
    assert CursorFile(state).get(f"{REPO}:issues").since == "2026-02-01T00:00:00Z"
    issue_requests = [r for r in server.state.requests if r.path.endswith("/issues")]
    assert issue_requests[-1].query["since"] == "2026-01-01T00:00:04Z"


async def test_edited_body_is_a_new_message_id(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path
) -> None:
    _seed(server, 1)
    poller = _poller(pager, tmp_path / "state.json")
    before, after = _Collector(), _Collector()
    await poller.poll_once(before)
    server.state.update(server.state.items["issues"][0], body="Edited", updated_at="2026-03-01T00:00:00Z")
    await poller.poll_once(after)
    assert before.items[0].message_id != after.items[-1].message_id
    assert after.items[-1].text.endswith("Edited")


async def test_a_failed_retain_leaves_the_cursor_before_the_item(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path
) -> None:
    _seed(server, 4)
    state = tmp_path / "state.json"

    async def fail_on_third(item: GitHubItem) -> None:
        if item.metadata["number"] == 3:
            raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        await _poller(pager, state).poll_once(fail_on_third)
    assert CursorFile(state).get(f"{REPO}:issues").since == "2026-01-01T00:00:02Z"


@pytest.mark.parametrize("kind", ["403", "429"])
async def test_rate_limit_headers_make_the_poller_wait(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path, kind: str
) -> None:
    _seed(server, 2)
    server.state.throttle.append((kind, 1.0))
    started = time.monotonic()
    collected = _Collector()
    await _poller(pager, tmp_path / "state.json").poll_once(collected)
    assert len(collected.items) == 2
    assert pager.rate_limit_sleep_total > 0
    assert time.monotonic() - started >= 0.5
    statuses = [r.status for r in server.state.requests]
    assert statuses[0] == int(kind) and statuses[1] == 200


async def test_rate_limit_beyond_the_allowed_wait_raises(
    server: GitHubRestServer, pager: RestPager, tmp_path: Path
) -> None:
    _seed(server, 1)
    server.state.throttle.append(("403", 3600.0))
    with pytest.raises(ProviderHTTPError, match="max_wait_seconds") as caught:
        await _poller(pager, tmp_path / "state.json").poll_once(_Collector())
    assert caught.value.status_code == 403


async def test_unknown_repository_is_a_typed_error(pager: RestPager, tmp_path: Path) -> None:
    poller = RepoPoller(repo="octo/missing", pager=pager, cursors=CursorFile(tmp_path / "s.json"))
    with pytest.raises(ProviderHTTPError) as caught:
        await poller.poll_once(_Collector())
    assert caught.value.status_code == 404


def test_corrupt_state_file_names_the_key_and_the_fix(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(ConfigError, match="state_path") as caught:
        CursorFile(state)
    assert "delete the file" in str(caught.value)


def test_cursor_file_round_trips_atomically(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "state.json"
    CursorFile(state).put("r:issues", EndpointCursor(since="2026-01-01T00:00:00Z", etag='"abc"'))
    assert CursorFile(state).get("r:issues") == EndpointCursor(since="2026-01-01T00:00:00Z", etag='"abc"')
    assert [p.name for p in state.parent.iterdir()] == ["state.json"]

"""``GitHubPollSource``: poll a repository's issues, pull requests and comments into ``Astrocyte.retain``.

Every ``poll_interval_seconds`` the source walks each listing from its persisted cursor, one page per
batch. Each item becomes a JSON message (``content`` plus ``repo``, ``kind``, ``number``, ``author``,
``url``, ``state``, ``updated_at``, ``created_at`` for ``metadata_mapping``) whose id includes a hash
of its text, so re-reading an item (``since`` is inclusive; a restart re-reads the last page) never
creates a second memory, while an edited body does. The cursor moves past a page only once its items
were retained. A failed retain stops the poll where it is and retries from the cursor after
``retry_delay_seconds``; after ``max_attempts`` the item is appended to the dead-letter file instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

from astrocyte.errors import ConfigError, StoreError
from astrocyte.http import build_async_client
from astrocyte.ingest import InboundMessage, IngestHandler, StreamSource
from astrocyte.provider import SourceType
from astrocyte_ingestion_github._cursor import CursorFile
from astrocyte_ingestion_github._items import ENDPOINTS, Endpoint, GitHubItem
from astrocyte_ingestion_github._poller import PolledPage, RepoPoller
from astrocyte_ingestion_github._rest import RateLimitPolicy, RestPager

__all__ = ["GitHubPollSource"]

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_KINDS: dict[str, Endpoint] = {endpoint.name: endpoint for endpoint in ENDPOINTS}


@dataclass(frozen=True)
class _Pending:
    """The receipt of one polled item: its page and position (for partial cursor advances)."""

    page: PolledPage
    index: int


class GitHubPollSource(StreamSource):
    """Poll ``repo`` (``owner/name``) on ``api_url``; state lives in ``state_path``."""

    source_type: SourceType = "poll"

    def __init__(
        self,
        *,
        handler: IngestHandler,
        repo: str,
        state_path: str,
        api_url: str = "https://api.github.com",
        token: str | None = None,
        kinds: list[str] | None = None,
        poll_interval_seconds: float = 60.0,
        per_page: int = 100,
        request_timeout_seconds: float = 30.0,
        max_rate_limit_wait_seconds: float = 900.0,
        retry_delay_seconds: float = 5.0,
        dead_letter_path: str | None = None,
        backoff_initial_seconds: float = 1.0,
        backoff_max_seconds: float = 300.0,
    ) -> None:
        super().__init__(
            handler=handler,
            backoff_initial_seconds=backoff_initial_seconds,
            backoff_max_seconds=backoff_max_seconds,
        )
        if not _REPO.match(repo):
            raise ConfigError(f"expected 'owner/name', got {repo!r}", key_path="repo")
        chosen = kinds if kinds is not None else list(_KINDS)
        unknown = sorted(set(chosen) - set(_KINDS))
        if unknown or not chosen:
            raise ConfigError(
                f"unknown or empty kinds {unknown or chosen}", key_path="kinds", hint=f"use {list(_KINDS)}"
            )
        if not 1 <= per_page <= 100:
            raise ConfigError(f"must be 1..100 (GitHub's page limit), got {per_page}", key_path="per_page")
        if poll_interval_seconds <= 0 or retry_delay_seconds < 0:
            raise ConfigError(
                "poll_interval_seconds must be > 0 and retry_delay_seconds >= 0",
                key_path="poll_interval_seconds",
            )
        self.repo = repo
        self.state_path = Path(state_path)
        self.dead_letter_path = Path(dead_letter_path or f"{state_path}.dead_letter.jsonl")
        self._api_url = api_url.rstrip("/")
        self._headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._endpoints = tuple(_KINDS[name] for name in chosen)
        self._interval = poll_interval_seconds
        self._per_page = per_page
        self._timeout = request_timeout_seconds
        self._policy = RateLimitPolicy(max_wait_seconds=max_rate_limit_wait_seconds)
        self._retry_delay = retry_delay_seconds
        self._pager: RestPager | None = None
        self._poller: RepoPoller | None = None
        self._pages: AsyncGenerator[PolledPage, None] | None = None
        self._next_poll_at = 0.0
        self._retry_from: int | None = None
        self._attempts: dict[str, int] = {}
        #: Completed polls (observable in health details and tests).
        self.polls_completed = 0

    async def _connect(self) -> None:
        client = build_async_client(base_url=self._api_url, timeout=self._timeout, headers=self._headers)
        self._pager = RestPager(client, self._policy)
        self._poller = RepoPoller(
            repo=self.repo,
            pager=self._pager,
            cursors=CursorFile(self.state_path),
            endpoints=self._endpoints,
            per_page=self._per_page,
        )
        self._next_poll_at = 0.0

    async def _disconnect(self) -> None:
        await self._end_poll()
        pager, self._pager = self._pager, None
        self._poller = None
        if pager is not None:
            await pager.aclose()

    async def _end_poll(self) -> None:
        pages, self._pages = self._pages, None
        if pages is not None:
            await pages.aclose()

    async def _fetch(self) -> list[InboundMessage]:
        if self._retry_from is not None:  # a retain failed: re-read from the cursor a little later
            self._retry_from = None
            await self._end_poll()
            self._next_poll_at = time.monotonic() + self._retry_delay
        if self._pages is None:
            wait = self._next_poll_at - time.monotonic()
            if wait > 0:
                await self._sleep(min(wait, 1.0))
                return []
            if self._poller is None:
                raise StoreError("the GitHub source is not started")
            self._pages = self._poller.pages()
        try:
            page = await anext(self._pages)
        except StopAsyncIteration:
            self._pages = None
            self.polls_completed += 1
            self._next_poll_at = time.monotonic() + self._interval
            return []
        except BaseException:
            self._pages = None  # the generator is finished; the next poll starts from the cursor
            raise
        return [self._message(page, index, item) for index, item in enumerate(page.items)]

    def _message(self, page: PolledPage, index: int, item: GitHubItem) -> InboundMessage:
        attempt = self._attempts.get(item.message_id, 0) + 1
        self._attempts[item.message_id] = attempt
        return InboundMessage(
            message_id=item.message_id,
            body=json.dumps(item.message()).encode("utf-8"),
            attempt=attempt,
            handle=_Pending(page, index),
        )

    async def _ack(self, messages: list[InboundMessage]) -> None:
        if self._poller is None or not messages:
            return
        page = _pending(messages[0]).page
        for message in messages:
            self._attempts.pop(message.message_id, None)
        # Only the leading run of finished items may move the cursor: anything after an item that
        # must be retried is re-read on the next poll (and deduplicated by its id).
        finished = {_pending(message).index for message in messages}
        limit = len(page.items) if self._retry_from is None else self._retry_from
        prefix = 0
        while prefix < limit and prefix in finished:
            prefix += 1
        self._poller.advance(page, page.items[:prefix])

    async def _retry(self, message: InboundMessage) -> None:
        index = _pending(message).index
        if self._retry_from is None or index < self._retry_from:
            self._retry_from = index

    async def _dead_letter(self, message: InboundMessage, record: dict[str, str]) -> None:
        await asyncio.to_thread(self._append_dead_letter, record)

    def _append_dead_letter(self, record: dict[str, str]) -> None:
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _pending(message: InboundMessage) -> _Pending:
    if not isinstance(message.handle, _Pending):
        raise TypeError("message was not fetched by this source")
    return message.handle

"""One poll of a repository: every endpoint from its cursor, page by page.

The caller retains a page's items, then calls :meth:`RepoPoller.advance` with those it retained;
only then does the persisted cursor move past them, so a crash or a failed retain re-reads them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from astrocyte_ingestion_github._cursor import CursorFile, EndpointCursor
from astrocyte_ingestion_github._items import ENDPOINTS, Endpoint, GitHubItem, to_item
from astrocyte_ingestion_github._rest import RestPager

__all__ = ["PollStats", "PolledPage", "RepoPoller"]

#: Retains one item; returns normally once it is stored.
RetainItem = Callable[[GitHubItem], Awaitable[None]]


@dataclass(frozen=True)
class PolledPage:
    """The retainable items of one page of one endpoint (``key`` is ``"<repo>:<endpoint>"``)."""

    key: str
    items: list[GitHubItem]


@dataclass
class PollStats:
    """What one poll saw."""

    items: int = 0
    pages: int = 0
    not_modified: int = 0
    endpoints: list[str] = field(default_factory=list)


class RepoPoller:
    """Polls ``repo``'s endpoints with ``sort=updated&direction=asc`` from each endpoint's cursor."""

    def __init__(
        self,
        *,
        repo: str,
        pager: RestPager,
        cursors: CursorFile,
        endpoints: tuple[Endpoint, ...] = ENDPOINTS,
        per_page: int = 100,
    ) -> None:
        self._repo = repo
        self._pager = pager
        self._cursors = cursors
        self._endpoints = endpoints
        self._per_page = per_page

    async def pages(self, stats: PollStats | None = None) -> AsyncGenerator[PolledPage, None]:
        """Every new page of every endpoint. Advance the cursor before asking for the next page."""
        stats = stats if stats is not None else PollStats()
        for endpoint in self._endpoints:
            async for page in self._endpoint_pages(endpoint, stats):
                yield page

    def advance(self, page: PolledPage, retained: list[GitHubItem]) -> None:
        """Move ``page``'s endpoint cursor to the newest of ``retained`` (persisted before returning)."""
        current = self._cursors.get(page.key)
        newest = max((item.updated_at for item in retained), default=None)
        if newest is not None and (current.since is None or newest > current.since):
            self._cursors.put(page.key, EndpointCursor(since=newest))  # a moved `since` drops the ETag

    async def poll_once(self, retain: RetainItem) -> PollStats:
        """Poll every endpoint, retaining items one by one (a failing retain stops the poll)."""
        stats = PollStats()
        async for page in self.pages(stats):
            done: list[GitHubItem] = []
            try:
                for item in page.items:
                    await retain(item)
                    done.append(item)
            finally:
                self.advance(page, done)
        return stats

    async def _endpoint_pages(self, endpoint: Endpoint, stats: PollStats) -> AsyncIterator[PolledPage]:
        key = f"{self._repo}:{endpoint.name}"
        start = self._cursors.get(key)
        params = {"sort": "updated", "direction": "asc", "per_page": str(self._per_page)}
        if endpoint.name == "issues":
            params["state"] = "all"
        if start.since is not None:
            params["since"] = start.since
        first_etag: str | None = None
        seen_page = False
        async for page in self._pager.pages(f"/repos/{self._repo}/{endpoint.path}", params, start.etag):
            seen_page = True
            stats.pages += 1
            first_etag = first_etag or page.etag
            items = [item for raw in page.items if (item := to_item(endpoint.name, raw, self._repo))]
            stats.items += len(items)
            yield PolledPage(key, items)
        stats.endpoints.append(endpoint.name)
        if not seen_page:
            stats.not_modified += 1
            return
        after = self._cursors.get(key)
        if after.since == start.since and first_etag != start.etag:
            # Nothing newer: the next poll asks with the same URL, so this ETag makes it a cheap 304.
            self._cursors.put(key, EndpointCursor(since=start.since, etag=first_etag))

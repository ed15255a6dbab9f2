"""GitHubPollSource end to end: the connector contract suite against a local GitHub-REST-shaped server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from astrocyte_ingestion_github import GitHubPollSource
from github_rest_server import GitHubRestServer

from astrocyte import Astrocyte
from astrocyte._discovery import load_provider_class
from astrocyte.errors import ConfigError
from astrocyte.ingest import IngestHandler, SourceConfig, SourceRegistry
from astrocyte.testing import IngestSourceContract
from astrocyte.testing.ingest import count_by_idempotency_key

REPO = "octo/memory"


class GitHubHarness:
    """ "Publishing" a message adds an issue to the local server; its ``content`` becomes the title."""

    def __init__(self, server: GitHubRestServer, state_dir: Path) -> None:
        self.server = server
        self.state_path = state_dir / f"github-{uuid.uuid4().hex[:8]}.json"
        self.sources: list[GitHubPollSource] = []
        self._clock = 0

    async def publish(self, bodies: list[bytes]) -> None:
        for body in bodies:
            fields = json.loads(body)
            self._clock += 1
            stamp = (
                f"2026-01-01T{self._clock // 3600:02d}:{self._clock // 60 % 60:02d}:{self._clock % 60:02d}Z"
            )
            content = fields.pop("content", "")
            self.server.state.add(
                "issues",
                number=self._clock,
                title=content,
                body="",
                state="open",
                created_at=stamp,
                updated_at=stamp,
                **fields,
            )

    def make_source(self, handler: IngestHandler, consumer: str) -> GitHubPollSource:
        source = GitHubPollSource(
            handler=handler,
            repo=REPO,
            api_url=self.server.url,
            state_path=str(self.state_path),
            kinds=["issues"],
            per_page=7,
            poll_interval_seconds=0.2,
            retry_delay_seconds=0.1,
            backoff_initial_seconds=0.1,
            backoff_max_seconds=1.0,
        )
        self.sources.append(source)
        return source

    async def dead_letters(self) -> list[dict[str, str]]:
        path = self.state_path.with_name(self.state_path.name + ".dead_letter.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    async def cleanup(self) -> None:
        for source in self.sources:
            await source.abort()


@pytest.fixture
def server() -> Iterator[GitHubRestServer]:
    with GitHubRestServer(REPO) as running:
        yield running


@pytest.fixture
async def github_harness(server: GitHubRestServer, tmp_path: Path) -> AsyncIterator[GitHubHarness]:
    harness = GitHubHarness(server, tmp_path)
    yield harness
    await harness.cleanup()


class TestGitHubPollSourceContract(IngestSourceContract):
    redelivery_timeout = 10.0

    @pytest.fixture
    async def harness(self, github_harness: GitHubHarness) -> GitHubHarness:
        return github_harness

    async def test_poison_message_is_dead_lettered_and_does_not_block(
        self, harness: GitHubHarness, memory: Astrocyte
    ) -> None:
        """Polled items are GitHub's JSON, not the published bytes: the dead letter carries the item."""
        run = uuid.uuid4().hex[:8]
        healthy = [
            json.dumps({"content": f"Ticket {run}-{i}: printer jam number {i * 7}."}) for i in range(3)
        ]
        await harness.publish([healthy[0].encode(), b'{"no_content_here": true}'])
        await harness.publish([body.encode() for body in healthy[1:]])
        source = harness.make_source(IngestHandler(memory, "contract", self.settings()), "c1")
        await source.start()
        try:
            await self._eventually(await self._retained_all(memory, 3), self.redelivery_timeout, "3 memories")

            async def dead_lettered() -> bool:
                return len(await harness.dead_letters()) == 1

            await self._eventually(dead_lettered, self.redelivery_timeout, "the dead letter")
        finally:
            await source.stop()
        (record,) = await harness.dead_letters()
        assert json.loads(record["body"])["item"]["no_content_here"] is True
        assert "IngestPayloadError" in record["error"]
        assert record["source_id"] == "contract"
        assert len(await self._counts(memory)) == 3


@pytest.fixture
async def memory() -> AsyncIterator[Astrocyte]:
    memory = Astrocyte.from_config(
        {"vector_store": "memory", "document_store": "memory", "graph_store": None}
    )
    yield memory
    await memory.close()


def _settings(**extra: object) -> SourceConfig:
    return SourceConfig.model_validate({"type": "poll", "driver": "github", "target_bank": "gh", **extra})


async def test_restart_resumes_and_each_item_is_one_memory(
    github_harness: GitHubHarness, server: GitHubRestServer, memory: Astrocyte
) -> None:
    await github_harness.publish(
        [json.dumps({"content": f"Crash report {i}: kernel panic"}).encode() for i in range(10)]
    )
    first = github_harness.make_source(IngestHandler(memory, "gh", _settings()), "c1")
    await first.start()
    await IngestSourceContract._eventually(_polled(first), 10.0, "a completed poll")
    await first.stop()
    server.state.add(
        "issue_comments",
        body="Reproduced on 6.9 as well.",
        issue_url=f"https://api.github.com/repos/{REPO}/issues/3",
        updated_at="2026-02-01T00:00:00Z",
    )
    await github_harness.publish([json.dumps({"content": "Crash report 10: disk full"}).encode()])

    second = GitHubPollSource(
        handler=IngestHandler(memory, "gh", _settings()),
        repo=REPO,
        api_url=server.url,
        state_path=str(github_harness.state_path),
        poll_interval_seconds=0.2,
    )
    github_harness.sources.append(second)
    before = len(server.state.requests)
    await second.start()
    await IngestSourceContract._eventually(_polled(second), 10.0, "a completed poll")
    await second.stop()

    counts = await count_by_idempotency_key(memory.stores.vector, "gh")
    assert len(counts) == 12 and set(counts.values()) == {1}
    resumed = [r for r in server.state.requests[before:] if r.path.endswith("/issues")]
    assert resumed[0].query["since"] == "2026-01-01T00:00:10Z"  # not from the beginning


def _polled(source: GitHubPollSource) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return source.polls_completed >= 1

    return check


async def test_metadata_mapping_reaches_github_fields(
    github_harness: GitHubHarness, server: GitHubRestServer
) -> None:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "extraction_profiles": {
                "github": {
                    "metadata_mapping": {
                        "number": "$.number",
                        "kind": "$.kind",
                        "label": "$.item.labels[0].name",
                    },
                    "tag_rules": [{"tag": "kind:{value}", "path": "$.kind", "present": True}],
                }
            },
        }
    )
    server.state.add(
        "issues",
        number=7,
        title="Recall misses dated memories",
        body="Steps to reproduce...",
        labels=[{"name": "bug"}],
        user={"login": "ana"},
        updated_at="2026-01-05T00:00:00Z",
    )
    settings = _settings(
        target_bank_template="github-{author}", target_bank=None, extraction_profile="github"
    )
    source = github_harness.make_source(IngestHandler(memory, "gh", settings), "c1")
    await source.start()
    try:
        await IngestSourceContract._eventually(_polled(source), 10.0, "a poll")
    finally:
        await source.stop()
        (item,) = await memory.stores.vector.list_vectors("github-ana")
        await memory.close()
    assert item.metadata["number"] == 7
    assert item.metadata["label"] == "bug"
    assert "kind:issue" in item.tags


async def test_registry_builds_the_source(tmp_path: Path) -> None:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": None,
            "sources": {
                "gh": {
                    "type": "poll",
                    "driver": "github",
                    "target_bank": "eng",
                    "config": {"repo": REPO, "state_path": str(tmp_path / "s.json"), "token": "ghp_x"},
                }
            },
        }
    )
    try:
        source = SourceRegistry.from_config(memory).get("gh")
        assert isinstance(source, GitHubPollSource)
        assert source.source_type == "poll"
    finally:
        await memory.close()


def test_entry_point_is_registered() -> None:
    assert load_provider_class("ingest_source", "github") is GitHubPollSource


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"repo": "not-a-repo"}, "repo"),
        ({"kinds": ["wiki"]}, "kinds"),
        ({"per_page": 500}, "per_page"),
        ({"poll_interval_seconds": 0}, "poll_interval_seconds"),
    ],
)
async def test_invalid_options_name_the_key(
    memory: Astrocyte, tmp_path: Path, options: dict[str, object], key: str
) -> None:
    handler = IngestHandler(memory, "gh", _settings())
    base: dict[str, object] = {"repo": REPO, "state_path": str(tmp_path / "s.json")}
    with pytest.raises(ConfigError, match=key):
        GitHubPollSource(handler=handler, **{**base, **options})  # type: ignore[arg-type]

"""Tiered retrieval on the real SQLite stores: stop at tier 1 when it suffices, escalate to graph +
proxies and to the LLM tier when it does not, say so in the trace, and never serve a forgotten
memory from the recall cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _llm_server import API_KEY, LLMServer, hermetic_env, server
from _sqlite_config import sqlite_config

from astrocyte import Astrocyte
from astrocyte.config import load_config
from astrocyte.errors import ConfigError
from astrocyte.recall import RecallCache
from astrocyte.recall_settings import RecallCacheSettings
from astrocyte.types import RecallRequest, RecallResult

__all__ = ["hermetic_env", "server"]  # fixtures used by name

pytestmark = pytest.mark.usefixtures("hermetic_env")

NOTES = [
    "Gina adopted a beagle named Pixel in April.",
    "Gina's beagle Pixel loves the beach at sunrise.",
    "Pixel the beagle chewed Gina's new shoes.",
    "The quarterly report is due on Friday.",
    "Henry plays the cello in a string quartet.",
]


def _config(
    tmp_path: Path, server: LLMServer | None = None, *, llm: bool = False, **tiered: Any
) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "tiered_retrieval": {"enabled": True, "min_results": 3, "min_score": 0.6, **tiered}
    }
    if server is not None:
        extra["sources"] = {
            "wiki": {
                "type": "proxy",
                "url": f"{server.url}/search?q={{query}}",
                "target_bank": "notes",
                "timeout_seconds": 10,
            }
        }
    if llm and server is not None:
        extra["llm_provider"] = "openai"
        extra["llm_provider_config"] = {
            "api_key": API_KEY,
            "base_url": f"{server.url}/v1",
            "model": "local-chat",
        }
    return sqlite_config(tmp_path, **extra)


@pytest.fixture(params=["score", "rrf"])
async def memory(
    tmp_path: Path, server: LLMServer, request: pytest.FixtureRequest
) -> AsyncIterator[Astrocyte]:
    """Both fusion modes: sufficiency normalises each one's fused scores by its own best score."""
    config = _config(tmp_path, server) | {"recall": {"fusion": request.param}}
    async with Astrocyte.from_config(config) as memory:
        await memory.retain_many([{"content": text, "bank_id": "notes"} for text in NOTES])
        yield memory


def _tiers(result: RecallResult) -> list[tuple[int, str, bool]]:
    return [(t.tier, t.note or t.name, t.sufficient) for t in result.trace.tiers]


async def test_stops_at_tier_one_when_vector_and_fulltext_agree(memory: Astrocyte, server: LLMServer) -> None:
    result = await memory.recall("Gina beagle Pixel", bank_id="notes", max_results=5)
    assert _tiers(result) == [(0, "miss", False), (1, "vector+fulltext", True)]
    assert {s.name for s in result.trace.strategies} == {"vector", "fulltext"}
    assert [h.text for h in result.hits[:3]] == NOTES[:3] or set(h.text for h in result.hits[:3]) == set(
        NOTES[:3]
    )
    assert server.state.paths() == []  # tier 2 (the proxy) never ran
    tier1 = result.trace.tiers[1]
    assert tier1.store_calls == 2 and tier1.duration_ms > 0 and tier1.hits == 5 and tier1.llm_calls == 0


async def test_escalates_to_graph_and_proxies_when_tier_one_is_weak(
    memory: Astrocyte, server: LLMServer
) -> None:
    # No word of the query is in any memory: full text finds nothing, so tier 1 cannot agree.
    result = await memory.recall("canine companion adventures", bank_id="notes", max_results=10)
    tiers = _tiers(result)
    assert tiers[:2] == [(0, "miss", False), (1, "vector+fulltext", False)]
    assert tiers[2][:2] == (2, "graph+proxies")
    assert "proxy:wiki" in {s.name for s in result.trace.strategies}
    assert "kb-1" in {h.memory_id for h in result.hits}
    assert server.state.paths() == ["/search"]
    assert result.trace.tiers[2].store_calls >= 3
    if not tiers[2][2]:
        assert any("no tier reached min_results=3" in note for note in result.trace.notes)


async def test_tier_two_adds_graph_expansion_for_named_entities(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_config(tmp_path, min_results=5, min_score=0.99)) as memory:
        await memory.retain_many([{"content": text, "bank_id": "notes"} for text in NOTES])
        result = await memory.recall("Where does Gina walk Pixel?", bank_id="notes", max_results=5)
        only_graph = await memory.recall("Gina", bank_id="notes", strategies=["graph"])
    assert [t.tier for t in result.trace.tiers] == [0, 1, 2]
    assert "graph" in {s.name for s in result.trace.strategies}
    assert any("graph" in h.strategies for h in result.hits)
    assert [t.tier for t in only_graph.trace.tiers] == [0, 2]  # nothing for tier 1 to run


async def test_tier_three_rewrites_and_reranks_with_the_llm(tmp_path: Path, server: LLMServer) -> None:
    async with Astrocyte.from_config(
        _config(tmp_path, server, llm=True, min_results=5, min_score=0.99)
    ) as memory:
        await memory.retain_many([{"content": text, "bank_id": "notes"} for text in NOTES])
        result = await memory.recall("canine companion of Gina", bank_id="notes", max_results=5)
    assert [t.tier for t in result.trace.tiers] == [0, 1, 2, 3]
    tier3 = result.trace.tiers[3]
    assert tier3.llm_calls == 2 and tier3.sufficient
    assert tier3.store_calls >= 2  # the rewritten query searched again (vector, full text...)
    chats = [r for r in server.state.received if r.path == "/v1/chat/completions"]
    assert len(chats) == 2
    assert chats[0].body["messages"][1]["content"] == "canine companion of Gina"  # the rewrite request
    assert "Memories:\n[1] " in chats[1].body["messages"][1]["content"]  # the rerank request
    assert any(note.startswith("tier 3 rewrote the query to") for note in result.trace.notes)
    assert len(result.hits) == 5


async def test_max_tier_caps_escalation(tmp_path: Path, server: LLMServer) -> None:
    async with Astrocyte.from_config(
        _config(tmp_path, server, llm=True, max_tier=1, min_score=0.99)
    ) as memory:
        await memory.retain_many([{"content": text, "bank_id": "notes"} for text in NOTES])
        result = await memory.recall("canine companion of Gina", bank_id="notes")
    assert [t.tier for t in result.trace.tiers] == [0, 1]
    assert server.state.received == []


async def test_cache_serves_repeats_and_never_a_forgotten_memory(memory: Astrocyte) -> None:
    first = await memory.recall("Gina beagle Pixel", bank_id="notes", max_results=5)
    again = await memory.recall("  gina   BEAGLE pixel? ", bank_id="notes", max_results=5)
    assert _tiers(again) == [(0, "cache", True)]
    assert [h.memory_id for h in again.hits] == [h.memory_id for h in first.hits]

    forgotten = first.hits[0].memory_id
    await memory.forget(bank_id="notes", memory_ids=[forgotten])
    after = await memory.recall("Gina beagle Pixel", bank_id="notes", max_results=5)
    assert forgotten not in {h.memory_id for h in after.hits}
    assert after.trace.tiers[0].note == "miss"

    new = await memory.retain("Pixel the beagle learned to fetch for Gina.", bank_id="notes")
    fresh = await memory.recall("Gina beagle Pixel", bank_id="notes", max_results=5)
    assert fresh.trace.tiers[0].note == "miss"
    assert new.memory_ids[0] in {h.memory_id for h in fresh.hits}

    await memory.forget(bank_id="notes", all=True)
    emptied = await memory.recall("Gina beagle Pixel", bank_id="notes", max_results=5)
    assert [h for h in emptied.hits if h.bank_id == "notes"] == []  # only the proxy's hit is left


async def test_a_write_to_another_bank_keeps_the_cache(memory: Astrocyte) -> None:
    await memory.recall("Gina beagle Pixel", bank_id="notes")
    await memory.retain("Unrelated bank content.", bank_id="elsewhere")
    assert _tiers(await memory.recall("Gina beagle Pixel", bank_id="notes")) == [(0, "cache", True)]
    different = await memory.recall("Gina beagle Pixel", bank_id="notes", max_results=3)
    assert different.trace.tiers[0].note == "miss"  # another max_results is another request


def test_cache_refuses_a_result_computed_across_a_write() -> None:
    now = [0.0]
    cache = RecallCache(RecallCacheSettings(max_entries=2, ttl_seconds=10), clock=lambda: now[0])
    request = RecallRequest(query="q", bank_id="b")
    key = RecallCache.key(request, ["b"], None, None)
    assert key is not None
    result = RecallResult(hits=[])
    before = cache.generations(["b"])
    cache.invalidate("b")  # a forget finished while the recall ran
    cache.put(key, ["b"], before, result)
    assert cache.get(key) is None
    cache.put(key, ["b"], cache.generations(["b"]), result)
    assert cache.get(key) == result
    now[0] = 11.0
    assert cache.get(key) is None  # expired
    for index in range(3):  # bounded: the oldest entry goes first
        other = RecallCache.key(request.model_copy(update={"query": f"q{index}"}), ["b"], None, None)
        assert other is not None
        cache.put(other, ["b"], cache.generations(["b"]), result)
    assert (
        len(
            [
                k
                for k in (
                    RecallCache.key(request.model_copy(update={"query": f"q{i}"}), ["b"], None, None)
                    for i in range(3)
                )
                if k and cache.get(k)
            ]
        )
        == 2
    )
    assert (
        RecallCache.key(request.model_copy(update={"external_context": [{"text": "x"}]}), ["b"], None, None)
        is None
    )


async def test_cache_can_be_switched_off(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_config(tmp_path, cache={"max_entries": 0})) as memory:
        await memory.retain("Gina adopted a beagle.", bank_id="notes")
        await memory.recall("Gina beagle", bank_id="notes")
        result = await memory.recall("Gina beagle", bank_id="notes")
    assert [t.tier for t in result.trace.tiers] == [1, 2]  # no tier 0 at all


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"min_score": 1.5}, "tiered_retrieval.min_score: Input should be less than or equal to 1"),
        ({"max_tier": 4}, "tiered_retrieval.max_tier: Input should be less than or equal to 3"),
        (
            {"cache": {"ttl": 3}},
            "unknown key 'tiered_retrieval.cache.ttl' (valid keys in tiered_retrieval.cache: max_entries, ttl_seconds)",
        ),
    ],
)
def test_invalid_tiered_config_names_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"tiered_retrieval": section})
    assert message in str(raised.value)

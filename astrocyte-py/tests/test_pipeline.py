"""The Tier-1 pipeline end to end on real stores (in-memory and SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from astrocyte import Astrocyte, InvalidRequestError, StoreError
from astrocyte._facade import SyncAstrocyte
from astrocyte.types import MemoryHit, RecallResult

CONVERSATION = [
    ("Caroline", "I went to a LGBTQ support group yesterday and it was so powerful.", "2023-05-08"),
    ("Melanie", "That's great! I painted a sunrise over the lake last weekend.", "2023-05-08"),
    ("Caroline", "I'm researching adoption agencies, I want to give a kid a loving home.", "2023-05-25"),
    ("Melanie", "We are going camping in the mountains in June with the kids.", "2023-05-25"),
    ("Caroline", "I moved from Sweden four years ago, my friends here are like family.", "2023-06-09"),
]


def _sqlite_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    db = str(tmp_path / "memory.db")
    return {
        "vector_store": "sqlite",
        "vector_store_config": {"path": db},
        "document_store": "sqlite",
        "document_store_config": {"path": db},
        "graph_store": "sqlite",
        "graph_store_config": {"path": db},
        **extra,
    }


@pytest.fixture(params=["memory", "sqlite"])
async def memory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Astrocyte]:
    config = {"profile": "minimal"} if request.param == "memory" else _sqlite_config(tmp_path)
    async with Astrocyte.from_config(config) as instance:
        yield instance


async def _seed(memory: Astrocyte, bank: str = "b1") -> list[str]:
    ids: list[str] = []
    for speaker, text, day in CONVERSATION:
        result = await memory.retain(
            f"{speaker}: {text}",
            bank_id=bank,
            content_type="conversation",
            occurred_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
            tags=["chat", speaker.lower()],
            metadata={"speaker": speaker},
        )
        ids.extend(result.memory_ids)
    return ids


async def test_retain_then_recall_finds_the_memory_with_trace(memory: Astrocyte) -> None:
    await _seed(memory)
    result = await memory.recall("Which agencies is Caroline researching?", bank_id="b1", max_results=3)
    assert "adoption agencies" in result.hits[0].text
    assert result.hits[0].metadata["_speakers"] == ["Caroline"]
    names = {s.name for s in result.trace.strategies}
    assert {"vector", "fulltext", "graph"} <= names
    assert all(s.duration_ms >= 0 for s in result.trace.strategies)
    assert set(result.hits[0].strategies) <= names | {"neighbor"}
    assert result.trace.total_ms > 0


async def test_recall_hits_are_the_dtos_validation_would_build(memory: Astrocyte) -> None:
    # The pipeline assembles hits without re-validating them; they must not differ from validated ones.
    await _seed(memory)
    for strategies in (["vector"], None):
        result = await memory.recall("Where did Caroline move from?", bank_id="b1", strategies=strategies)
        assert result.hits
        for hit in result.hits:
            validated = MemoryHit.model_validate(hit.model_dump())
            assert hit == validated
            assert hit.model_fields_set == validated.model_fields_set
            assert hit.model_dump_json() == validated.model_dump_json()
            copied = hit.model_copy(update={"score": hit.score + 1.0})
            assert (copied.score, copied.memory_id) == (hit.score + 1.0, hit.memory_id)
        assert RecallResult.model_validate_json(result.model_dump_json()) == result


async def test_temporal_query_is_grounded(memory: Astrocyte) -> None:
    await _seed(memory)
    now = datetime(2023, 7, 1, tzinfo=UTC)
    result = await memory.recall("what happened on 9 June, 2023?", bank_id="b1", now=now)
    temporal = next(s for s in result.trace.strategies if s.name == "temporal")
    assert temporal.hit_ids, "the temporal strategy should find the memory of that day"
    sweden = next(h for h in result.hits if h.text.startswith("Caroline: I moved from Sweden"))
    assert "temporal" in sweden.strategies
    assert sweden.memory_id == temporal.hit_ids[0]
    assert any("temporal" in note for note in result.trace.notes)


async def test_tag_and_time_filters_are_hard(memory: Astrocyte) -> None:
    await _seed(memory)
    result = await memory.recall("kids", bank_id="b1", tags=["melanie"])
    assert result.hits and all("melanie" in h.tags for h in result.hits)
    window = {"start": "2023-05-20T00:00:00Z", "end": "2023-05-30T00:00:00Z"}
    result = await memory.recall("adoption camping support", bank_id="b1", time_range=window)
    assert {h.occurred_at.date().isoformat() for h in result.hits if h.occurred_at} == {"2023-05-25"}


async def test_graph_hits_obey_tag_and_time_filters(memory: Astrocyte) -> None:
    # The graph reaches memories through the entity "Caroline", not through the filters.
    await memory.retain("Caroline paints on Sundays.", bank_id="g", tags=["hobby"])
    await memory.retain("Caroline moved from Sweden.", bank_id="g", tags=["history"])
    result = await memory.recall("Caroline", bank_id="g", tags=["hobby"], strategies=["graph"])
    assert [h.text for h in result.hits] == ["Caroline paints on Sundays."]
    unfiltered = await memory.recall("Caroline", bank_id="g", strategies=["graph"])
    assert len(unfiltered.hits) == 2
    window = {"start": "2001-01-01T00:00:00Z", "end": "2001-12-31T00:00:00Z"}
    assert (await memory.recall("Caroline", bank_id="g", time_range=window, strategies=["graph"])).hits == []


async def test_bank_isolation_and_multi_bank_recall(memory: Astrocyte) -> None:
    await _seed(memory, "b1")
    await memory.retain("Zed keeps bees on the roof.", bank_id="b2")
    assert not any("bees" in h.text for h in (await memory.recall("bees roof", bank_id="b1")).hits)
    both = await memory.recall("bees roof adoption", bank_ids=["b1", "b2"], max_results=10)
    assert {h.bank_id for h in both.hits} == {"b1", "b2"}
    assert sorted(await memory.banks()) == ["b1", "b2"]


async def test_near_duplicate_is_reported_not_stored(memory: Astrocyte) -> None:
    first = await memory.retain("Bob likes green tea in the morning.", bank_id="d")
    second = await memory.retain("Bob likes green tea in the morning!", bank_id="d")
    assert second.memory_ids == []
    assert second.duplicate_of == {"0": first.memory_ids[0]}
    third = await memory.retain("Bob hates coffee at night.", bank_id="d")
    assert third.memory_ids and not third.duplicate_of


async def test_deduplicate_false_keeps_every_repeat(memory: Astrocyte) -> None:
    first = await memory.retain("ok", bank_id="log", deduplicate=False)
    second = await memory.retain("ok", bank_id="log", deduplicate=False)
    batch = await memory.retain_many([{"content": "ok", "bank_id": "log", "deduplicate": False}] * 2)
    ids = [*first.memory_ids, *second.memory_ids, *(i for r in batch for i in r.memory_ids)]
    assert len(set(ids)) == 4 and not second.duplicate_of
    assert len((await memory.recall("ok", bank_id="log", max_results=10)).hits) == 4


async def test_idempotency_key_makes_retain_a_no_op(memory: Astrocyte) -> None:
    first = await memory.retain("Alice moved to Lisbon.", bank_id="i", idempotency_key="msg-1")
    again = await memory.retain("Alice moved to Lisbon.", bank_id="i", idempotency_key="msg-1")
    assert again.idempotent_replay
    assert again.memory_ids == first.memory_ids
    hits = (await memory.recall("Lisbon", bank_id="i")).hits
    assert len(hits) == 1


async def test_forget_by_ids_tags_time_and_bank_reaches_every_store(memory: Astrocyte) -> None:
    ids = await _seed(memory)
    gone = await memory.forget(bank_id="b1", memory_ids=[ids[2]])
    assert gone.deleted_count == 1
    assert set(gone.per_store) == {"vector", "document", "graph"}
    for strategies in (["vector"], ["fulltext"], ["graph"], None):
        result = await memory.recall("Caroline adoption agencies", bank_id="b1", strategies=strategies)
        assert ids[2] not in {h.memory_id for h in result.hits}
    by_tag = await memory.forget(bank_id="b1", tags=["melanie"])
    assert by_tag.deleted_count == 2
    window = {"start": "2023-06-01T00:00:00Z", "end": "2023-07-01T00:00:00Z"}
    assert (await memory.forget(bank_id="b1", time_range=window)).deleted_count == 1
    everything = await memory.forget(bank_id="b1", all=True)
    assert everything.deleted_count == 1
    assert (await memory.recall("Caroline", bank_id="b1")).hits == []
    with pytest.raises(InvalidRequestError, match="name what to forget"):
        await memory.forget(bank_id="b1")


async def test_token_budget_truncates_and_reports(memory: Astrocyte) -> None:
    await _seed(memory)
    full = await memory.recall("Caroline Melanie", bank_id="b1", max_results=5)
    budget = sum(1 for _ in full.hits[:1]) * 25
    small = await memory.recall("Caroline Melanie", bank_id="b1", max_results=5, max_tokens=budget)
    assert len(small.hits) < len(full.hits)
    assert small.trace.truncated
    assert 0 < small.trace.tokens_used <= budget


async def test_reflect_cites_the_memories_it_used(memory: Astrocyte) -> None:
    ids = await _seed(memory)
    result = await memory.reflect("Where did Caroline move from?", bank_id="b1")
    assert "Sweden" in result.answer
    assert result.synthesis == "extractive"
    assert ids[4] in result.cited_memory_ids
    assert set(result.cited_memory_ids) <= set(ids)
    empty = await memory.reflect("anything?", bank_id="nobody")
    assert empty.cited_memory_ids == []


async def test_external_context_is_fused(memory: Astrocyte) -> None:
    await _seed(memory)
    result = await memory.recall(
        "camping",
        bank_id="b1",
        external_context=[{"text": "Camping gear list: tent, stove.", "source": "notes"}],
    )
    assert any("external" in h.strategies for h in result.hits)


async def test_bad_requests_raise_typed_errors(memory: Astrocyte) -> None:
    with pytest.raises(InvalidRequestError, match="bank_id"):
        await memory.retain("text", bank_id="")
    with pytest.raises(InvalidRequestError, match="content"):
        await memory.retain("   ", bank_id="x")
    with pytest.raises(InvalidRequestError, match="strategies"):
        await memory.recall("q", bank_id="x", strategies=["psychic"])
    with pytest.raises(InvalidRequestError, match="bank_id"):
        await memory.recall("q")


async def test_failed_store_leaves_no_half_written_memory(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite_config(tmp_path)) as memory:
        await memory.retain("Kept before the failure.", bank_id="f")
        assert memory.stores.graph is not None
        await memory.stores.graph.close()  # a real store that now fails on every call
        with pytest.raises(StoreError, match="graph"):
            await memory.retain("Alice visited Paris with Bob.", bank_id="f")
        texts = [item.text for item in await memory.stores.vector.list_vectors("f")]
        assert texts == ["Kept before the failure."]
        assert memory.stores.document is not None
        hits = await memory.stores.document.search_fulltext("Paris", "f")
        assert hits == []


async def test_pii_redact_keeps_raw_values_out_of_every_store(tmp_path: Path) -> None:
    config = _sqlite_config(tmp_path, pii={"action": "redact"})
    async with Astrocyte.from_config(config) as memory:
        await memory.retain("Reach me at jane@example.com or card 4111 1111 1111 1111.", bank_id="p")
        stored = (await memory.stores.vector.list_vectors("p"))[0].text
        assert "jane@example.com" not in stored and "[REDACTED:email]" in stored
        assert memory.stores.document is not None
        assert await memory.stores.document.search_fulltext("jane", "p") == []
    raw = (tmp_path / "memory.db").read_bytes()
    assert b"jane@example.com" not in raw


async def test_pii_reject(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite_config(tmp_path, pii={"action": "reject"})) as memory:
        with pytest.raises(InvalidRequestError, match="PII"):
            await memory.retain("my ssn is 123-45-6789", bank_id="p")
        assert await memory.banks() == []


def test_sync_twin(tmp_path: Path) -> None:
    with SyncAstrocyte.from_config(_sqlite_config(tmp_path)) as memory:
        memory.retain("Bob likes green tea.", bank_id="s")
        assert "green tea" in memory.recall("tea", bank_id="s").hits[0].text
        assert memory.banks() == ["s"]


async def test_retain_stamps_when_each_memory_was_written(memory: Astrocyte) -> None:
    before = datetime.now(UTC)
    result = await memory.retain("Melanie signed up for a pottery class.", bank_id="stamped")
    [item] = await memory.stores.vector.list_vectors("stamped")
    assert item.id == result.memory_ids[0]
    written = datetime.fromisoformat(str(item.metadata["_retained_at"]))
    assert before <= written <= datetime.now(UTC)

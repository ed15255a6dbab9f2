"""CrewAI: the ``StorageBackend`` driven by CrewAI's own unified ``Memory`` (explicit scope, categories
and importance and shallow recall need no LLM), and through the protocol directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from _frameworks import FACTS
from crewai.memory.storage.backend import StorageBackend
from crewai.memory.types import MemoryRecord
from crewai.memory.unified_memory import Memory

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext, SyncAstrocyte
from astrocyte.errors import DimensionMismatchError
from astrocyte.integrations import SyncCallError
from astrocyte.integrations.crewai import AstrocyteStorage

pytestmark = pytest.mark.backend("sqlite")


@pytest.fixture
def storage(sync_memory: SyncAstrocyte) -> AstrocyteStorage:
    return AstrocyteStorage(sync_memory, bank_id="crew")


@pytest.fixture
def crew_memory(storage: AstrocyteStorage) -> Iterator[Memory]:
    memory = Memory(storage=storage, embedder=storage.embedder)
    yield memory
    memory.close()


def _record(content: str, scope: str = "/", **fields: object) -> MemoryRecord:
    return MemoryRecord(content=content, scope=scope, **fields)  # type: ignore[arg-type]


def test_it_is_a_storage_backend(storage: AstrocyteStorage) -> None:
    assert isinstance(storage, StorageBackend)


def test_crewai_memory_remembers_and_recalls_through_astrocyte(
    crew_memory: Memory, sync_memory: SyncAstrocyte
) -> None:
    for fact, scope in zip(FACTS, ["/people/alice", "/people/bob", "/work"], strict=True):
        record = crew_memory.remember(fact, scope=scope, categories=["fact"], importance=0.6)
        assert record is not None and record.scope == scope
    matches = crew_memory.recall("What does Bob drink? green tea", depth="shallow", limit=2)
    assert matches and "green tea" in matches[0].record.content
    scoped = crew_memory.recall("Lisbon marine biologist", scope="/people", depth="shallow")
    assert {m.record.scope for m in scoped} <= {"/people/alice", "/people/bob"}
    assert crew_memory.list_scopes("/") == ["/people", "/work"]
    assert crew_memory.list_scopes("/people") == ["/people/alice", "/people/bob"]
    info = crew_memory.info("/people")
    assert info.record_count == 2 and info.categories == ["fact"]
    # the records are Astrocyte memories: recall (fused strategies) finds them too
    assert "Lisbon" in sync_memory.recall("Where does Alice live?", bank_id="crew").hits[0].text
    crew_memory.forget(scope="/people/bob")
    assert crew_memory.list_scopes("/people") == ["/people/alice"]
    crew_memory.reset()
    assert crew_memory.list_records() == []


def test_protocol_round_trip_update_and_filters(storage: AstrocyteStorage) -> None:
    old = _record("Quarterly review in Porto.", "/work", categories=["meeting"], metadata={"team": "a"})
    new = _record("Standup at nine.", "/work/daily", categories=["ritual"], metadata={"team": "b"})
    storage.save([old, new])
    assert storage.count() == 2 and storage.count("/work/daily") == 1
    assert storage.get_record(old.id) == old
    assert storage.list_categories() == {"meeting": 1, "ritual": 1}
    assert [r.id for r in storage.list_records("/work")] == [new.id, old.id]  # newest first
    query = storage.embedder(["review Porto"])[0]
    assert storage.search(query, limit=1)[0][0].id == old.id
    assert [r.id for r, _ in storage.search(query, categories=["ritual"])] == [new.id]
    assert [r.id for r, _ in storage.search(query, metadata_filter={"team": "b"})] == [new.id]
    assert all(0.0 <= s <= 1.0 for _, s in storage.search(query))
    changed = old.model_copy(update={"content": "Quarterly review moved to Braga."})
    storage.update(changed)
    assert storage.get_record(old.id) == changed and storage.count() == 2


def test_delete_by_ids_scope_category_and_age(storage: AstrocyteStorage) -> None:
    week_ago = datetime.utcnow() - timedelta(days=7)
    records = [
        _record("a", "/x", categories=["keep"]),
        _record("b", "/x", categories=["drop"]),
        _record("c", "/y", created_at=week_ago),
        _record("d", "/y"),
    ]
    storage.save(records)
    assert storage.delete(record_ids=[records[0].id]) == 1
    assert storage.delete(scope_prefix="/x", categories=["drop"]) == 1
    assert storage.delete(older_than=datetime.utcnow() - timedelta(days=1)) == 1
    assert [r.content for r in storage.list_records()] == ["d"]


async def test_async_protocol_over_async_astrocyte(memory: Astrocyte) -> None:
    storage = AstrocyteStorage(memory, bank_id="crew")
    record = _record("Bob keeps bees on the roof.", "/bob")
    await storage.asave([record])
    vector = (await memory.stores.embedder.embed(["bees roof"]))[0]
    assert (await storage.asearch(vector))[0][0].id == record.id
    assert await storage.adelete(scope_prefix="/bob") == 1
    with pytest.raises(SyncCallError, match="SyncAstrocyte"):
        storage.count()


def test_foreign_vectors_are_rejected_with_the_fix(storage: AstrocyteStorage) -> None:
    with pytest.raises(DimensionMismatchError, match=r"embedder=storage\.embedder"):
        storage.search([0.1] * 3)


def test_context_is_enforced(sync_memory: SyncAstrocyte) -> None:
    storage = AstrocyteStorage(
        sync_memory, bank_id="user-bob", context=AstrocyteContext(principal="user:alice")
    )
    with pytest.raises(AccessDeniedError):
        storage.save([_record("sneaky")])
    with pytest.raises(AccessDeniedError):
        storage.count()

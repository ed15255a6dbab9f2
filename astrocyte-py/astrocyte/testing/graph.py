"""The contract every :class:`~astrocyte.provider.GraphStore` must pass."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest

from astrocyte.provider import SUPPORTED_SPI_VERSIONS, GraphStore
from astrocyte.testing._data import UNICODE_BANK, canonical
from astrocyte.types import Entity, EntityLink, GraphHit, MemoryEntityAssociation

__all__ = ["GraphStoreContract"]

_BANK = "bank-a"
_OTHER = "bank-b"
#: The chain alice -> acme -> berlin -> germany; each entity is mentioned by memory "m-<entity>".
_CHAIN = ("alice", "acme", "berlin", "germany")


def _assoc(memory_id: str, entity_id: str) -> MemoryEntityAssociation:
    return MemoryEntityAssociation(memory_id=memory_id, entity_id=entity_id)


def _assert_ranked(hits: list[GraphHit]) -> None:
    scores = [h.score for h in hits]
    assert all(0.0 <= s <= 1.0 for s in scores), scores
    assert scores == sorted(scores, reverse=True), scores
    assert len({h.memory_id for h in hits}) == len(hits), "a memory must be returned at most once"


async def _build_chain(store: GraphStore, bank: str = _BANK) -> None:
    await store.store_entities([Entity(id=e, name=e.title()) for e in _CHAIN], bank)
    links = [EntityLink(source_id=a, target_id=b, relation="next") for a, b in pairwise(_CHAIN)]
    assert await store.store_links(links, bank) == 3
    assert await store.link_memories_to_entities([_assoc(f"m-{e}", e) for e in _CHAIN], bank) == 4


async def _build_star(store: GraphStore, weights: dict[str, float]) -> None:
    """A hub linked to one spoke per weight; each spoke is mentioned by memory ``m-<spoke>``."""
    await store.store_entities([Entity(id=e, name=e) for e in ["hub", *weights]], _BANK)
    await store.store_links(
        [EntityLink(source_id="hub", target_id=s, weight=w) for s, w in weights.items()], _BANK
    )
    await store.link_memories_to_entities([_assoc(f"m-{s}", s) for s in weights], _BANK)


class GraphStoreContract:
    """Subclass and provide a ``store`` fixture yielding a fresh, empty graph store."""

    @pytest.fixture
    def store(self) -> GraphStore:
        pytest.fail("subclass GraphStoreContract and define a `store` fixture yielding a fresh, empty store")

    # ----------------------------------------------------------------- identity and health

    async def test_conforms_to_protocol(self, store: GraphStore) -> None:
        assert isinstance(store, GraphStore)
        assert store.SPI_VERSION in SUPPORTED_SPI_VERSIONS

    async def test_health_reports_healthy(self, store: GraphStore) -> None:
        status = await store.health()
        assert status.healthy, status.message

    async def test_empty_writes_are_no_ops(self, store: GraphStore) -> None:
        assert await store.store_entities([], _BANK) == []
        assert await store.store_links([], _BANK) == 0
        assert await store.link_memories_to_entities([], _BANK) == 0
        assert await store.delete_memories([], _BANK) == 0
        assert await store.query_entities("anything", _BANK) == []

    # ----------------------------------------------------------------- entities

    async def test_entity_round_trip(self, store: GraphStore) -> None:
        entity = Entity(
            id="e1",
            name="Alice Smith",
            entity_type="person",
            aliases=["Ally"],
            metadata={"src": "chat", "n": 2},
        )
        assert await store.store_entities([entity], _BANK) == ["e1"]
        found = await store.query_entities("Alice Smith", _BANK)
        assert [e.id for e in found] == ["e1"]
        assert (found[0].name, found[0].entity_type, found[0].aliases) == ("Alice Smith", "person", ["Ally"])
        assert canonical(found[0].metadata) == canonical(entity.metadata)

    async def test_restored_entity_merges_aliases(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id="e1", name="Robert", aliases=["Bob"])], _BANK)
        assert await store.store_entities([Entity(id="e1", name="Robert", aliases=["Rob"])], _BANK) == ["e1"]
        for query in ("robert", "BOB", "Rob"):
            found = await store.query_entities(query, _BANK)
            assert [e.id for e in found] == ["e1"], query
        merged = (await store.query_entities("robert", _BANK))[0]
        assert {"bob", "rob"} <= {a.casefold() for a in merged.aliases}

    async def test_query_entities_matches_name_and_alias_case_insensitively(self, store: GraphStore) -> None:
        await store.store_entities(
            [
                Entity(id="zoe", name="Zoë Ångström", aliases=["東京太郎"]),
                Entity(id="ibm", name="IBM", aliases=["International Business Machines"]),
            ],
            _BANK,
        )
        assert [e.id for e in await store.query_entities("ZOË ÅNGSTRÖM", _BANK)] == ["zoe"]
        assert [e.id for e in await store.query_entities("zoë ångström", _BANK)] == ["zoe"]
        assert [e.id for e in await store.query_entities("東京太郎", _BANK)] == ["zoe"]
        assert [e.id for e in await store.query_entities("international business machines", _BANK)] == ["ibm"]
        assert await store.query_entities("nobody at all", _BANK) == []

    async def test_query_entities_puts_the_exact_match_first(self, store: GraphStore) -> None:
        await store.store_entities(
            [
                Entity(id="annabel", name="Annabel"),
                Entity(id="ann", name="Ann"),
                Entity(id="joanna", name="Joanna"),
            ],
            _BANK,
        )
        found = await store.query_entities("ann", _BANK)
        assert found[0].id == "ann"
        assert len({e.id for e in found}) == len(found)

    async def test_query_entities_honours_limit(self, store: GraphStore) -> None:
        await store.store_entities(
            [Entity(id=f"n{i}", name=f"Node {i}", aliases=["node"]) for i in range(15)], _BANK
        )
        assert len(await store.query_entities("node", _BANK, limit=5)) == 5
        assert len(await store.query_entities("node", _BANK, limit=50)) == 15

    # ----------------------------------------------------------------- links and associations

    async def test_link_memories_counts_only_new_associations(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id="e1", name="One"), Entity(id="e2", name="Two")], _BANK)
        assert await store.link_memories_to_entities([_assoc("m1", "e1"), _assoc("m2", "e1")], _BANK) == 2
        assert await store.link_memories_to_entities([_assoc("m1", "e1"), _assoc("m1", "e2")], _BANK) == 1
        assert await store.link_memories_to_entities([_assoc("m1", "e1")], _BANK) == 0
        hits = await store.query_neighbors(["e1"], _BANK, max_depth=0)
        assert sorted(h.memory_id for h in hits) == ["m1", "m2"]

    async def test_store_links_upserts_by_source_target_relation(self, store: GraphStore) -> None:
        await _build_star(store, {"strong": 1.0, "weak": 0.5})
        assert [h.memory_id for h in await store.query_neighbors(["hub"], _BANK, max_depth=1)] == [
            "m-strong",
            "m-weak",
        ]
        assert (
            await store.store_links([EntityLink(source_id="hub", target_id="strong", weight=0.1)], _BANK) == 1
        )
        hits = await store.query_neighbors(["hub"], _BANK, max_depth=1)
        assert [h.memory_id for h in hits] == [
            "m-weak",
            "m-strong",
        ]  # re-stored link replaced, not duplicated

    # ----------------------------------------------------------------- neighbours

    async def test_depth_zero_returns_memories_mentioning_the_entity(self, store: GraphStore) -> None:
        await _build_chain(store)
        hits = await store.query_neighbors(["alice"], _BANK, max_depth=0)
        assert [(h.memory_id, h.entity_id, h.depth) for h in hits] == [("m-alice", "alice", 0)]
        _assert_ranked(hits)

    async def test_depth_is_bounded_by_max_depth(self, store: GraphStore) -> None:
        await _build_chain(store)
        one = await store.query_neighbors(["alice"], _BANK, max_depth=1)
        assert [(h.memory_id, h.entity_id, h.depth) for h in one] == [
            ("m-alice", "alice", 0),
            ("m-acme", "acme", 1),
        ]
        two = await store.query_neighbors(["alice"], _BANK, max_depth=2)
        assert [(h.memory_id, h.depth) for h in two] == [("m-alice", 0), ("m-acme", 1), ("m-berlin", 2)]
        default = await store.query_neighbors(["alice"], _BANK)
        assert [h.memory_id for h in default] == ["m-alice", "m-acme", "m-berlin"]  # default max_depth is 2
        assert "m-germany" not in {h.memory_id for h in default}

    async def test_nearer_memories_score_higher(self, store: GraphStore) -> None:
        await _build_chain(store)
        hits = await store.query_neighbors(["alice"], _BANK, max_depth=2)
        _assert_ranked(hits)
        assert hits[0].score > hits[1].score > hits[2].score

    async def test_links_are_followed_in_both_directions(self, store: GraphStore) -> None:
        await _build_chain(store)
        hits = await store.query_neighbors(["germany"], _BANK, max_depth=1)
        assert [(h.memory_id, h.depth) for h in hits] == [("m-germany", 0), ("m-berlin", 1)]

    async def test_heavier_links_rank_higher(self, store: GraphStore) -> None:
        await _build_star(store, {"light": 0.2, "heavy": 1.0, "medium": 0.6})
        hits = await store.query_neighbors(["hub"], _BANK, max_depth=1)
        assert [h.memory_id for h in hits] == ["m-heavy", "m-medium", "m-light"]
        _assert_ranked(hits)

    async def test_memory_reached_twice_is_returned_once_at_its_best(self, store: GraphStore) -> None:
        await _build_chain(store)
        await store.link_memories_to_entities([_assoc("m-both", "alice"), _assoc("m-both", "acme")], _BANK)
        hits = await store.query_neighbors(["alice"], _BANK, max_depth=1)
        _assert_ranked(hits)
        both = [h for h in hits if h.memory_id == "m-both"]
        assert len(both) == 1
        assert (both[0].depth, both[0].entity_id) == (0, "alice")

    async def test_several_query_entities(self, store: GraphStore) -> None:
        await _build_chain(store)
        hits = await store.query_neighbors(["alice", "germany"], _BANK, max_depth=0)
        assert sorted(h.memory_id for h in hits) == ["m-alice", "m-germany"]

    async def test_neighbour_limit_is_honoured(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id="e", name="Everyone")], _BANK)
        await store.link_memories_to_entities([_assoc(f"m{i}", "e") for i in range(30)], _BANK)
        assert len(await store.query_neighbors(["e"], _BANK, limit=5)) == 5
        assert len(await store.query_neighbors(["e"], _BANK, limit=100)) == 30

    async def test_unknown_entities_and_banks_yield_nothing(self, store: GraphStore) -> None:
        await _build_chain(store)
        assert await store.query_neighbors(["nobody"], _BANK) == []
        assert await store.query_neighbors([], _BANK) == []
        assert await store.query_neighbors(["alice"], "no-such-bank") == []
        assert await store.query_entities("Alice", "no-such-bank") == []
        assert await store.delete_memories(["m-alice"], "no-such-bank") == 0

    # ----------------------------------------------------------------- forgetting

    async def test_delete_memories_counts_and_forgets(self, store: GraphStore) -> None:
        await _build_chain(store)
        await store.link_memories_to_entities([_assoc("m-alice-2", "alice")], _BANK)
        assert await store.delete_memories(["m-alice", "m-acme", "ghost"], _BANK) == 2
        hits = await store.query_neighbors(["alice"], _BANK, max_depth=2)
        ids = {h.memory_id for h in hits}
        assert "m-alice" not in ids
        assert "m-acme" not in ids
        assert "m-alice-2" in ids  # the entity is still mentioned by another memory
        assert await store.delete_memories(["m-alice"], _BANK) == 0

    async def test_forgotten_memory_never_returns_from_any_entity(self, store: GraphStore) -> None:
        await _build_chain(store)
        await store.delete_memories(["m-berlin"], _BANK)
        for entity in _CHAIN:
            hits = await store.query_neighbors([entity], _BANK, max_depth=3)
            assert "m-berlin" not in {h.memory_id for h in hits}, entity

    # ----------------------------------------------------------------- bank isolation

    async def test_bank_isolation(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id="e1", name="Apple")], _BANK)
        await store.store_entities([Entity(id="e1", name="Banana"), Entity(id="e2", name="Cherry")], _OTHER)
        await store.store_links([EntityLink(source_id="e1", target_id="e2")], _OTHER)
        await store.link_memories_to_entities([_assoc("m1", "e1")], _BANK)
        await store.link_memories_to_entities([_assoc("m1", "e1"), _assoc("m2", "e2")], _OTHER)

        assert await store.query_entities("Banana", _BANK) == []
        assert [e.name for e in await store.query_entities("Apple", _BANK)] == ["Apple"]
        assert [h.memory_id for h in await store.query_neighbors(["e1"], _BANK)] == ["m1"]  # no link from B
        assert await store.query_neighbors(["e2"], _BANK) == []

        assert await store.delete_memories(["m1", "m2"], _BANK) == 1
        other = await store.query_neighbors(["e1"], _OTHER, max_depth=1)
        assert sorted(h.memory_id for h in other) == ["m1", "m2"]
        assert [e.name for e in await store.query_entities("banana", _OTHER)] == ["Banana"]

    async def test_unicode_bank_and_names(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id="東京", name="東京", aliases=["Tōkyō 🗼"])], UNICODE_BANK)
        await store.link_memories_to_entities([_assoc("mém-🧠", "東京")], UNICODE_BANK)
        assert [e.id for e in await store.query_entities("TŌKYŌ 🗼", UNICODE_BANK)] == ["東京"]
        assert [h.memory_id for h in await store.query_neighbors(["東京"], UNICODE_BANK)] == ["mém-🧠"]

    # ----------------------------------------------------------------- concurrency and scale

    async def test_concurrent_writers_lose_nothing(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id="hub", name="Hub")], _BANK)

        async def writer(task: int) -> None:
            await store.store_entities([Entity(id=f"e{task}", name=f"Entity {task}")], _BANK)
            await store.store_links([EntityLink(source_id="hub", target_id=f"e{task}")], _BANK)
            await store.link_memories_to_entities(
                [_assoc(f"w{task}-{i}", f"e{task}") for i in range(5)], _BANK
            )

        await asyncio.gather(*(writer(t) for t in range(20)))
        hits = await store.query_neighbors(["hub"], _BANK, max_depth=1, limit=1000)
        assert sorted(h.memory_id for h in hits) == sorted(f"w{t}-{i}" for t in range(20) for i in range(5))

    @pytest.mark.slow
    async def test_ten_thousand_associations_in_one_batch(self, store: GraphStore) -> None:
        await store.store_entities([Entity(id=f"e{i}", name=f"Entity {i}") for i in range(100)], _BANK)
        batch = [_assoc(f"m{i}", f"e{i % 100}") for i in range(10_000)]
        assert await store.link_memories_to_entities(batch, _BANK) == 10_000
        hits = await store.query_neighbors(["e7"], _BANK, max_depth=0, limit=1000)
        assert sorted(h.memory_id for h in hits) == sorted(f"m{i}" for i in range(7, 10_000, 100))
        assert len(await store.query_neighbors(["e7", "e8"], _BANK, limit=20)) == 20

"""Score fusion, question-word stripping, speaker boost and neighbour spreading: the pure parts
directly, then their effect end to end on the real in-memory and SQLite stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from astrocyte import Astrocyte
from astrocyte.pipeline.fusion import score_fuse
from astrocyte.pipeline.keywords import keyword_query
from astrocyte.pipeline.neighbors import Adjacent, Seed, neighbor_bonus
from astrocyte.pipeline.speakers import named_speakers, speakers_of

T0 = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- pure parts


def test_score_fusion_keeps_score_margins_that_rrf_loses() -> None:
    # "a" is far ahead in strategy x and barely behind in y: score fusion keeps it first.
    rankings = {"x": [("a", 0.95), ("b", 0.10), ("c", 0.05)], "y": [("b", 10.0), ("a", 9.8), ("c", 1.0)]}
    fused = score_fuse(rankings, {"x": 1.0, "y": 1.0}, rank_blend=0.0)
    assert [key for key, _ in fused] == ["a", "b", "c"]
    assert fused[0][1] == pytest.approx(1.0 + 8.8 / 9.0)
    assert fused[-1][1] == pytest.approx(0.0)


def test_score_fusion_weights_rank_prior_and_edge_cases() -> None:
    rankings = {"x": [("a", 1.0), ("b", 0.0)], "y": [("b", 1.0), ("a", 0.0)]}
    assert [k for k, _ in score_fuse(rankings, {"x": 1.0, "y": 2.0})] == ["b", "a"]
    assert [k for k, _ in score_fuse(rankings, {"x": 2.0, "y": 1.0})] == ["a", "b"]
    assert score_fuse(rankings, {"x": 0.0, "y": 0.0}) == []
    # Ranks only: the prior is (k + 1) / (k + rank), 1.0 at rank 1.
    [(only, score)] = score_fuse({"x": [("a", 3.0)]}, rank_blend=1.0, k=60)
    assert (only, score) == ("a", pytest.approx(1.0))
    # Equal scores normalise to 1.0, repeats count once.
    assert score_fuse({"x": [("a", 2.0), ("a", 2.0)]}) == [("a", pytest.approx(1.0))]
    with pytest.raises(ValueError, match="rank_blend"):
        score_fuse(rankings, rank_blend=1.5)


def test_keyword_query_drops_question_words_only() -> None:
    assert keyword_query("What did Caroline research about adoption?") == "Caroline research adoption"
    assert keyword_query("When did you go there?") == "go"
    assert keyword_query("What did you do?") == "What did you do?"  # nothing left: keep the query


def test_speakers_from_metadata_or_prefix_and_named_in_query() -> None:
    assert speakers_of("x", {"_speakers": ["Caroline", "Mel"]}) == ["Caroline", "Mel"]
    assert speakers_of("x", {"speaker": "Melanie"}) == ["Melanie"]
    assert speakers_of("Dr. Jo Smith: hello there", {}) == ["Dr. Jo Smith"]
    assert speakers_of("no speaker here", {}) == []
    assert named_speakers(["caroline"], {"Caroline", "Melanie"}) == {"Caroline"}
    assert named_speakers(["Jo"], {"Jo Smith"}) == {"Jo Smith"}
    assert named_speakers(["Sweden"], {"Caroline"}) == set()


def test_neighbor_bonus_decays_with_distance_takes_max_and_respects_gap() -> None:
    seeds = [Seed("s1", 1.0, T0), Seed("s2", 0.5, T0)]
    neighbors = {
        "s1": [Adjacent("n1", -1, T0), Adjacent("n2", 2, T0), Adjacent("far", 1, T0 + timedelta(days=3))],
        "s2": [Adjacent("n1", 1, T0)],
    }
    bonus = neighbor_bonus(seeds, neighbors, weight=0.4, max_gap=timedelta(hours=1))
    assert bonus == {"n1": pytest.approx(0.4), "n2": pytest.approx(0.2)}
    no_gap = neighbor_bonus(seeds, neighbors, weight=0.4, max_gap=None)
    assert no_gap["far"] == pytest.approx(0.4)


# --------------------------------------------------------------------------- end to end

# A question whose answer is the turn *after* the one that matches its words.
DIALOGUE = [
    ("Melanie", "Did you finally go to the pottery workshop downtown?"),
    ("Caroline", "Yes! I made a wobbly blue bowl and loved every minute."),
    ("Melanie", "My kids want to try painting next summer."),
    ("Caroline", "The weather was lovely for a walk today."),
    ("Melanie", "I walked the dog by the river this morning."),
]


def _config(store: str, tmp_path: Path, **recall: Any) -> dict[str, Any]:
    kinds = ("vector_store", "document_store", "graph_store")
    if store == "memory":
        stores: dict[str, Any] = {"profile": "minimal"}
    else:
        db = str(tmp_path / "m.db")
        stores = {k: "sqlite" for k in kinds} | {f"{k}_config": {"path": db} for k in kinds}
    return stores | {"retain": {"dedup_threshold": 1.0}, "recall": recall}


async def _seeded(config: dict[str, Any]) -> AsyncIterator[Astrocyte]:
    async with Astrocyte.from_config(config) as memory:
        for index, (speaker, text) in enumerate(DIALOGUE):
            await memory.retain(
                f"{speaker}: {text}",
                bank_id="b",
                content_type="conversation",
                occurred_at=T0 + timedelta(seconds=index),
                metadata={"turn": index},
            )
        # Another session days later: never a neighbour of the first one.
        await memory.retain(
            "Caroline: Off to the pottery fair again next month.",
            bank_id="b",
            content_type="conversation",
            occurred_at=T0 + timedelta(days=20),
            metadata={"turn": 99},
        )
        yield memory


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _turns(memory: Astrocyte, query: str, **fields: Any) -> list[Any]:
    result = await memory.recall(query, bank_id="b", max_results=10, **fields)
    return [hit.metadata["turn"] for hit in result.hits]


async def test_neighbour_spreading_lifts_the_answer_next_to_the_match(store: str, tmp_path: Path) -> None:
    query = "pottery workshop downtown"
    async for memory in _seeded(_config(store, tmp_path, neighbor_window=0, strategies={"vector": 0.0})):
        without = await _turns(memory, query)
    async for memory in _seeded(
        _config(store, tmp_path / "on", neighbor_window=1, strategies={"vector": 0.0})
    ):
        result = await memory.recall(query, bank_id="b", max_results=10)
        with_spreading = [hit.metadata["turn"] for hit in result.hits]
        lifted = next(hit for hit in result.hits if hit.metadata["turn"] == 1)
        assert lifted.strategies == ["neighbor"]
        assert any(note.startswith("neighbour spreading") for note in result.trace.notes)
    assert 1 not in without  # the answer shares no word with the question
    assert with_spreading[:2] == [0, 1]
    assert 99 in with_spreading  # it matched "pottery" itself…
    assert with_spreading.index(99) > with_spreading.index(1)  # …but is no neighbour of turn 0


async def test_neighbours_outside_the_request_filters_are_not_lifted(store: str, tmp_path: Path) -> None:
    config = _config(store, tmp_path, neighbor_window=1, strategies={"vector": 0.0})
    window = {"start": T0, "end": T0 + timedelta(seconds=1)}  # turn 0 only
    async for memory in _seeded(config):
        assert await _turns(memory, "pottery workshop", time_range=window) == [0]


async def test_speaker_boost_multiplies_the_named_speakers_scores(store: str, tmp_path: Path) -> None:
    """Two near-identical memories that differ only by who said them (metadata, not text)."""
    scores: dict[float, dict[str, float]] = {}
    for boost in (0.0, 3.0):
        config = _config(store, tmp_path / str(boost), speaker_boost=boost, neighbor_window=0)
        async with Astrocyte.from_config(config) as memory:
            for speaker, text in (
                ("Caroline", "I love walking by the river, honestly."),
                ("Melanie", "I love walking by the river, truly."),
            ):
                await memory.retain(text, bank_id="b", metadata={"speaker": speaker})
            result = await memory.recall("Where does Melanie love walking?", bank_id="b")
            scores[boost] = {str(h.metadata["speaker"]): h.score for h in result.hits}
            if boost:
                assert result.hits[0].metadata["speaker"] == "Melanie"
                assert "speaker boost: Melanie" in result.trace.notes
    assert scores[3.0]["Melanie"] == pytest.approx(4.0 * scores[0.0]["Melanie"])
    assert scores[3.0]["Caroline"] == pytest.approx(scores[0.0]["Caroline"])


async def test_rrf_fusion_remains_selectable(store: str, tmp_path: Path) -> None:
    weights = {"vector": 1.0, "fulltext": 2.0, "graph": 0.0, "temporal": 0.0}
    config = _config(store, tmp_path, fusion="rrf", neighbor_window=0, speaker_boost=0.0, strategies=weights)
    async for memory in _seeded(config):
        result = await memory.recall("pottery workshop downtown", bank_id="b", max_results=3)
    ranks = {run.name: run.hit_ids for run in result.trace.strategies}
    for hit in result.hits:
        expected = sum(
            weights[name] / (60 + ids.index(hit.memory_id) + 1)
            for name, ids in ranks.items()
            if hit.memory_id in ids
        )
        assert hit.score == pytest.approx(expected)
    assert result.hits[0].metadata["turn"] == 0

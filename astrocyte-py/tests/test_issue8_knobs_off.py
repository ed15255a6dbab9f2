"""A config without ``recall_authority``, ``mip`` or ``tiered_retrieval`` behaves exactly as before:
the same effective config, the same stored memories and the same recall results as the plain
recall pipeline, with none of the new fields set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from _sqlite_config import sqlite_config

from astrocyte import Astrocyte
from astrocyte.config import load_config
from astrocyte.mip import MipConfig
from astrocyte.pipeline.recall import RecallPipeline
from astrocyte.recall_settings import RecallAuthorityConfig, TieredRetrievalConfig
from astrocyte.types import RecallRequest

OLD_FILE = """\
profile: conversational
retain: {max_chunk_size: 400, chunk_overlap: 40}
recall:
  strategies: {graph: 0.5}
homeostasis: {max_recall_results: 20}
"""
NEW_KEYS = {"recall_authority", "mip", "tiered_retrieval"}


def test_old_file_loads_to_the_same_config_with_every_new_knob_off(tmp_path: Path) -> None:
    path = tmp_path / "astrocyte.yaml"
    path.write_text(OLD_FILE, encoding="utf-8")
    old = load_config(path)
    assert old.recall_authority == RecallAuthorityConfig() and not old.recall_authority.enabled
    assert old.mip == MipConfig() and not old.mip.enabled
    assert old.tiered_retrieval == TieredRetrievalConfig() and not old.tiered_retrieval.enabled
    explicit = load_config(
        {**load_config(path).model_dump(exclude=NEW_KEYS), "profile": None}
        | {
            "recall_authority": {"enabled": False},
            "mip": {"enabled": False},
            "tiered_retrieval": {"enabled": False},
        }
    )
    assert old.model_dump(exclude=NEW_KEYS | {"profile"}) == explicit.model_dump(
        exclude=NEW_KEYS | {"profile"}
    )


async def test_old_config_recalls_exactly_like_the_plain_pipeline(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path, profile="conversational")
    async with Astrocyte.from_config(config) as memory:
        retained = await memory.retain(
            "Caroline: I moved from Sweden four years ago.\nMelanie: I ran a charity race last May.",
            bank_id="conv",
            content_type="conversation",
            occurred_at=datetime(2023, 6, 9, tzinfo=UTC),
        )
        await memory.retain("Melanie paints sunsets by the lake.", bank_id="conv")
        now = datetime(2023, 7, 1, tzinfo=UTC)
        result = await memory.recall("What did Melanie do last May?", bank_id="conv", now=now)
        plain = RecallPipeline(memory.stores, memory.config.recall, memory.config.homeostasis)
        request = RecallRequest(query="What did Melanie do last May?", bank_id="conv")
        expected = await plain.recall(request, ["conv"], now=now)
        reflected = await memory.reflect("What did Melanie do last May?", bank_id="conv", now=now)

    assert retained.fanout == []
    assert [(h.memory_id, h.score, h.strategies) for h in result.hits] == [
        (h.memory_id, h.score, h.strategies) for h in expected.hits
    ]
    assert all("authority_tier" not in h.metadata for h in result.hits)
    assert result.authority_context is None
    assert result.trace.tiers == []
    assert not any(note.startswith("mip:") for note in result.trace.notes)
    assert reflected.synthesis == "extractive" and "charity race" in reflected.answer

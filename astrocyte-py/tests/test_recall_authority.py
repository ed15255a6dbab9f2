"""Recall authority on the real SQLite stores: tiers stamped at retain, authority_context at recall,
and reflect resolving a planted conflict in favour of the higher tier (extractive and with an LLM)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _llm_server import API_KEY, LLMServer, hermetic_env, server
from _sqlite_config import sqlite_config

from astrocyte import Astrocyte
from astrocyte.config import load_config
from astrocyte.errors import ConfigError, InvalidRequestError

__all__ = ["hermetic_env", "server"]  # fixtures used by name

pytestmark = pytest.mark.usefixtures("hermetic_env")

QUESTION = "Where does Alice live now?"
FACT = "Alice lives in Lisbon now, since March 2025."
OLD_CHAT = "Alice: I live in Porto now, near the river."


def _authority(**extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "tiers": [
            {"name": "facts", "description": "curated knowledge graph facts"},
            "documents",
            {"name": "chat", "description": "raw chat history"},
        ],
        "tier_by_bank": {"facts-*": "facts", "proxy:*": "documents", "chat-*": "chat"},
        "rules_inline": ["A fact from the knowledge graph overrides anything said in chat."],
        **extra,
    }


async def _plant(memory: Astrocyte) -> tuple[str, str]:
    fact = await memory.retain(FACT, bank_id="facts-alice", occurred_at=datetime(2025, 3, 1, tzinfo=UTC))
    chat = await memory.retain(
        OLD_CHAT,
        bank_id="chat-alice",
        content_type="conversation",
        occurred_at=datetime(2021, 5, 2, tzinfo=UTC),
    )
    return fact.memory_ids[0], chat.memory_ids[0]


async def test_higher_tier_wins_a_planted_conflict_in_extractive_reflect(tmp_path: Path) -> None:
    banks = ["chat-alice", "facts-alice"]
    plain = sqlite_config(tmp_path / "plain")
    async with Astrocyte.from_config(plain) as memory:
        await _plant(memory)
        without = await memory.reflect(QUESTION, bank_ids=banks)
    assert "Porto" in without.answer  # the conflict is real: without authority the chat line is quoted

    config = sqlite_config(tmp_path / "tiered", recall_authority=_authority(apply_to_reflect=True))
    async with Astrocyte.from_config(config) as memory:
        fact_id, chat_id = await _plant(memory)
        recalled = await memory.recall(QUESTION, bank_ids=banks)
        answer = await memory.reflect(QUESTION, bank_ids=banks)

    assert {h.memory_id: h.metadata["authority_tier"] for h in recalled.hits} == {
        fact_id: "facts",
        chat_id: "chat",
    }
    context = recalled.authority_context
    assert context is not None
    assert [(g.tier, g.rank, g.memory_ids) for g in context.tiers] == [
        ("facts", 1, [fact_id]),
        ("chat", 2, [chat_id]),
    ]
    assert context.rules == ["A fact from the knowledge graph overrides anything said in chat."]
    position = {h.memory_id: i for i, h in enumerate(recalled.hits, start=1)}
    assert f"1. facts (curated knowledge graph facts): [{position[fact_id]}]" in context.text
    assert f"2. chat (raw chat history): [{position[chat_id]}]" in context.text
    assert answer.synthesis == "extractive"
    assert "Lisbon" in answer.answer and "Porto" not in answer.answer
    assert answer.cited_memory_ids == [fact_id]


async def test_llm_reflect_gets_the_authority_block(tmp_path: Path, server: LLMServer) -> None:
    config = sqlite_config(
        tmp_path,
        llm_provider="openai",
        llm_provider_config={"api_key": API_KEY, "base_url": f"{server.url}/v1", "model": "local-chat"},
        retain={"entity_extraction": "rules"},
        recall_authority=_authority(apply_to_reflect=True),
        sources={
            "wiki": {
                "type": "proxy",
                "url": f"{server.url}/search?q={{query}}",
                "target_bank": "facts-alice",
                "timeout_seconds": 10,
            }
        },
    )
    async with Astrocyte.from_config(config) as memory:
        fact_id, chat_id = await _plant(memory)
        recalled = await memory.recall(QUESTION, bank_ids=["chat-alice", "facts-alice"])
        result = await memory.reflect(QUESTION, bank_ids=["chat-alice", "facts-alice"])

    # Multi-store recall: two local banks plus a proxy source, each in its own tier.
    assert recalled.authority_context is not None
    tiers = {g.tier: g.memory_ids for g in recalled.authority_context.tiers}
    assert tiers == {"facts": [fact_id], "documents": ["kb-1"], "chat": [chat_id]}
    assert result.synthesis == "llm"
    (chat,) = [r for r in server.state.received if r.path == "/v1/chat/completions"]
    prompt = chat.body["messages"][-1]["content"]
    assert (
        "Authority of the memories, most trusted first. When memories conflict, the higher tier wins"
        in prompt
    )
    assert "1. facts (curated knowledge graph facts): [" in prompt
    assert "- A fact from the knowledge graph overrides anything said in chat." in prompt
    assert prompt.index("Authority of the memories") > prompt.index("[1] ")  # after the numbered memories


async def test_llm_reflect_without_apply_to_reflect_keeps_the_old_prompt(
    tmp_path: Path, server: LLMServer
) -> None:
    config = sqlite_config(
        tmp_path,
        llm_provider="openai",
        llm_provider_config={"api_key": API_KEY, "base_url": f"{server.url}/v1", "model": "local-chat"},
        recall_authority=_authority(),
    )
    async with Astrocyte.from_config(config) as memory:
        await _plant(memory)
        await memory.reflect(QUESTION, bank_ids=["chat-alice", "facts-alice"])
    (chat,) = [r for r in server.state.received if r.path == "/v1/chat/completions"]
    assert "Authority" not in chat.body["messages"][-1]["content"]


async def test_tier_stamp_precedence(tmp_path: Path) -> None:
    config = sqlite_config(
        tmp_path,
        extraction_profiles={"crm": {"content_type": "document"}},
        recall_authority=_authority(tier_by_profile={"crm": "documents"}),
    )
    async with Astrocyte.from_config(config) as memory:
        by_bank = await memory.retain("Bob manages the Berlin office.", bank_id="facts-bob")
        by_profile = await memory.retain("Bob joined in 2019.", bank_id="facts-bob", extraction_profile="crm")
        explicit = await memory.retain(
            "Bob: call me Bobby.", bank_id="facts-bob", metadata={"authority_tier": "chat"}
        )
        unmatched = await memory.retain("Bob likes tea.", bank_id="misc")
        with pytest.raises(InvalidRequestError, match="unknown authority tier 'gossip'"):
            await memory.retain("x y z", bank_id="misc", metadata={"authority_tier": "gossip"})
        hits = (await memory.recall("Bob", bank_ids=["facts-bob", "misc"], max_results=10)).hits
    tiers = {h.memory_id: h.metadata.get("authority_tier") for h in hits}
    assert tiers[by_bank.memory_ids[0]] == "facts"
    assert tiers[by_profile.memory_ids[0]] == "documents"
    assert tiers[explicit.memory_ids[0]] == "chat"
    assert tiers[unmatched.memory_ids[0]] is None
    assert len(hits) == 4  # the rejected retain wrote nothing


def test_rules_path_is_read_and_validated(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("# precedence\nSigned contracts beat emails.\n\nEmails beat chat.\n", encoding="utf-8")
    config = load_config({"recall_authority": _authority(rules_path=str(rules))})
    assert config.recall_authority.rules()[1:] == ["Signed contracts beat emails.", "Emails beat chat."]
    with pytest.raises(ConfigError, match=r"recall_authority.rules_path: no such file '.*missing.txt'"):
        load_config({"recall_authority": _authority(rules_path=str(tmp_path / "missing.txt"))})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"enabled": True}, "recall_authority: an enabled recall_authority needs 'tiers'"),
        ({"tiers": ["a", "a"]}, "tier names must be unique (repeated: a)"),
        ({"tiers": ["a"], "tier_by_bank": {"x-*": "b"}}, "tier_by_bank names unknown tiers ['b']"),
        (
            {"tiers": ["a"], "tier_by_profile": {"nope": "a"}},
            "tier_by_profile names unknown extraction profiles",
        ),
        ({"tiers": ["a"], "aply_to_reflect": True}, "did you mean 'recall_authority.apply_to_reflect'"),
    ],
)
def test_invalid_authority_config_names_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"recall_authority": section})
    assert message in str(raised.value)


async def test_all_three_knobs_together(tmp_path: Path) -> None:
    """mip routes the recall to the fact bank too, tiered retrieval runs it, authority decides reflect."""
    config = sqlite_config(
        tmp_path,
        recall_authority=_authority(apply_to_reflect=True),
        mip={
            "enabled": True,
            "rules": [
                {
                    "name": "chat-sees-facts",
                    "when": {"bank": "chat-*"},
                    "recall_from": ["{bank_id}", "facts-alice"],
                }
            ],
        },
        tiered_retrieval={"enabled": True, "min_results": 1},
    )
    async with Astrocyte.from_config(config) as memory:
        fact_id, chat_id = await _plant(memory)
        recalled = await memory.recall(QUESTION, bank_id="chat-alice")
        answer = await memory.reflect(QUESTION, bank_id="chat-alice")
        again = await memory.recall(QUESTION, bank_id="chat-alice")
    assert {h.memory_id for h in recalled.hits} == {fact_id, chat_id}
    assert recalled.trace.tiers[-1].sufficient
    assert recalled.authority_context is not None and recalled.authority_context.tiers[0].memory_ids == [
        fact_id
    ]
    assert "Lisbon" in answer.answer and "Porto" not in answer.answer
    assert [t.name for t in again.trace.tiers] == [
        "cache"
    ] and again.authority_context == recalled.authority_context

"""Extraction profiles: config sections, the JSONPath subset, mapping and their effect on retain."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from astrocyte import Astrocyte
from astrocyte.config import AstrocyteConfig, load_config
from astrocyte.errors import ConfigError, InvalidRequestError
from astrocyte.ingest import (
    BUILTIN_PROFILES,
    ExtractionProfile,
    JsonPath,
    JsonPathError,
    TagRule,
    apply_profile,
    effective_profiles,
    map_metadata,
    matching_tags,
)
from astrocyte.types import RetainRequest

NO_ENV: dict[str, str] = {}


# --------------------------------------------------------------------------- JSONPath subset


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", {"a": {"b": [10, 20]}, "odd key": "x"}),
        ("$.a.b[0]", 10),
        ("$.a.b[-1]", 20),
        ("$['odd key']", "x"),
        ('$["a"]["b"][1]', 20),
    ],
)
def test_jsonpath_finds_supported_forms(path: str, expected: object) -> None:
    document = {"a": {"b": [10, 20]}, "odd key": "x"}
    assert JsonPath.parse(path).find(document) == (True, expected)


@pytest.mark.parametrize("path", ["$.a.c", "$.a.b[2]", "$.a.b.c", "$['missing']"])
def test_jsonpath_missing_is_reported_not_raised(path: str) -> None:
    assert JsonPath.parse(path).find({"a": {"b": [10, 20]}}) == (False, None)


@pytest.mark.parametrize("path", ["a.b", "$..a", "$.a[*]", "$[?(@.a)]", "$.a[0:2]", "$.", "$a"])
def test_jsonpath_outside_the_subset_is_rejected(path: str) -> None:
    with pytest.raises(JsonPathError):
        JsonPath.parse(path)


# --------------------------------------------------------------------------- config sections


def test_config_without_the_new_sections_loads_identically() -> None:
    config = load_config({}, env=NO_ENV)
    assert config.sources == {}
    assert config.extraction_profiles == {}
    assert config == AstrocyteConfig()


def test_profiles_and_sources_load_and_builtins_merge() -> None:
    config = load_config(
        {
            "extraction_profiles": {
                "support": {
                    "content_type": "email",
                    "metadata_mapping": {"ticket": "$.ticket_id"},
                    "tag_rules": [{"tag": "urgent", "path": "$.priority", "equals": "high"}],
                },
                "builtin_text": {"entity_extraction": "none"},
            },
            "sources": {
                "hooks": {
                    "type": "webhook",
                    "secret": "0123456789abcdef",
                    "target_bank_template": "user-{principal}",
                    "extraction_profile": "support",
                }
            },
        },
        env=NO_ENV,
    )
    profiles = effective_profiles(config.extraction_profiles)
    assert set(profiles) == {"builtin_text", "builtin_conversation", "support"}
    assert profiles["builtin_text"].entity_extraction == "none"
    assert profiles["builtin_text"].chunk_strategy == BUILTIN_PROFILES["builtin_text"].chunk_strategy
    assert config.sources["hooks"].target_bank_template == "user-{principal}"


def test_source_naming_a_missing_profile_fails_at_load_with_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            {
                "sources": {
                    "s": {"type": "stream", "driver": "redis", "target_bank": "b", "extraction_profile": "x"}
                }
            },
            env=NO_ENV,
        )
    message = str(caught.value)
    assert "source 's' names unknown extraction_profile 'x'" in message
    assert "define it under extraction_profiles" in message
    assert "builtin_conversation" in message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ({"type": "stream", "target_bank": "b"}, "needs 'driver'"),
        ({"type": "webhook", "target_bank": "b"}, "needs 'secret'"),
        ({"type": "webhook", "target_bank": "b", "secret": "short"}, "at least 16 characters"),
        ({"type": "stream", "driver": "redis"}, "exactly one of 'target_bank' or 'target_bank_template'"),
        ({"type": "proxy", "url": "http://x/?q=1", "target_bank": "b"}, "containing {query}"),
        ({"type": "proxy", "url": "http://x/?q={query}"}, "needs 'target_bank'"),
        ({"type": "stream", "driver": "r", "target_bank_template": "fixed"}, "has no {field}"),
        (
            {"type": "stream", "driver": "r", "target_bank": "b", "content_path": "content"},
            "must start with '$'",
        ),
    ],
)
def test_invalid_sources_name_the_key_path(source: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"sources": {"s1": source}}, env=NO_ENV)
    assert "sources.s1" in str(caught.value)
    assert fragment in str(caught.value)


def test_misspelt_source_key_suggests_the_right_one() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown key 'sources\.s1\.drivr' — did you mean 'sources\.s1\.driver'"
    ):
        load_config({"sources": {"s1": {"type": "stream", "drivr": "redis", "target_bank": "b"}}}, env=NO_ENV)


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"tag": "x"}, "exactly one condition"),
        ({"tag": "x", "equals": 1, "contains": "a"}, "exactly one condition"),
        ({"tag": "x", "matches": "("}, "invalid regular expression"),
        ({"tag": "x", "present": True}, "needs a 'path'"),
    ],
)
def test_invalid_tag_rules_are_rejected(rule: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"extraction_profiles\.p\.tag_rules\[0\]") as caught:
        load_config({"extraction_profiles": {"p": {"tag_rules": [rule]}}}, env=NO_ENV)
    assert fragment in str(caught.value)


# --------------------------------------------------------------------------- mapping


def test_metadata_mapping_takes_present_paths_and_flattens_nested_values() -> None:
    document = {"participant_name": "Ana", "meta": {"lang": "pt", "tags": ["a", "b"]}, "scores": [1, 2]}
    mapped = map_metadata(
        {
            "who": "$.participant_name",
            "lang": "$.meta.lang",
            "all": "$.meta",
            "scores": "$.scores",
            "no": "$.nope",
        },
        document,
    )
    assert mapped == {"who": "Ana", "lang": "pt", "all": '{"lang":"pt","tags":["a","b"]}', "scores": [1, 2]}


def test_tag_rules_fire_per_condition() -> None:
    rules = [
        TagRule(tag="urgent", path="$.priority", equals="high"),
        TagRule(tag="billing", contains="INVOICE"),
        TagRule(tag="channel:{value}", path="$.channel", matches="^(sms|chat)$"),
        TagRule(tag="has-order", path="$.order_id", present=True),
        TagRule(tag="no-order", path="$.order_id", present=False),
        TagRule(tag="never", path="$.priority", equals="low"),
    ]
    document = {"priority": "high", "channel": "sms"}
    assert matching_tags(rules, document, "About my invoice") == [
        "urgent",
        "billing",
        "channel:sms",
        "no-order",
    ]


def test_apply_profile_keeps_explicit_values_and_is_idempotent() -> None:
    profile = ExtractionProfile(
        content_type="conversation",
        metadata_mapping={"who": "$.participant_name"},
        tag_rules=[TagRule(tag="greeting", contains="hello")],
    )
    request = RetainRequest(content="Ana: hello there", bank_id="b", metadata={"who": "explicit"}, tags=["t"])
    once = apply_profile(request, profile, {"participant_name": "Ana"})
    assert once.metadata == {"who": "explicit"}
    assert once.tags == ["t", "greeting"]
    assert once.content_type == "conversation"
    assert apply_profile(once, profile) == once

    typed = RetainRequest(content="hello", bank_id="b", content_type="email")
    assert apply_profile(typed, profile).content_type == "email"  # an explicit content type wins


# --------------------------------------------------------------------------- retain with a profile


@pytest.fixture
async def memory() -> AsyncIterator[Astrocyte]:
    memory = Astrocyte.from_config(
        {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": "memory",
            "extraction_profiles": {
                "tiny": {
                    "chunk_strategy": "fixed",
                    "max_chunk_size": 40,
                    "chunk_overlap": 0,
                    "entity_extraction": "none",
                    "metadata_mapping": {"who": "$.speaker"},
                    "tag_rules": [{"tag": "travel", "contains": "Lisbon"}],
                }
            },
        }
    )
    yield memory
    await memory.close()


TEXT = "Alice moved to Lisbon in May 2023 and started working at Nimbus Labs as an engineer there."


async def test_retain_without_profile_keeps_default_behaviour(memory: Astrocyte) -> None:
    result = await memory.retain(TEXT, bank_id="plain")
    assert result.chunk_count == 1
    assert "Alice" in result.entities
    (item,) = await memory.stores.vector.list_vectors("plain")
    assert item.tags == []
    assert item.metadata["_content_type"] == "text"


async def test_retain_with_profile_applies_chunking_entities_metadata_and_tags(memory: Astrocyte) -> None:
    result = await memory.retain(
        TEXT, bank_id="profiled", extraction_profile="tiny", metadata={"speaker": "Bob"}
    )
    assert result.chunk_count > 1
    assert result.entities == []
    items = await memory.stores.vector.list_vectors("profiled")
    assert {item.metadata["who"] for item in items} == {"Bob"}
    assert all(item.tags == ["travel"] for item in items)


async def test_builtin_conversation_profile_sets_content_type_and_dialogue_chunks(memory: Astrocyte) -> None:
    await memory.retain(
        "Ana: I moved to Porto last spring.\nBen: Nice, I visited Porto in 2019.",
        bank_id="chat",
        extraction_profile="builtin_conversation",
        metadata={"participant_name": "Ana"},
    )
    items = await memory.stores.vector.list_vectors("chat")
    assert {item.metadata["_content_type"] for item in items} == {"conversation"}
    assert {item.metadata["participant"] for item in items} == {"Ana"}


async def test_unknown_profile_in_a_request_is_a_typed_error(memory: Astrocyte) -> None:
    with pytest.raises(InvalidRequestError, match="unknown extraction profile 'nope'") as caught:
        await memory.retain(TEXT, bank_id="b", extraction_profile="nope")
    assert caught.value.field == "extraction_profile"
    assert await memory.stores.vector.list_vectors("b") == []

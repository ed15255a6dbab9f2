"""The agents:, banks:, identity: and deployment: config sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrocyte.access_settings import DeploymentSettings
from astrocyte.config import load_config
from astrocyte.errors import ConfigError

#: What an old config (without any of the new sections) loaded to before the sections existed.
OLD_FILE = """\
profile: conversational
compliance_profile: gdpr
vector_store_config: {path: /tmp/x.db}
retain: {max_chunk_size: 500}
recall: {strategies: {graph: 0.5}}
homeostasis: {max_recall_results: 20}
"""
OLD_LOADED: dict[str, object] = {
    "compliance_profile": "gdpr",
    "document_store": "sqlite",
    "document_store_config": {},
    "embedding_provider": "hashing",
    "embedding_provider_config": {},
    "graph_store": "sqlite",
    "graph_store_config": {},
    "homeostasis": {"max_recall_results": 20, "max_recall_tokens": 4000, "max_reflect_context_tokens": 3000},
    "llm_provider": None,
    "llm_provider_config": {},
    "pii": {
        "action": "redact",
        "types": ["email", "phone", "credit_card", "iban", "ssn", "ip_address", "api_key"],
    },
    "profile": "conversational",
    "recall": {
        "candidate_pool": 50,
        "rerank": False,
        "rrf_k": 60,
        # fulltext comes from the conversational profile (LoCoMo-tuned), graph from the file itself.
        "strategies": {"fulltext": 1.3, "graph": 0.5, "temporal": 0.3, "vector": 1.0},
    },
    "retain": {
        "chunk_overlap": 0,
        "chunk_strategy": "dialogue",
        "dedup_threshold": 0.97,
        "entity_extraction": "rules",
        "max_chunk_size": 500,
    },
    "vector_store": "sqlite",
    "vector_store_config": {"path": "/tmp/x.db"},
}
NEW_SECTIONS = ("agents", "banks", "identity", "deployment", "policy")


def _subset(actual: object, expected: object) -> object:
    """``actual`` restricted to the keys ``expected`` has (new keys elsewhere are checked separately)."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        return {key: _subset(actual.get(key), value) for key, value in expected.items()}
    return actual


def test_old_config_file_loads_exactly_as_before(tmp_path: Path) -> None:
    path = tmp_path / "astrocyte.yaml"
    path.write_text(OLD_FILE, encoding="utf-8")
    config = load_config(path, env={})
    dumped = config.model_dump(mode="json")
    assert _subset(dumped, OLD_LOADED) == OLD_LOADED
    assert not set(NEW_SECTIONS) & config.model_fields_set
    fresh = load_config({}, env={})
    for section in NEW_SECTIONS:  # the new sections sit at their inert defaults
        assert dumped[section] == fresh.model_dump(mode="json")[section]
    assert dumped["agents"] == {} and dumped["banks"] == {}
    assert dumped["identity"]["resolver"] == "convention" and dumped["identity"]["obo_enabled"] is True
    assert dumped["deployment"] == {"mode": "library", "allow_anonymous": None}
    assert config.deployment.anonymous_allowed
    assert dumped["pii"]["banks"] == {} and dumped["pii"]["profiles"] == {}
    assert not config.policy.rate_limits.enabled and not config.policy.quotas.enabled


def test_full_sections_load(tmp_path: Path) -> None:
    config = load_config(
        {
            "agents": {
                "support": {"allowed_banks": ["support-*"], "default_bank": "support-eu"},
                "sales": {"principal": "service:crm", "permissions": ["read"]},
            },
            "banks": {"team-*": {"owners": ["user:lead"], "readers": ["user:*"]}},
            "identity": {"resolver": "config", "rules": [{"principal": "user:*", "bank": "u-{id}"}]},
            "deployment": {"mode": "standalone"},
        }
    )
    assert config.agents["support"].principal == "agent:support"
    assert config.agents["sales"].principal == "service:crm"
    assert config.banks["team-*"].readers == ["user:*"]
    assert not config.deployment.anonymous_allowed


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        (
            {"agents": {"bot": {"default_bank": "sales-1", "allowed_banks": ["support-*"]}}},
            ["agents.bot", "default_bank 'sales-1' is outside allowed_banks", "add a matching pattern"],
        ),
        (
            {"agents": {"bot": {"default_bank": "x"}}},
            ["agents.bot", "outside allowed_banks []"],
        ),
        (
            {"agents": {"a": {"principal": "agent:x"}, "b": {"principal": "agent:x"}}},
            ["agents", "both use principal 'agent:x'", "give each agent its own principal"],
        ),
        (
            {"identity": {"resolver": "config"}},
            ["identity", "needs identity.rules", "use resolver: convention"],
        ),
        (
            {"identity": {"resolver": "custom"}},
            ["identity", "needs identity.custom_resolver", "astrocyte.bank_resolvers"],
        ),
        (
            {"identity": {"custom_resolver": "claim"}},
            ["identity", "set resolver: custom"],
        ),
        (
            {"identity": {"resolver": "config", "rules": [{"principal": "*", "bank": "b-{tenant}"}]}},
            ["identity.rules[0].bank", "unknown placeholder(s) ['tenant']", "{id}"],
        ),
        (
            {"deployment": {"mode": "standalone", "allow_anonymous": True}},
            ["deployment", "never accepts context-less calls", "remove allow_anonymous"],
        ),
        (
            {"deployment": {"mode": "cluster"}},
            ["deployment.mode", "library", "standalone", "plugin"],
        ),
        (
            {"banks": {"team-*": {"owners": ["  "]}}},
            ["banks.team-*.owners", "non-empty"],
        ),
        (
            {"agents": {"bot": {"permissions": ["delete"]}}},
            ["agents.bot.permissions[0]", "read", "forget"],
        ),
    ],
)
def test_invalid_sections_name_the_key_and_the_fix(data: dict[str, object], needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(data)
    text = str(info.value)
    for needle in needles:
        assert needle in text, (needle, text)


def test_unknown_key_in_a_new_section_suggests_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"identity\.obo_enable.*did you mean 'identity\.obo_enabled'"):
        load_config({"identity": {"obo_enable": False}})


def test_deployment_anonymous_default_follows_the_mode() -> None:
    assert DeploymentSettings().anonymous_allowed
    assert DeploymentSettings(mode="plugin").anonymous_allowed
    assert not DeploymentSettings(mode="standalone").anonymous_allowed
    assert not DeploymentSettings(allow_anonymous=False).anonymous_allowed

"""astrocyte.yaml loading: defaults, ${ENV} substitution, profiles, validation messages."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from astrocyte import config as config_module
from astrocyte.config import (
    AstrocyteConfig,
    BackendSelection,
    available_compliance_profiles,
    available_profiles,
    load_config,
    load_profile,
    substitute_env,
)
from astrocyte.errors import ConfigError

NO_ENV: dict[str, str] = {}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- defaults and sources


def test_empty_mapping_gives_documented_defaults() -> None:
    config = load_config({}, env=NO_ENV)
    assert (config.vector_store, config.graph_store, config.document_store) == ("sqlite", "sqlite", "sqlite")
    assert config.embedding_provider == "hashing"
    assert config.llm_provider is None
    assert config.retain.chunk_strategy == "auto"
    assert config.retain.max_chunk_size == 800
    assert config.retain.chunk_overlap == 100
    assert config.retain.dedup_threshold == 0.97
    assert config.retain.entity_extraction == "rules"
    assert config.recall.strategies == {"vector": 1.0, "fulltext": 1.0, "graph": 0.3, "temporal": 0.3}
    assert (config.recall.rrf_k, config.recall.candidate_pool, config.recall.rerank) == (60, 50, False)
    assert config.homeostasis.max_recall_results == 50
    assert config.homeostasis.max_recall_tokens == 4000
    assert config.homeostasis.max_reflect_context_tokens == 3000
    assert config.pii.action == "off"
    assert config.pii.types == ["email", "phone", "credit_card", "iban", "ssn", "ip_address", "api_key"]


def test_empty_file_and_comment_only_file_work(tmp_path: Path) -> None:
    empty = load_config(write(tmp_path / "empty.yaml", ""), env=NO_ENV)
    comments = load_config(write(tmp_path / "c.yaml", "# nothing here\n"), env=NO_ENV)
    assert empty == AstrocyteConfig()
    assert comments == AstrocyteConfig()


def test_none_without_any_file_falls_back_to_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None, env=NO_ENV) == AstrocyteConfig()


def test_none_prefers_astrocyte_yaml_over_yml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "astrocyte.yml", "vector_store: memory\n")
    assert load_config(None, env=NO_ENV).vector_store == "memory"
    write(tmp_path / "astrocyte.yaml", "vector_store: other\n")
    assert load_config(None, env=NO_ENV).vector_store == "other"


def test_none_honours_astrocyte_config_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "astrocyte.yaml", "vector_store: local-file\n")
    chosen = write(tmp_path / "chosen.yaml", "vector_store: chosen\n")
    assert load_config(None, env={"ASTROCYTE_CONFIG": str(chosen)}).vector_store == "chosen"


def test_json_file_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path / "astrocyte.json", '{"retain": {"max_chunk_size": 1200}}')
    assert load_config(path, env=NO_ENV).retain.max_chunk_size == 1200


def test_directory_source_uses_the_config_file_inside(tmp_path: Path) -> None:
    write(tmp_path / "astrocyte.yaml", "document_store: null\n")
    assert load_config(tmp_path, env=NO_ENV).document_store is None


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.yaml"):
        load_config(tmp_path / "nope.yaml", env=NO_ENV)


# --------------------------------------------------------------------------- ${VAR} substitution


def test_env_variable_present_is_substituted(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "vector_store_config:\n  url: http://${HOST}:6333/x\n")
    config = load_config(path, env={"HOST": "qdrant.local"})
    assert config.vector_store_config == {"url": "http://qdrant.local:6333/x"}


def test_env_default_used_when_unset_or_empty_and_ignored_when_set() -> None:
    data = {"llm_provider_config": {"model": "${MODEL:-gpt-4o-mini}"}}
    assert load_config(data, env={}).llm_provider_config["model"] == "gpt-4o-mini"
    assert load_config(data, env={"MODEL": ""}).llm_provider_config["model"] == "gpt-4o-mini"
    assert load_config(data, env={"MODEL": "llama3"}).llm_provider_config["model"] == "llama3"


def test_substituted_strings_are_coerced_by_typed_settings() -> None:
    config = load_config({"retain": {"max_chunk_size": "${SIZE:-900}"}}, env=NO_ENV)
    assert config.retain.max_chunk_size == 900


def test_missing_env_variable_names_variable_and_key_path(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "vector_store_config:\n  api_key: ${QDRANT_API_KEY}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=NO_ENV)
    message = str(caught.value)
    assert "'QDRANT_API_KEY' is not set" in message
    assert "vector_store_config.api_key" in message
    assert str(path) in message
    assert caught.value.key_path == "vector_store_config.api_key"


def test_missing_env_variable_inside_a_list_names_the_index() -> None:
    with pytest.raises(ConfigError, match=r"vector_store_config\.hosts\[1\]: environment variable 'B'"):
        load_config({"vector_store_config": {"hosts": ["a", "${B}"]}}, env=NO_ENV)


def test_dollar_escape_and_keys_untouched() -> None:
    result = substitute_env({"${KEY}": "cost $$5 ${A}"}, {"A": "x", "KEY": "k"})
    assert result == {"${KEY}": "cost $5 x"}


def test_malformed_reference_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"malformed variable reference '\$\{1BAD\}'"):
        substitute_env({"a": "${1BAD}"}, {})


def test_yaml_dates_become_iso_strings(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "vector_store_config:\n  since: 2024-05-01\n")
    assert load_config(path, env=NO_ENV).vector_store_config == {"since": "2024-05-01"}


# --------------------------------------------------------------------------- profiles


def test_builtin_profiles_are_listed_and_each_validates() -> None:
    assert {"default", "minimal", "conversational"} <= set(available_profiles())
    assert {"gdpr", "hipaa", "pdpa"} <= set(available_compliance_profiles())
    for name in available_profiles():
        assert load_config({"profile": name}, env=NO_ENV).profile == name
    for name in available_compliance_profiles():
        assert load_config({"compliance_profile": name}, env=NO_ENV).compliance_profile == name


def test_builtin_profile_contents() -> None:
    minimal = load_config({"profile": "minimal"}, env=NO_ENV)
    assert (minimal.vector_store, minimal.graph_store, minimal.document_store) == (
        "memory",
        "memory",
        "memory",
    )
    default = load_config({"profile": "default"}, env=NO_ENV)
    assert (default.vector_store, default.graph_store, default.document_store) == (
        "sqlite",
        "sqlite",
        "sqlite",
    )
    conversational = load_config({"profile": "conversational"}, env=NO_ENV)
    assert conversational.retain.chunk_strategy == "dialogue"
    assert conversational.retain.max_chunk_size < AstrocyteConfig().retain.max_chunk_size
    assert load_config({"compliance_profile": "gdpr"}, env=NO_ENV).pii.action == "redact"
    assert load_config({"compliance_profile": "hipaa"}, env=NO_ENV).pii.action == "reject"
    assert load_config({"compliance_profile": "pdpa"}, env=NO_ENV).pii.action == "redact"


def test_builtin_layers_then_file_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.yaml",
        "compliance_profile: gdpr\nprofile: minimal\nvector_store: sqlite\npii:\n  action: reject\n",
    )
    config = load_config(path, env=NO_ENV)
    assert config.vector_store == "sqlite"  # file over profile
    assert config.graph_store == "memory"  # profile kept where the file is silent
    assert config.pii.action == "reject"  # file over compliance
    assert "iban" in config.pii.types  # compliance kept where the file is silent


def test_merge_order_is_compliance_then_profile_then_file(monkeypatch: pytest.MonkeyPatch) -> None:
    layers: dict[tuple[str, bool], dict[str, object]] = {
        ("strict", True): {"retain": {"max_chunk_size": 100, "chunk_overlap": 10, "chunk_strategy": "fixed"}},
        ("chatty", False): {"retain": {"max_chunk_size": 200, "chunk_strategy": "dialogue"}},
    }

    def fake_load_profile(name: str, *, compliance: bool = False) -> dict[str, object]:
        return layers[(name, compliance)]

    monkeypatch.setattr(config_module, "load_profile", fake_load_profile)
    monkeypatch.setattr(config_module, "available_profiles", lambda: ["chatty"])
    monkeypatch.setattr(config_module, "available_compliance_profiles", lambda: ["strict"])
    data: dict[str, object] = {"compliance_profile": "strict", "profile": "chatty"}
    merged = load_config(data, env=NO_ENV).retain
    assert (merged.chunk_overlap, merged.max_chunk_size, merged.chunk_strategy) == (10, 200, "dialogue")
    data["retain"] = {"chunk_strategy": "sentence"}
    merged = load_config(data, env=NO_ENV).retain
    assert (merged.chunk_overlap, merged.max_chunk_size, merged.chunk_strategy) == (10, 200, "sentence")


def test_switching_backend_drops_the_earlier_layers_options(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_load_profile(name: str, *, compliance: bool = False) -> dict[str, object]:
        return {"vector_store": "sqlite", "vector_store_config": {"path": "/data/x.db", "wal": True}}

    monkeypatch.setattr(config_module, "load_profile", fake_load_profile)
    monkeypatch.setattr(config_module, "available_profiles", lambda: ["p"])
    switched = load_config(
        {"profile": "p", "vector_store": "qdrant", "vector_store_config": {"url": "u"}}, env=NO_ENV
    )
    assert switched.vector_store_config == {"url": "u"}
    same = load_config(
        {"profile": "p", "vector_store": "sqlite", "vector_store_config": {"wal": False}}, env=NO_ENV
    )
    assert same.vector_store_config == {"path": "/data/x.db", "wal": False}


def test_unknown_profile_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"profile": "conversatinal"}, env=NO_ENV)
    message = str(caught.value)
    assert "unknown profile 'conversatinal'" in message
    assert "did you mean 'conversational'?" in message
    assert "valid: conversational, default, minimal" in message
    assert caught.value.key_path == "profile"


def test_unknown_compliance_profile_lists_valid_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"compliance_profile: unknown profile 'sox' \(valid: gdpr, hipaa, pdpa"
    ):
        load_config({"compliance_profile": "sox"}, env=NO_ENV)


def test_profile_must_be_a_string() -> None:
    with pytest.raises(ConfigError, match=r"^profile: must be a profile name \(a string\), got list"):
        load_config({"profile": ["minimal"]}, env=NO_ENV)


def test_load_profile_returns_plain_data() -> None:
    assert load_profile("minimal")["vector_store"] == "memory"
    assert load_profile("hipaa", compliance=True) == {
        "pii": {
            "action": "reject",
            "types": ["email", "phone", "ssn", "credit_card", "iban", "ip_address", "api_key"],
        }
    }


# --------------------------------------------------------------------------- validation messages


def test_unknown_top_level_key_suggests_nearest() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"vector_stor": "qdrant"}, env=NO_ENV)
    assert str(caught.value) == "unknown key 'vector_stor' — did you mean 'vector_store'?"
    assert caught.value.key_path == "vector_stor"


def test_unknown_nested_key_uses_dotted_path_and_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "astrocyte.yaml", "retain:\n  max_chunk_sise: 500\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=NO_ENV)
    assert str(caught.value) == (
        f"{path}: unknown key 'retain.max_chunk_sise' — did you mean 'retain.max_chunk_size'?"
    )


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"homeostasis": {"zzz": 1}}, env=NO_ENV)
    assert str(caught.value) == (
        "unknown key 'homeostasis.zzz' (valid keys in homeostasis: "
        "max_recall_results, max_recall_tokens, max_reflect_context_tokens)"
    )


def test_wrong_type_names_key_path_and_value() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"retain": {"max_chunk_size": "big"}}, env=NO_ENV)
    message = str(caught.value)
    assert message.startswith("retain.max_chunk_size: Input should be a valid integer")
    assert "(got 'big')" in message
    assert caught.value.key_path == "retain.max_chunk_size"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"retain": {"dedup_threshold": 0}}, "retain.dedup_threshold: Input should be greater than 0"),
        (
            {"retain": {"dedup_threshold": 1.5}},
            "retain.dedup_threshold: Input should be less than or equal to 1",
        ),
        ({"retain": {"chunk_strategy": "words"}}, "retain.chunk_strategy: Input should be 'auto'"),
        ({"pii": {"action": "mask"}}, "pii.action: Input should be 'off', 'warn', 'redact' or 'reject'"),
        ({"pii": {"types": ["email", "passport"]}}, "pii.types[1]: Input should be 'email'"),
        (
            {"retain": {"chunk_overlap": 800}},
            "retain: chunk_overlap (800) must be smaller than max_chunk_size",
        ),
        ({"recall": {"rrf_k": 0}}, "recall.rrf_k: Input should be greater than or equal to 1"),
        ({"vector_store": ""}, "vector_store: String should have at least 1 character"),
        ({"vector_store_config": ["a"]}, "vector_store_config: Input should be a valid dictionary"),
    ],
)
def test_invalid_values_are_rejected_with_key_path(data: Mapping[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(data, env=NO_ENV)
    assert needle in str(caught.value)


def test_dedup_threshold_one_is_allowed() -> None:
    assert load_config({"retain": {"dedup_threshold": 1}}, env=NO_ENV).retain.dedup_threshold == 1.0


def test_multiple_errors_are_listed_one_per_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            {"vector_stor": "x", "retain": {"max_chunk_size": "big"}, "pii": {"action": "x"}}, env=NO_ENV
        )
    lines = str(caught.value).splitlines()
    assert lines[0] == "3 configuration errors:"
    assert len(lines) == 4
    assert any("retain.max_chunk_size" in line for line in lines[1:])
    assert any("did you mean 'vector_store'?" in line for line in lines[1:])
    assert any(line.startswith("  - pii.action:") for line in lines[1:])


def test_recall_strategy_weights_merge_with_defaults_and_zero_disables() -> None:
    config = load_config({"recall": {"strategies": {"graph": 0, "vector": 2}}}, env=NO_ENV)
    assert config.recall.strategies == {"vector": 2.0, "fulltext": 1.0, "graph": 0.0, "temporal": 0.3}


@pytest.mark.parametrize(
    ("strategies", "needle"),
    [
        ({"vectr": 1}, "recall.strategies: unknown strategy 'vectr' — did you mean 'vector'?"),
        ({"bm25": 1}, "unknown strategy 'bm25' (valid: vector, fulltext, graph, temporal)"),
        ({"vector": -1}, "weights must be >= 0 (negative: vector)"),
        ({"vector": 0, "fulltext": 0, "graph": 0, "temporal": 0}, "at least one strategy needs a weight > 0"),
    ],
)
def test_bad_recall_strategies(strategies: dict[str, float], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"recall": {"strategies": strategies}}, env=NO_ENV)
    assert needle in str(caught.value)


def test_pii_types_are_deduplicated() -> None:
    assert load_config({"pii": {"types": ["email", "email", "ssn"]}}, env=NO_ENV).pii.types == [
        "email",
        "ssn",
    ]


def test_direct_construction_validates_profile_names() -> None:
    with pytest.raises(ValidationError, match="unknown profile 'nope'"):
        AstrocyteConfig(profile="nope")


# --------------------------------------------------------------------------- syntax errors


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "vector_store: sqlite\nretain:\n  max_chunk_size: [1, 2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=NO_ENV)
    message = str(caught.value)
    assert message.startswith(f"{path}: YAML syntax error at line 4")


def test_yaml_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.yaml", "vector_store: sqlite\nvector_store: memory\n")
    with pytest.raises(
        ConfigError, match=r"YAML syntax error at line 2, column 1: duplicate key 'vector_store'"
    ):
        load_config(path, env=NO_ENV)


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{\n  "vector_store": "sqlite",\n}\n')
    with pytest.raises(ConfigError, match=r"JSON syntax error at line 3"):
        load_config(path, env=NO_ENV)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "list.yaml", "- vector_store\n")
    with pytest.raises(ConfigError, match=r"the top level must be a mapping of keys, got list"):
        load_config(path, env=NO_ENV)


# --------------------------------------------------------------------------- helpers on the model


def test_backends_lists_enabled_backends_with_their_options() -> None:
    config = load_config(
        {"graph_store": None, "llm_provider": "openai", "llm_provider_config": {"model": "m"}}, env=NO_ENV
    )
    backends = config.backends()
    assert list(backends) == ["vector_store", "document_store", "embedding_provider", "llm_provider"]
    assert backends["llm_provider"] == BackendSelection("openai", {"model": "m"})

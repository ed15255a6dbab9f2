"""The shipped deployment files agree with the gateway: the compose file and the Helm chart set only
env vars the gateway (or its shipped config) reads, set every one the config requires, use the same
port, and the shipped config validates with the compose environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from astrocyte_gateway import ENV_VARS, parse_gateway_settings

from astrocyte.config import load_config

PACKAGE = Path(__file__).resolve().parents[1]
CONFIG = PACKAGE / "deploy" / "astrocyte.yaml"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def _config_references() -> tuple[set[str], set[str]]:
    """(every env var the shipped config reads, those it reads without a default)."""
    text = "\n".join(line.split("#", 1)[0] for line in CONFIG.read_text(encoding="utf-8").splitlines())
    found = _REFERENCE.findall(text)
    return {name for name, _ in found}, {name for name, default in found if not default}


def _compose_env() -> dict[str, str]:
    compose = yaml.safe_load((PACKAGE / "docker-compose.yml").read_text(encoding="utf-8"))
    env: dict[str, Any] = compose["services"]["gateway"]["environment"]
    return {name: str(value) for name, value in env.items()}


def _chart_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(
        (PACKAGE / "helm" / "astrocyte-gateway" / "values.yaml").read_text(encoding="utf-8")
    )
    return values


def test_compose_and_chart_set_only_env_vars_the_gateway_reads() -> None:
    read, _ = _config_references()
    known = set(ENV_VARS) | read
    values = _chart_values()
    for origin, names in (
        ("docker-compose.yml", set(_compose_env())),
        ("values.yaml env", set(values["env"])),
        ("values.yaml secretEnv", set(values["secretEnv"])),
    ):
        assert names <= known, f"{origin} sets env vars nothing reads: {sorted(names - known)}"


def test_compose_and_chart_set_every_required_env_var() -> None:
    _, required = _config_references()
    assert required, "the shipped config should take its secrets from the environment"
    values = _chart_values()
    assert required <= set(_compose_env()), sorted(required - set(_compose_env()))
    assert required <= set(values["env"]) | set(values["secretEnv"])


def test_ports_agree() -> None:
    compose_env = _compose_env()
    compose = yaml.safe_load((PACKAGE / "docker-compose.yml").read_text(encoding="utf-8"))
    container_port = compose["services"]["gateway"]["ports"][0].split(":")[-1]
    assert compose_env["ASTROCYTE_GATEWAY_PORT"] == container_port
    values = _chart_values()
    assert values["env"]["ASTROCYTE_GATEWAY_PORT"] == str(values["containerPort"])
    dockerfile = (PACKAGE / "Dockerfile").read_text(encoding="utf-8")
    assert f"ASTROCYTE_GATEWAY_PORT={container_port}" in dockerfile
    assert f"EXPOSE {container_port}" in dockerfile


def test_chart_templates_pass_env_and_secret_env() -> None:
    deployment = (PACKAGE / "helm" / "astrocyte-gateway" / "templates" / "deployment.yaml").read_text(
        encoding="utf-8"
    )
    assert ".Values.env" in deployment and ".Values.secretEnv" in deployment
    assert "/health" in deployment


def test_shipped_config_validates_with_the_compose_environment() -> None:
    env = {
        name: re.sub(r"\$\{[^}]*\}", "x", value) if name != "ASTROCYTE_ADMIN_KEY_SHA256" else "ab" * 32
        for name, value in _compose_env().items()
    }
    config = load_config(CONFIG, env=env)
    assert config.deployment.mode == "standalone"
    assert config.vector_store == "postgres"
    settings = parse_gateway_settings(config.gateway)
    assert settings.auth.api_keys[0].scopes == ["astrocyte:admin"]

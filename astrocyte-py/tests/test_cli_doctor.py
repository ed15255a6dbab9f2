"""``astrocyte doctor``: installed providers, config validity and backend health, as tables or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from _llm_server import API_KEY, LLMServer, hermetic_env, server

from astrocyte.cli import main

__all__ = ["hermetic_env", "server"]  # fixtures used by name

pytestmark = pytest.mark.usefixtures("hermetic_env")


def _write(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "astrocyte.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def _doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_lists_installed_providers_with_versions_and_spi(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _doctor_json(capsys, "-c", _write(tmp_path, {"profile": "minimal"}), "--no-health")
    assert code == 0
    assert report["ok"] is True
    rows = {(row["kind"], row["name"]): row for row in report["providers"]}
    for key in [("vector_store", "sqlite"), ("llm_provider", "openai"), ("llm_provider", "anthropic"),
                ("outbound_transport", "env"), ("embedding_provider", "hashing")]:  # fmt: skip
        assert rows[key]["distribution"] == "astrocyte"
        assert rows[key]["version"] == "0.1.0"
        assert rows[key]["spi_version"] == 1
        assert rows[key]["status"] == "ok"
    assert report["health"] == []


def test_healthy_sqlite_setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "memory.db")
    config = {
        "vector_store": "sqlite",
        "vector_store_config": {"path": db},
        "graph_store_config": {"path": db},
        "document_store_config": {"path": db},
    }
    code, report = _doctor_json(capsys, "-c", _write(tmp_path, config))
    assert code == 0
    assert [c["component"] for c in report["config"]] == ["config", "outbound_transport"]
    health = {c["component"]: c for c in report["health"]}
    assert set(health) == {"vector_store", "graph_store", "document_store", "embedding_provider"}
    assert all(c["ok"] for c in health.values())
    assert health["embedding_provider"]["detail"].startswith("384 dimensions")


def test_llm_backend_is_probed(tmp_path: Path, server: LLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = {
        "profile": "minimal",
        "llm_provider": "openai",
        "llm_provider_config": {"api_key": API_KEY, "base_url": f"{server.url}/v1", "model": "local-chat"},
    }
    code, report = _doctor_json(capsys, "-c", _write(tmp_path, config))
    assert code == 0
    (llm,) = [c for c in report["health"] if c["component"] == "llm_provider"]
    assert llm["ok"] and llm["detail"].startswith("answered (local-chat)")
    assert server.state.received[0].body["max_tokens"] == 1


def test_unreachable_backend_fails_without_printing_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "profile": "minimal",
        "llm_provider": "openai",
        "llm_provider_config": {"api_key": API_KEY, "base_url": "http://127.0.0.1:9/v1", "max_retries": 0},
    }
    code = main(["doctor", "-c", _write(tmp_path, config)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "ProviderUnavailableError" in out and "problems found" in out
    assert API_KEY not in out


def test_invalid_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _doctor_json(capsys, "-c", _write(tmp_path, {"vector_stor": "sqlite"}))
    assert code == 1
    (check,) = report["config"]
    assert check["ok"] is False
    assert "did you mean 'vector_store'" in check["detail"]
    assert report["health"] == []


def test_uninstalled_backend_and_bad_transport_are_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "profile": "minimal",
        "vector_store": "nosuchstore",
        "outbound_transport": {"provider": "proxy", "config": {"url": "not a url"}},
    }
    code, report = _doctor_json(capsys, "-c", _write(tmp_path, config))
    assert code == 1
    transport = report["config"][1]
    assert transport["ok"] is False and "outbound_transport.config.url" in transport["detail"]
    assert report["health"] == []  # nothing is contacted through a broken transport

    config["outbound_transport"] = {"provider": "env"}
    code, report = _doctor_json(capsys, "-c", _write(tmp_path, config))
    assert code == 1
    (vector,) = [c for c in report["health"] if c["component"] == "vector_store"]
    assert vector["ok"] is False and "'nosuchstore' is not installed" in vector["detail"]


def test_table_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    code = main(["doctor", "-c", _write(tmp_path, {"profile": "minimal"})])
    out = capsys.readouterr().out
    assert code == 0
    for heading in ("Installed providers", "Configuration", "Backend health", "all good"):
        assert heading in out
    assert "outbound_transport" in out and "anthropic" in out

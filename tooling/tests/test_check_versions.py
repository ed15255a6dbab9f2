"""``tooling/check_versions.py`` on temporary workspaces: what passes and every way it fails."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "check_versions.py"
REPO = SCRIPT.parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_versions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_versions"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


check_versions = _load()

ROOT_PYPROJECT = """
[tool.uv.workspace]
members = ["astrocyte-py", "adapters-storage-py/*", "adapters-ingestion-py/*"]
"""


def _package(root: Path, where: str, name: str, version: str, deps: list[str], extras: str = "") -> None:
    directory = root / where
    directory.mkdir(parents=True)
    lines = [
        "[project]",
        f'name = "{name}"',
        f'version = "{version}"',
        f"dependencies = {json.dumps(deps)}",
    ]
    if extras:
        lines += ["", "[project.optional-dependencies]", extras]
    (directory / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A consistent workspace: core 1.2.0 with an extra for each of two adapters."""
    (tmp_path / "pyproject.toml").write_text(ROOT_PYPROJECT, encoding="utf-8")
    extras = 'qdrant = ["astrocyte-qdrant>=1.0,<2"]\nkafka = ["astrocyte-ingestion-kafka>=1.1"]\nlocal = ["numpy>=1"]'
    _package(tmp_path, "astrocyte-py", "astrocyte", "1.2.0", ["pydantic>=2"], extras)
    _package(
        tmp_path, "adapters-storage-py/astrocyte-qdrant", "astrocyte-qdrant", "1.0.3", ["astrocyte>=1.0,<2"]
    )
    _package(tmp_path, "adapters-ingestion-py/astrocyte-ingestion-kafka", "astrocyte-ingestion-kafka", "1.1.0",
             ["aiokafka", "astrocyte[tokens]>=1.2"])  # fmt: skip
    (tmp_path / "adapters-storage-py" / "README.md").write_text("not a package", encoding="utf-8")
    return tmp_path


def _problems(root: Path) -> list[str]:
    return list(check_versions.problems(check_versions.discover(root)))


def test_consistent_workspace_passes(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _problems(workspace) == []
    assert check_versions.main(["--root", str(workspace)]) == 0
    assert "ok: 3 package(s) agree with astrocyte 1.2.0" in capsys.readouterr().out


def test_discovery_follows_the_workspace_globs(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _package(workspace, "adapters-storage-py/astrocyte-new", "astrocyte-new", "0.0.1", ["astrocyte>=1"])
    _package(workspace, "elsewhere/astrocyte-ignored", "astrocyte-ignored", "0.1", ["astrocyte<1"])
    assert check_versions.main(["--root", str(workspace), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == [
        "astrocyte", "astrocyte-ingestion-kafka", "astrocyte-new", "astrocyte-qdrant"
    ]  # fmt: skip
    assert rows[2]["path"] == "adapters-storage-py/astrocyte-new"


def test_adapter_range_excluding_the_core_fails(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _package(
        workspace, "adapters-storage-py/astrocyte-neo4j", "astrocyte-neo4j", "1.0.0", ["astrocyte>=0.1,<1"]
    )
    (problem,) = _problems(workspace)
    assert "astrocyte-neo4j requires astrocyte<1,>=0.1 but the core is astrocyte 1.2.0" in problem
    assert check_versions.main(["--root", str(workspace)]) == 1
    assert "error: adapters-storage-py/astrocyte-neo4j/pyproject.toml" in capsys.readouterr().err


def test_adapter_without_an_astrocyte_dependency_fails(workspace: Path) -> None:
    _package(workspace, "adapters-storage-py/astrocyte-orphan", "astrocyte-orphan", "1.0.0", ["httpx"])
    (problem,) = _problems(workspace)
    assert "declares no dependency on astrocyte" in problem


def test_extra_naming_a_missing_adapter_fails(workspace: Path) -> None:
    core = workspace / "astrocyte-py" / "pyproject.toml"
    core.write_text(core.read_text() + 'neo4j = ["astrocyte-neo4j>=1"]\n', encoding="utf-8")
    (problem,) = _problems(workspace)
    assert "extra 'neo4j' names astrocyte-neo4j, which is not in the workspace" in problem


def test_extra_with_a_range_excluding_the_adapter_fails(workspace: Path) -> None:
    core = workspace / "astrocyte-py" / "pyproject.toml"
    core.write_text(
        core.read_text().replace("astrocyte-qdrant>=1.0,<2", "astrocyte-qdrant>=1.1"), encoding="utf-8"
    )
    (problem,) = _problems(workspace)
    assert (
        "extra 'qdrant' requires astrocyte-qdrant>=1.1 but the workspace has astrocyte-qdrant 1.0.3"
        in problem
    )


def test_aggregate_extra_naming_an_unknown_extra_fails(workspace: Path) -> None:
    core = workspace / "astrocyte-py" / "pyproject.toml"
    core.write_text(core.read_text() + 'all = ["astrocyte[qdrant,kafka,neo4j]"]\n', encoding="utf-8")
    (problem,) = _problems(workspace)
    assert "extra 'all' refers to astrocyte[neo4j], which is not an extra" in problem


def test_bad_versions_and_duplicates_fail(workspace: Path) -> None:
    _package(workspace, "adapters-storage-py/astrocyte-dup", "astrocyte-qdrant", "one", ["astrocyte"])
    found = _problems(workspace)
    assert any("is also defined in" in line for line in found)
    assert any("version 'one' is not PEP 440" in line for line in found)


def test_missing_core_fails(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(ROOT_PYPROJECT, encoding="utf-8")
    _package(tmp_path, "adapters-storage-py/astrocyte-x", "astrocyte-x", "1.0", ["astrocyte"])
    assert _problems(tmp_path) == ["no workspace member is named 'astrocyte'"]


def test_this_repository_is_consistent() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False, timeout=120, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert "astrocyte " in result.stdout

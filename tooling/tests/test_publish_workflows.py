"""``tooling/publish_workflows.py``: one generated publish workflow per workspace package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

TOOLING = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOOLING))

import publish_workflows  # noqa: E402  (a script directory, not a package)


def _workspace(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["astrocyte-py", "adapters/*"]\n')
    for where, name in (("astrocyte-py", "astrocyte"), ("adapters/astrocyte-qdrant", "astrocyte-qdrant")):
        (root / where).mkdir(parents=True)
        deps = "[]" if name == "astrocyte" else '["astrocyte>=0.1"]'
        (root / where / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = {deps}\n'
        )


def test_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _workspace(tmp_path)
    assert publish_workflows.main(["--root", str(tmp_path), "--check"]) == 1
    assert "publish-astrocyte-qdrant.yml is missing" in capsys.readouterr().err
    assert publish_workflows.main(["--root", str(tmp_path), "--write"]) == 0
    assert publish_workflows.main(["--root", str(tmp_path), "--check"]) == 0
    workflow = yaml.safe_load((tmp_path / ".github/workflows/publish-astrocyte-qdrant.yml").read_text())
    assert workflow["name"] == "publish-astrocyte-qdrant"
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"]["id-token"] == "write"
    assert publish["permissions"]["attestations"] == "write"
    assert any("attest-build-provenance" in step.get("uses", "") for step in publish["steps"])
    build_steps = " ".join(str(step) for step in workflow["jobs"]["build"]["steps"])
    assert "https://pypi.org/pypi/astrocyte-qdrant/" in build_steps  # idempotency check
    assert "uv build --package astrocyte-qdrant" in build_steps
    assert "adapters/astrocyte-qdrant/pyproject.toml" in build_steps


def test_stale_and_orphaned_workflows_fail(tmp_path: Path) -> None:
    _workspace(tmp_path)
    publish_workflows.main(["--root", str(tmp_path), "--write"])
    workflows = tmp_path / ".github" / "workflows"
    (workflows / "publish-astrocyte.yml").write_text("name: edited\n")
    (workflows / "publish-astrocyte-gone.yml").write_text("name: old\n")
    found = publish_workflows.problems(tmp_path)
    assert found == [
        ".github/workflows/publish-astrocyte.yml differs from the template",
        ".github/workflows/publish-astrocyte-gone.yml publishes no workspace package (remove it)",
    ]


def test_this_repository_has_every_publish_workflow() -> None:
    assert publish_workflows.problems(TOOLING.parent) == []

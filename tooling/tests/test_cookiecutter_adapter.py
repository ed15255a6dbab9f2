"""The adapter cookiecutter: render every SPI family non-interactively, then run what it generated.

Each rendered package is checked the way a new adapter author would use it: its files exist, its
entry point names a class that passes the core's SPI checks, ruff is clean, and its own test suite
(the core contract suite wired to the generated class) passes in a subprocess with the package on
``PYTHONPATH`` inside this workspace's environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent / "cookiecutter-astrocyte-adapter"
REPO = TEMPLATE.parent.parent
FAMILIES = ["vector_stores", "graph_stores", "document_stores", "llm_providers", "ingest_sources"]


def _render(output: Path, family: str, **overrides: str) -> Path:
    context = {
        "package_slug": f"astrocyte-acme-{family.split('_')[0]}",
        "spi_family": family,
        "backend_name": "acme",
        "backend_label": "Acme DB",
        "astrocyte_min_version": "0.1",
        **overrides,
    }
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output), extra_context=context))


def _run(args: list[str], package: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTROCYTE_")}
    env["PYTHONPATH"] = str(package)
    return subprocess.run(
        args, cwd=package, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_rendered_adapter_passes_its_own_tests(tmp_path: Path, family: str) -> None:
    package = _render(tmp_path, family)
    module = package.name.replace("-", "_")
    source = {"llm_providers": "provider", "ingest_sources": "source"}.get(family, "store")
    for relative in ("pyproject.toml", "README.md", f"{module}/__init__.py", f"{module}/{source}.py",
                     "tests/conftest.py", f"tests/test_{source}.py"):  # fmt: skip
        assert (package / relative).is_file(), relative

    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["dependencies"][0] == "astrocyte>=0.1,<2"
    target = project["project"]["entry-points"][f"astrocyte.{family}"]["acme"]
    assert target.startswith(f"{module}:")

    kind = family.removesuffix("s")
    check = (
        "import importlib; from astrocyte._discovery import check_provider_class; "
        f"module, name = {target!r}.split(':'); "
        "cls = getattr(importlib.import_module(module), name); "
        f"check_provider_class(cls, {kind!r}, name='acme'); print(cls.__name__)"
    )
    loaded = _run([sys.executable, "-c", check], package)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == target.split(":")[1]

    # Inside the workspace (adapters-*-py/<package>/) ruff sees the adapter's module as third-party.
    isort = f'lint.isort.known-third-party = ["{module}"]'
    ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(REPO / "pyproject.toml")]
    lint = _run([*ruff, "--config", isort, "."], package)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    tests = _run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "not slow", "tests"],
        package,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    # Only the tests needing a live backend skip, each with the one-line reason.
    skips = [line for line in tests.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips, "the live-backend test must be present"
    assert all("Acme DB not configured: set ASTROCYTE_ACME_URL" in line for line in skips), skips


def test_live_backend_test_runs_when_the_backend_is_reachable(tmp_path: Path) -> None:
    """With ASTROCYTE_ACME_URL pointing at a listening socket, the backend test runs instead of skipping."""
    import socket

    package = _render(tmp_path, "document_stores")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        env_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "live_backend", "tests"],
            cwd=package,
            env={**os.environ, "PYTHONPATH": str(package), "ASTROCYTE_ACME_URL": env_url},
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [("package_slug", "acme"), ("backend_name", "Acme DB"), ("astrocyte_min_version", "latest")],
)
def test_bad_answers_are_refused(tmp_path: Path, field: str, value: str) -> None:
    with pytest.raises(FailedHookException):
        _render(tmp_path, "vector_stores", **{field: value})
    assert not any(tmp_path.iterdir()), "nothing is left behind"

#!/usr/bin/env python3
"""Check that the workspace's packages agree on versions before anything is released.

Packages are discovered from the root ``pyproject.toml`` (``[tool.uv.workspace] members`` globs), so
an adapter added under ``adapters-*-py/`` is checked without editing this file. It fails when

* an adapter (any member depending on ``astrocyte``) has an ``astrocyte`` range that excludes the
  core's version, or declares no ``astrocyte`` dependency at all;
* a core extra (``astrocyte[qdrant]``) names an ``astrocyte-*`` package the workspace does not hold,
  or a range that excludes that package's version, or (``all = ["astrocyte[qdrant,neo4j]"]``) an
  extra the core does not define;
* two members share a distribution name, or a version is not PEP 440.

Usage: ``python tooling/check_versions.py [--root DIR] [--json]``. Exit 0 when consistent, 1 with one
line per problem otherwise. ``--json`` prints the discovered packages (the release fan-out uses it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = ["CORE", "Package", "discover", "main", "problems"]

CORE = "astrocyte"


@dataclass(frozen=True)
class Package:
    """One workspace member: distribution name, version, where it lives, what it requires."""

    name: str
    version: str
    path: Path
    dependencies: tuple[str, ...]
    extras: dict[str, tuple[str, ...]]

    @property
    def slug(self) -> str:
        """The name used in ``publish-<slug>.yml``."""
        return canonicalize_name(self.name)


def _load_toml(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _member_dirs(root: Path) -> list[Path]:
    workspace = _load_toml(root / "pyproject.toml").get("tool", {})
    assert isinstance(workspace, dict)
    members = workspace.get("uv", {}).get("workspace", {}).get("members", [])
    found: set[Path] = set()
    for pattern in members:
        found.update(p for p in root.glob(pattern) if (p / "pyproject.toml").is_file())
    return sorted(found)


def discover(root: Path) -> list[Package]:
    """Every workspace member with a ``[project]`` table, core first, then by name."""
    packages: list[Package] = []
    for directory in _member_dirs(root):
        project = _load_toml(directory / "pyproject.toml").get("project")
        if not isinstance(project, dict) or "name" not in project:
            continue
        extras = project.get("optional-dependencies", {}) or {}
        packages.append(
            Package(
                name=str(project["name"]),
                version=str(project.get("version", "")),
                path=directory.relative_to(root),
                dependencies=tuple(project.get("dependencies", []) or []),
                extras={str(k): tuple(v) for k, v in extras.items()},
            )
        )
    return sorted(packages, key=lambda p: (p.slug != CORE, p.slug))


def _requirement(text: str, where: str, found: list[str]) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        found.append(f"{where}: invalid requirement {text!r}: {exc}")
        return None


def _check_adapter(package: Package, core_version: Version, found: list[str]) -> None:
    where = f"{package.path}/pyproject.toml"
    ranges = [
        req
        for req in (_requirement(text, where, found) for text in package.dependencies)
        if req is not None and canonicalize_name(req.name) == CORE
    ]
    if not ranges:
        found.append(f'{where}: {package.name} declares no dependency on {CORE} (add e.g. "{CORE}>=0.1,<2")')
    for req in ranges:
        if not req.specifier.contains(core_version, prereleases=True):
            found.append(
                f"{where}: {package.name} requires {req} but the core is {CORE} {core_version}"
                f" — widen the range to include {core_version}"
            )


def _check_extras(core: Package, by_name: dict[str, Package], found: list[str]) -> None:
    where = f"{core.path}/pyproject.toml [project.optional-dependencies]"
    for extra, requirements in sorted(core.extras.items()):
        for text in requirements:
            req = _requirement(text, f"{where} {extra}", found)
            if req is not None and canonicalize_name(req.name) == CORE:  # all = ["astrocyte[a,b]"]
                found += [
                    f"{where}: extra {extra!r} refers to astrocyte[{name}], which is not an extra"
                    for name in sorted(req.extras - set(core.extras))
                ]
            if req is None or not canonicalize_name(req.name).startswith(f"{CORE}-"):
                continue  # third-party extras (sentence-transformers...) are not ours to check
            adapter = by_name.get(canonicalize_name(req.name))
            if adapter is None:
                found.append(f"{where}: extra {extra!r} names {req.name}, which is not in the workspace")
            elif not req.specifier.contains(Version(adapter.version), prereleases=True):
                found.append(
                    f"{where}: extra {extra!r} requires {req} but the workspace has"
                    f" {adapter.name} {adapter.version} — fix the range"
                )


def problems(packages: Sequence[Package]) -> list[str]:
    """Every inconsistency among ``packages`` (empty when they agree)."""
    found: list[str] = []
    by_name: dict[str, Package] = {}
    for package in packages:
        if package.slug in by_name:
            found.append(
                f"{package.path}: distribution {package.name} is also defined in {by_name[package.slug].path}"
            )
        by_name[package.slug] = package
        try:
            Version(package.version)
        except InvalidVersion:
            found.append(f"{package.path}/pyproject.toml: version {package.version!r} is not PEP 440")
    core = by_name.get(CORE)
    if core is None:
        return [*found, f"no workspace member is named {CORE!r}"]
    if found:
        return found
    core_version = Version(core.version)
    for package in packages:
        if package.slug != CORE:
            _check_adapter(package, core_version, found)
    _check_extras(core, by_name, found)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--json", action="store_true", help="print the discovered packages as JSON")
    args = parser.parse_args(argv)
    packages = discover(args.root)
    found = problems(packages)
    if args.json:
        rows = [{"name": p.name, "slug": p.slug, "version": p.version, "path": str(p.path)} for p in packages]
        print(json.dumps(rows))
    else:
        for package in packages:
            print(f"  {package.name} {package.version}  ({package.path})")
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if not found and not args.json:
        print(f"ok: {len(packages)} package(s) agree with {CORE} {packages[0].version}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

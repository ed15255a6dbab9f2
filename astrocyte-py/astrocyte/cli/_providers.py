"""``astrocyte providers``: the installed providers of every entry-point group."""

from __future__ import annotations

import argparse
import json

from astrocyte._discovery import PROVIDER_KINDS, ProviderKind, group_for, installed, load_provider_class
from astrocyte.cli._base import Subparsers, add_command
from astrocyte.errors import ConfigError

__all__ = ["register"]


def _status(kind: ProviderKind, name: str) -> str:
    try:
        load_provider_class(kind, name)
    except ConfigError as exc:
        return f"error: {exc}"
    return "ok"


def _run(args: argparse.Namespace) -> int:
    report: dict[ProviderKind, dict[str, dict[str, str]]] = {}
    for kind in PROVIDER_KINDS:
        report[kind] = {}
        for name, entry in installed(kind).items():
            row = {"target": entry.value, "distribution": entry.dist.name if entry.dist else ""}
            if args.check:
                row["status"] = _status(kind, name)
            report[kind][name] = row
    broken = any(row.get("status", "ok") != "ok" for rows in report.values() for row in rows.values())
    if args.json:
        print(json.dumps(report, indent=2))
        return 1 if broken else 0
    for kind, rows in report.items():
        print(f"{kind} ({group_for(kind)})")
        if not rows:
            print("  (none)")
        width = max((len(name) for name in rows), default=0)
        for name, row in rows.items():
            line = f"  {name.ljust(width)}  {row['target']}  [{row['distribution']}]"
            if "status" in row:
                line += f"  {row['status']}"
            print(line)
    return 1 if broken else 0


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "providers", _run, help="List installed providers per entry-point group."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="import each provider and check its SPI version (exit 1 if any fails)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")

"""``astrocyte config check|show|schema``: validate, inspect and describe ``astrocyte.yaml``."""

from __future__ import annotations

import argparse
import json
import re
import sys

import yaml

from astrocyte._discovery import check_config_backends
from astrocyte.cli._base import Subparsers, add_command
from astrocyte.config import BACKEND_KINDS, AstrocyteConfig, find_config_file, load_config
from astrocyte.transports import load_outbound_transport

__all__ = ["redact_secrets", "register"]

_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|credential|private[_-]?key|authorization", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"(?P<head>://[^/:@\s]+:)[^/@\s]+@")
_MASK = "***"


def redact_secrets(data: object, *, key: str = "") -> object:
    """A copy of ``data`` with values under secret-looking keys and passwords in URLs masked."""
    if isinstance(data, dict):
        return {k: redact_secrets(v, key=str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact_secrets(item, key=key) for item in data]
    if isinstance(data, str):
        if data and _SECRET_KEY.search(key):
            return _MASK
        return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{_MASK}@", data)
    return data


def _source_label(path: str | None) -> str:
    if path is not None:
        return path
    found = find_config_file()
    return str(found) if found is not None else "(no file: built-in defaults)"


def _summary(config: AstrocyteConfig) -> list[str]:
    rows: list[tuple[str, str]] = [
        ("profile", config.profile or "-"),
        ("compliance_profile", config.compliance_profile or "-"),
    ]
    rows += [(kind, getattr(config, kind) or "(disabled)") for kind in BACKEND_KINDS]
    rows.append(("pii", config.pii.action))
    width = max(len(name) for name, _ in rows)
    return [f"  {name.ljust(width)}  {value}" for name, value in rows]


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    check_config_backends(config)
    load_outbound_transport(config.outbound_transport)
    print(f"ok: {_source_label(args.file)}")
    print("\n".join(_summary(config)))
    return 0


def _show(args: argparse.Namespace) -> int:
    data: object = load_config(args.file).model_dump(mode="json")
    if not args.show_secrets:
        data = redact_secrets(data)
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
    return 0


def _schema(args: argparse.Namespace) -> int:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **AstrocyteConfig.model_json_schema(),
    }
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: Subparsers) -> None:
    group = add_command(
        subparsers, "config", lambda _: _usage(group), help="Check and inspect astrocyte.yaml."
    )
    commands = group.add_subparsers(title="config commands", metavar="COMMAND")
    file_help = "config file (default: $ASTROCYTE_CONFIG, ./astrocyte.yaml, else built-in defaults)"

    check = add_command(
        commands,
        "check",
        _check,
        help="Validate a config and check that the backends it names are installed.",
    )
    check.add_argument("file", nargs="?", default=None, metavar="FILE", help=file_help)

    show = add_command(commands, "show", _show, help="Print the effective config (profiles merged) as YAML.")
    show.add_argument("file", nargs="?", default=None, metavar="FILE", help=file_help)
    show.add_argument("--show-secrets", action="store_true", help="do not mask passwords, tokens and keys")

    add_command(commands, "schema", _schema, help="Print the JSON Schema of astrocyte.yaml (for editors).")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2

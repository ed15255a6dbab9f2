"""``astrocyte mip explain``: which memory intent rule decides a request, and why."""

from __future__ import annotations

import argparse
import json
import sys

from astrocyte.cli._base import Subparsers, add_command, add_config_option, print_warning
from astrocyte.config import load_config
from astrocyte.errors import InvalidRequestError
from astrocyte.mip.explain import explain, explain_json
from astrocyte.mip.router import IntentFacts, MipRouter
from astrocyte.types import MetadataValue

__all__ = ["register"]


def _metadata(pairs: list[str]) -> dict[str, MetadataValue]:
    """``KEY=VALUE`` pairs; a VALUE that parses as a JSON scalar (``3``, ``true``) keeps its type."""
    metadata: dict[str, MetadataValue] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidRequestError(f"expected KEY=VALUE, got {pair!r}", field="--metadata")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        metadata[key] = value if isinstance(value, str | int | float | bool) or value is None else raw
    return metadata


def _explain(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    rules = config.mip.effective_rules()
    if not rules:
        raise InvalidRequestError("the config has no mip rules; add mip.rules or mip.rules_path", field="mip")
    if not config.mip.enabled:
        print_warning("mip.enabled is false: these rules are not applied until you enable them")
    facts = IntentFacts(
        operation=args.operation,
        bank_id=args.bank,
        content_type=args.content_type if args.operation == "retain" else None,
        tags=tuple(args.tag),
        metadata=_metadata(args.metadata),
        principal=args.principal,
        agent=args.agent,
        query=args.query,
    )
    decision = MipRouter(rules).decide(facts)
    if args.json:
        print(json.dumps(explain_json(decision), indent=2))
    else:
        sys.stdout.write("\n".join(explain(decision)) + "\n")
    return 0


def register(subparsers: Subparsers) -> None:
    group = subparsers.add_parser("mip", help="Memory intent protocol (mip.yaml routing rules).")
    inner = group.add_subparsers(title="mip commands", metavar="COMMAND")
    parser = add_command(inner, "explain", _explain, help="Show which mip rule matches a request, and why.")
    add_config_option(parser)
    parser.add_argument("operation", choices=["retain", "recall"], help="the kind of request")
    parser.add_argument("--bank", default=None, help="the requested bank")
    parser.add_argument("--content-type", default="text", help="retain content type (default text)")
    parser.add_argument("--tag", action="append", default=[], help="a tag of the request (repeatable)")
    parser.add_argument(
        "--metadata", action="append", default=[], metavar="KEY=VALUE", help="a metadata entry (repeatable)"
    )
    parser.add_argument("--principal", default=None, help="caller principal, e.g. user:alice")
    parser.add_argument("--agent", default=None, help="caller agent id")
    parser.add_argument("--query", default=None, help="recall query")
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")

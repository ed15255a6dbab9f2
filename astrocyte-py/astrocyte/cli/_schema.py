"""``astrocyte schema``: the JSON Schema of every portable DTO, as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from astrocyte.cli._base import Subparsers, add_command
from astrocyte.errors import InvalidRequestError
from astrocyte.types import PORTABLE_MODELS

__all__ = ["JSON_SCHEMA_DIALECT", "portable_schemas", "register"]

#: The JSON Schema dialect pydantic generates.
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def portable_schemas() -> dict[str, dict[str, object]]:
    """Model name → JSON Schema (validation mode) for each model in ``PORTABLE_MODELS``."""
    return {
        name: {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}
        for name, model in PORTABLE_MODELS.items()
    }


def _run(args: argparse.Namespace) -> int:
    text = json.dumps(portable_schemas(), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    path = Path(args.out)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {path}: {exc.strerror or exc}", field="--out") from exc
    print(f"wrote {len(PORTABLE_MODELS)} schemas to {path}", file=sys.stderr)
    return 0


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "schema", _run, help="Print the JSON Schema of every portable model as one JSON object."
    )
    parser.add_argument("--out", metavar="FILE", default=None, help="write to FILE instead of stdout")

"""The ``astrocyte`` command line (also ``python -m astrocyte``).

Commands live in small modules listed in :data:`COMMAND_MODULES`; each exposes
``register(subparsers)`` (see :mod:`astrocyte.cli._base`). Adding a command module is one line here.
Any :class:`~astrocyte.errors.AstrocyteError` escaping a command prints ``error: ...`` on stderr and
exits with status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from astrocyte import __version__
from astrocyte.cli._base import Handler, Subparsers, print_error
from astrocyte.errors import AstrocyteError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Modules whose ``register(subparsers)`` adds commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "astrocyte.cli._config",
    "astrocyte.cli._providers",
    "astrocyte.cli._schema",
    "astrocyte.cli._memory",
    "astrocyte.cli._bench",
    "astrocyte.cli._doctor",
    "astrocyte.cli._ingest",
    "astrocyte.cli._mip",
    "astrocyte.cli._gateway",
)


def build_parser() -> argparse.ArgumentParser:
    """The root parser with every command of :data:`COMMAND_MODULES` registered."""
    parser = argparse.ArgumentParser(
        prog="astrocyte", description="Astrocyte: memory for AI agents — retain, recall, reflect, forget."
    )
    parser.add_argument("--version", action="version", version=f"astrocyte {__version__}")
    parser.set_defaults(handler=None)
    subparsers: Subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        register: Callable[[Subparsers], None] = importlib.import_module(module_name).register
        register(subparsers)
    return parser


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 check failed, 2 usage or Astrocyte error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return _exit_code(exc.code)
    handler: Handler | None = args.handler
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except AstrocyteError as exc:
        print_error(str(exc))
        return 2
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130

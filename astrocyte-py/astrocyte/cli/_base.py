"""Small shared pieces of the CLI: the command registry contract and output helpers.

A command module exposes ``register(subparsers: Subparsers) -> None`` and adds its commands with
:func:`add_command`; the handler takes the parsed arguments and returns the exit code. Listing the
module in :data:`astrocyte.cli.COMMAND_MODULES` is all it takes to ship it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from rich.console import Console
from rich.text import Text

__all__ = ["Handler", "Subparsers", "add_command", "add_config_option", "print_error", "print_warning"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
#: A command: parsed arguments in, exit code out (0 = success). ``AstrocyteError`` may escape it.
Handler: TypeAlias = Callable[[argparse.Namespace], int]


def add_command(subparsers: Subparsers, name: str, handler: Handler, *, help: str) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` running ``handler``; returns its parser for arguments."""
    parser = subparsers.add_parser(name, help=help, description=help)
    parser.set_defaults(handler=handler)
    return parser


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``-c/--config FILE`` (default: ``$ASTROCYTE_CONFIG``, ``./astrocyte.yaml``, else defaults)."""
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=None,
        help="astrocyte.yaml to use (default: $ASTROCYTE_CONFIG, ./astrocyte.yaml, else built-in defaults)",
    )


def _stderr() -> Console:
    return Console(file=sys.stderr, soft_wrap=True, highlight=False)


def print_error(message: str) -> None:
    """``error: <message>`` on stderr (no markup is interpreted inside ``message``)."""
    _stderr().print(Text.assemble(("error: ", "bold red"), message))


def print_warning(message: str) -> None:
    """``warning: <message>`` on stderr."""
    _stderr().print(Text.assemble(("warning: ", "bold yellow"), message))
